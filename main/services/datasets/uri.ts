import path from "node:path";
import type { DatasetSource } from "../../../shared/ipc/contract";
import { AppFailure } from "../../../shared/result";

/** `scheme://…` (two letters or more: `C://x` stays a Windows path): a URI, not a path. */
const URI_SCHEME = /^([a-z][a-z0-9+.-]+):\/\//i;

export interface DatasetLocation {
  source: DatasetSource;
  /** Absolute path for local sources, the URI as given (no trailing slash) for remote ones. */
  root: string;
  name: string;
}

export function locate(uri: string): DatasetLocation {
  const trimmed = uri.trim().replace(/\/+$/, "");
  const scheme = URI_SCHEME.exec(trimmed)?.[1].toLowerCase();
  if (scheme && scheme !== "hf" && scheme !== "s3" && scheme !== "file")
    throw new AppFailure(
      "SOURCE_UNSUPPORTED",
      `${scheme}:// is not a source SLAF Workbench reads (${trimmed}): open a local folder, hf://datasets/<owner>/<repo>[/<path>] or s3://<bucket>/<prefix>`,
    );
  const source: DatasetSource = trimmed.startsWith("s3://") ? "s3" : trimmed.startsWith("hf://") ? "hf" : "local";
  const root = source === "local" ? path.resolve(trimmed.replace(/^file:\/\//, "")) : trimmed;
  // hf://datasets/<owner>/<repo>[/<path>][@<revision>]: the name is the last path part without the revision.
  const named = source === "hf" ? root.replace(/@[^/]*$/, "") : root;
  const base = named.split("/").filter(Boolean).pop() ?? named;
  return { source, root, name: base.replace(/@.*$/, "").replace(/\.slaf$/, "") };
}

/** Joins a table path from config.json onto the root, refusing paths that climb out of it. */
export function tablePath(root: string, relative: string): string | null {
  const parts = relative.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.length === 0 || parts.includes("..") || path.isAbsolute(relative)) return null;
  return [root, ...parts].join("/");
}

/** A dataset argument as typed on the command line: URIs as they are (`locate` says which it reads), local paths made absolute. */
export function datasetArgument(given: string): string {
  return URI_SCHEME.test(given.trim()) ? given.trim() : path.resolve(given);
}
