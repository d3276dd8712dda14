/**
 * The Hub API paths the gateway serves, parsed from the raw request path (split on "/" first, then each segment
 * decoded: a revision arrives as one encoded segment such as `refs%2Fpr%2F1`). Only dataset repos and only
 * reads; anything else is `refused` (writes, xet tokens) or `unknown`, and never reaches the upstream.
 */

export interface RepoId {
  owner: string;
  name: string;
}

export type HubRoute =
  | { kind: "repo-info"; repo: RepoId }
  | { kind: "revision-info"; repo: RepoId; rev: string }
  | { kind: "tree"; repo: RepoId; rev: string; path: string; recursive: boolean; expand: boolean }
  | { kind: "paths-info"; repo: RepoId; rev: string }
  | { kind: "resolve"; repo: RepoId; rev: string; path: string; head: boolean }
  | { kind: "refused"; reason: string }
  | { kind: "unknown"; reason: string };

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$/;
export const SHA = /^[0-9a-f]{40}$/;

export function repoKey(repo: RepoId): string {
  return `${repo.owner}/${repo.name}`;
}

/** Whether a repo path (or S3 key) is the folder `folder` itself or below it ("" holds everything). */
export function withinFolder(repoPath: string, folder: string): boolean {
  return folder === "" || repoPath === folder || repoPath.startsWith(`${folder}/`);
}

/** A repo-relative path with no empty, "." or ".." segment (it becomes a cache path), or null. */
export function cleanRepoPath(segments: string[]): string | null {
  const parts = segments.length && segments[segments.length - 1] === "" ? segments.slice(0, -1) : segments;
  for (const p of parts) if (p === "" || p === "." || p === ".." || p.includes("\0") || p.includes("\\")) return null;
  return parts.join("/");
}

function decodeAll(segments: string[]): string[] | null {
  try {
    return segments.map(decodeURIComponent);
  } catch {
    return null;
  }
}

function flag(query: URLSearchParams, name: string): boolean {
  const all = query.getAll(name);
  return all.length > 0 && /^(true|1)$/i.test(all[all.length - 1]);
}

function repoOf(owner: string | undefined, name: string | undefined): RepoId | null {
  return owner !== undefined && name !== undefined && NAME.test(owner) && NAME.test(name) ? { owner, name } : null;
}

const WRITE_APIS = new Set([
  "commit",
  "preupload",
  "xet-write-token",
  "xet-read-token",
  "settings",
  "branch",
  "tag",
  "lfs-files",
  "discussions",
  "resource-group",
]);

/** Parses a request path (after the gateway's secret prefix, starting with "/") and its method. */
export function parseHubRoute(method: string, rawPath: string, query: URLSearchParams): HubRoute {
  const raw = rawPath.split("/").slice(1);
  const segs = decodeAll(raw);
  if (!segs) return { kind: "unknown", reason: "the path is not valid percent-encoding" };
  const read = method === "GET" || method === "HEAD";

  if (segs[0] === "api") {
    if (segs[1] !== "datasets")
      return { kind: segs[1] === "models" || segs[1] === "spaces" ? "refused" : "unknown", reason: "only dataset repositories are served" };
    const repo = repoOf(segs[2], segs[3]);
    if (!repo) return { kind: "unknown", reason: "not a repository id" };
    const rest = segs.slice(4);
    const op = rest[0];
    if (op !== undefined && WRITE_APIS.has(op)) return { kind: "refused", reason: `${op} is a write API; SLAF Workbench is read-only` };
    if (rest.length === 0) return read ? { kind: "repo-info", repo } : { kind: "refused", reason: `${method} on a repository is a write` };
    const rev = rest[1];
    if (rev === undefined || rev === "") return { kind: "unknown", reason: "no revision" };
    if (op === "revision" && rest.length === 2) return read ? { kind: "revision-info", repo, rev } : { kind: "refused", reason: `${method} is a write` };
    if (op === "tree") {
      if (!read) return { kind: "refused", reason: `${method} is a write` };
      // huggingface_hub sends the folder as one segment with "%2F" inside; OpenDAL sends plain segments.
      const path = cleanRepoPath(segs.slice(6).flatMap((s) => s.split("/")));
      if (path === null) return { kind: "unknown", reason: "not a valid path in the repository" };
      return { kind: "tree", repo, rev, path, recursive: flag(query, "recursive"), expand: flag(query, "expand") };
    }
    if (op === "paths-info" && rest.length === 2)
      return method === "POST" ? { kind: "paths-info", repo, rev } : { kind: "unknown", reason: "paths-info takes POST" };
    return read ? { kind: "unknown", reason: `the API ${op} is not served` } : { kind: "refused", reason: `${method} ${op} is a write` };
  }

  if (segs[0] === "datasets" && segs[3] === "resolve") {
    const repo = repoOf(segs[1], segs[2]);
    if (!repo) return { kind: "unknown", reason: "not a repository id" };
    if (!read) return { kind: "refused", reason: `${method} on a file is a write` };
    const rev = segs[4];
    const path = cleanRepoPath(segs.slice(5).flatMap((s) => s.split("/")));
    if (!rev || !path) return { kind: "unknown", reason: "not a valid file path" };
    return { kind: "resolve", repo, rev, path, head: method === "HEAD" };
  }
  return read ? { kind: "unknown", reason: "not a Hub read API" } : { kind: "refused", reason: `${method} is a write` };
}
