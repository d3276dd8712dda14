/** Remote dataset addresses as the start screen takes them, and where an open dataset comes from, for its header. */
import type { DatasetSource, DatasetSummary } from "../../shared/ipc/contract";

export function isRemoteUri(uri: string): boolean {
  return /^(hf|s3):\/\//i.test(uri.trim());
}

/**
 * What the Remote field holds, as a URI main opens, or what is wrong with it. A Hub page address pasted from the
 * browser (`https://huggingface.co/datasets/<owner>/<repo>[/tree/<revision>/<path>]`) becomes its hf:// URI.
 */
export function remoteUriFromInput(text: string): { uri: string } | { problem: string } {
  const given = text.trim();
  const page = /^https?:\/\/(?:www\.)?(?:huggingface\.co|hf\.co)\/datasets\/([^/?#]+)\/([^/?#]+)(?:\/tree\/([^/?#]+)(?:\/([^?#]*))?)?\/?(?:[?#].*)?$/i.exec(
    given,
  );
  if (page) {
    const [, owner, repo, revision, path] = page;
    const inside = path?.replace(/\/+$/, "");
    return { uri: `hf://datasets/${owner}/${repo}${inside ? `/${inside}` : ""}${revision ? `@${revision}` : ""}` };
  }
  if (/^hf:\/\//i.test(given)) {
    if (!/^hf:\/\/datasets\/[^/@]+\/[^/]+/.test(given))
      return { problem: "A Hugging Face dataset reads hf://datasets/<owner>/<repo>, then the folder of the dataset inside the repo" };
    return { uri: given };
  }
  if (/^s3:\/\//i.test(given)) {
    if (!/^s3:\/\/[^/]+/.test(given)) return { problem: "An S3 location reads s3://<bucket>/<prefix>" };
    return { uri: given };
  }
  return { problem: "A remote dataset starts with hf://datasets/ (Hugging Face) or s3:// (S3 and compatible stores)" };
}

export interface DatasetOrigin {
  source: DatasetSource;
  /** "Hugging Face", "S3" or "Local folder". */
  label: string;
  /** owner/repo on the Hub, the bucket on S3, the folder for a local dataset. */
  where: string;
  /** The dataset's folder inside the repo or bucket ("" at its root; always "" for a local folder). */
  path: string;
  /** For the Hub: the revision asked for and the commit every read uses. */
  revision: { requested: string; sha: string; short: string } | null;
}

const LABELS: Record<DatasetSource, string> = { hf: "Hugging Face", s3: "S3", local: "Local folder" };

export function datasetOrigin(ds: Pick<DatasetSummary, "uri" | "source" | "revision">): DatasetOrigin {
  const revision = ds.revision ? { ...ds.revision, short: ds.revision.sha.slice(0, 7) } : null;
  const base = { source: ds.source, label: LABELS[ds.source] ?? ds.source, revision };
  if (ds.source === "hf") {
    const [owner = "", repoPart = "", ...rest] = ds.uri.replace(/^hf:\/\/datasets\//i, "").split("/");
    const repo = repoPart.split("@")[0];
    // `repo@<revision>/path`: the revision may span segments (refs/pr/1); otherwise the path ends with `@<revision>`.
    const path = repoPart.includes("@") ? rest.slice((ds.revision?.requested.split("/").length ?? 1) - 1).join("/") : rest.join("/").replace(/@[^/]*$/, "");
    return { ...base, where: `${owner}/${repo}`, path };
  }
  if (ds.source === "s3") {
    const [bucket = "", ...rest] = ds.uri.replace(/^s3:\/\//i, "").split("/");
    return { ...base, where: bucket, path: rest.join("/") };
  }
  return { ...base, where: ds.uri, path: "" };
}
