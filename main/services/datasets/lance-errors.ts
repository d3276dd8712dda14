/**
 * Lance and LanceDB report damaged files as generic errors ("failed to fill whole buffer, /rustc/…"). This maps
 * them to named failures: TABLE_CORRUPT naming the table (and the file, when Lance says which), PERMISSION_DENIED
 * for unreadable files. The raw text stays in `detail`; the message never carries Rust source locations.
 */
import { AppFailure, isAppFailure } from "../../../shared/result";
import { isDiskFull } from "../errors";
import { appFailureFromLanceError } from "../gateway/errors";

export type LanceFileProblem = "truncated" | "missing-file" | "not-lance-file" | "undecodable" | "unreadable" | "permission";

export interface LanceErrorContext {
  /** The table's name in the dataset (cells, genes, expression, layers). */
  table: string;
  /** The table's folder, when known. */
  tablePath?: string;
}

const RUST_LOCATION = /,?\s*(?:\/rustc\/[0-9a-f]+\/|\/[^\s,]*\/(?:\.cargo|cargo)\/registry\/)[^\s,]*?\.rs:\d+(?::\d+)?/g;
const OTHER_RS_LOCATION = /,?\s*\S+\.rs:\d+(?::\d+)?/g;

/** Removes the Rust source locations (`/rustc/<hash>/…/function.rs:250:5`, cargo registry paths) Lance appends. */
export function stripRustLocations(message: string): string {
  return message
    .replace(RUST_LOCATION, "")
    .replace(OTHER_RS_LOCATION, "")
    .replace(/\s+Caused by:.*$/s, "")
    .trim();
}

const PATTERNS: [LanceFileProblem, RegExp][] = [
  ["permission", /permission denied|os error 13\b|\bEACCES\b|operation not permitted|os error 1\)/i],
  ["truncated", /failed to fill whole buffer|unexpected ?eof|unexpected end of file|file size is too small|invalid range \d+\.\.\d+ for object of size/i],
  ["not-lance-file", /does not appear to be a lance file|invalid magic/i],
  ["undecodable", /failed to decode|decode error|protobuf|invalid manifest|corrupt|checksum mismatch|invalid footer|invalid page/i],
  ["missing-file", /not found: \S*\/\S+|no such file or directory|os error 2\b/i],
  ["unreadable", /LanceError\(IO\)|LocalFileSystem error/i],
];

/** Paths Lance prints for local files drop the leading "/": give it back so the path can be opened. */
function localPath(p: string): string {
  return p.startsWith("/") || /^[A-Za-z]:[\\/]/.test(p) ? p : `/${p}`;
}

/** The file of the table that a Lance message names (data file, manifest, deletion file, index), if any. */
export function fileInLanceMessage(message: string): string | null {
  const text = stripRustLocations(message);
  const found =
    /(?:not found:|path|file)\s+['"]?([^\s,'"]+\.(?:lance|manifest|txn|arrow|bin|idx))\b/i.exec(text) ??
    /([^\s,'"]*\/(?:data|_versions|_deletions|_indices)\/[^\s,'"]+)/.exec(text);
  return found ? localPath(found[1]) : null;
}

/** What kind of file problem a Lance error reports, or null when it is about something else (bad filter, ENOSPC…). */
export function classifyLanceError(e: unknown): LanceFileProblem | null {
  if (isAppFailure(e) || isDiskFull(e)) return null;
  const message = e instanceof Error ? e.message : String(e);
  const errno = (e as NodeJS.ErrnoException | null)?.code;
  if (errno === "EACCES" || errno === "EPERM") return "permission";
  for (const [problem, pattern] of PATTERNS) {
    if (!pattern.test(message)) continue;
    // A missing `_versions` folder means "not a Lance dataset" (the caller's TABLE_NOT_LANCE), not a lost file.
    if (problem === "missing-file" && /_versions(?:[,\s]|$)|was not found(?!:)|Table '[^']*' was not found\s*$/.test(stripRustLocations(message))) return null;
    return problem;
  }
  return null;
}

const WHAT: Record<Exclude<LanceFileProblem, "permission">, string> = {
  truncated: "a file is shorter than Lance expects (truncated, for example by an interrupted copy or download)",
  "missing-file": "one of its data files is missing",
  "not-lance-file": "a data file is not a Lance file (overwritten or damaged)",
  undecodable: "a file could not be decoded (its manifest or data is corrupt)",
  unreadable: "its files could not be read",
};

/**
 * A named failure for a Lance error about the table's files, or null when the error is about something else.
 * Errors the remote gateway caused (offline misses, rate limits, a vanished repo...) are named first.
 */
export function lanceTableFailure(e: unknown, ctx: LanceErrorContext): AppFailure | null {
  const remote = appFailureFromLanceError(e, { table: ctx.table });
  if (remote) return remote;
  const problem = classifyLanceError(e);
  if (!problem) return null;
  const raw = e instanceof Error ? e.message : String(e);
  const file = fileInLanceMessage(raw);
  const where = ctx.tablePath ? ` (${ctx.tablePath})` : "";
  const at = file ?? ctx.tablePath;
  if (problem === "permission") {
    return new AppFailure(
      "PERMISSION_DENIED",
      `Permission denied reading table "${ctx.table}"${at ? ` at ${at}` : ""}; check who owns its files and their permissions`,
      {
        path: at,
        detail: raw,
      },
    );
  }
  const named = file ? `: ${file}` : "";
  return new AppFailure("TABLE_CORRUPT", `Table "${ctx.table}"${where} is damaged: ${WHAT[problem]}${named}. Copy or convert the dataset again.`, {
    path: at,
    detail: raw,
  });
}

/** Throws the named failure for a Lance error about the table's files, else the error as it came. */
export function rethrowLanceError(e: unknown, ctx: LanceErrorContext): never {
  throw lanceTableFailure(e, ctx) ?? e;
}
