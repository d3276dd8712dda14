/**
 * Failures of the gateway, how they travel to Lance, and how they come back out of Lance as named AppFailures.
 *
 * The gateway answers a failed read with a status, `X-Error-Code` and `X-Error-Message`. Lance (OpenDAL's hf
 * service) puts the whole response head and the message into its error text, e.g.
 *   `lance error: LanceError(IO): Generic Unexpected error: Unexpected (permanent) at read, context: { …,
 *    response: Parts { status: 409, …, headers: {"x-error-code": "OfflineNotCached", "x-error-message": "…"} },
 *    service: hf, path: pbmc.slaf/expression.lance/data/x.lance, range: 0-47 } => <the X-Error-Message>, /rustc/…`
 * so `appFailureFromLanceError` finds the code and the message there. Statuses are chosen so Lance fails at once
 * (4xx other than 404/416/429 are "permanent"; a 404 would read as a missing data file, a 429 is retried at once).
 */
import { AppFailure, type ErrorCode } from "../../../shared/result";

export type GatewayErrorCode =
  /** Offline and the bytes or listing are not in the cache. */
  | "OfflineNotCached"
  /** The cache could not be written: no space left. */
  | "CacheDiskFull"
  /** The upstream kept answering 429 for longer than the gateway waits. */
  | "RateLimited"
  /** No answer from the upstream after retries (refused, reset, stalled, 5xx). */
  | "SourceUnreachable"
  /** The upstream answered something inconsistent (another size or ETag for the same commit, a wrong range). */
  | "UpstreamInvalid"
  /** A write, or an API the gateway does not serve. */
  | "ReadOnly"
  /** A read request the gateway cannot make sense of. */
  | "BadRequest"
  /** Hub answers passed on: */
  | "RepoNotFound"
  | "RevisionNotFound"
  | "EntryNotFound"
  | "GatedRepo"
  | "Unauthorized"
  /** S3: an anonymous read of a bucket that is not public. */
  | "AuthRequired";

const STATUS: Record<GatewayErrorCode, number> = {
  OfflineNotCached: 409,
  CacheDiskFull: 507,
  RateLimited: 409,
  SourceUnreachable: 502,
  UpstreamInvalid: 502,
  ReadOnly: 403,
  BadRequest: 400,
  RepoNotFound: 404,
  RevisionNotFound: 404,
  EntryNotFound: 404,
  GatedRepo: 401,
  Unauthorized: 401,
  AuthRequired: 401,
};

export class GatewayError extends Error {
  readonly status: number;
  readonly path: string | undefined;
  constructor(
    readonly code: GatewayErrorCode,
    message: string,
    opts: { status?: number; path?: string } = {},
  ) {
    super(message);
    this.name = "GatewayError";
    this.status = opts.status ?? STATUS[code];
    this.path = opts.path;
  }
}

export function isGatewayError(e: unknown, code?: GatewayErrorCode): e is GatewayError {
  return e instanceof GatewayError && (code === undefined || e.code === code);
}

/** Header values must be one line of Latin-1: anything else becomes "?". */
function headerSafe(text: string): string {
  return text
    .replace(/[\r\n]+/g, " ")
    .replace(/[^\x20-\x7e]/g, "?")
    .slice(0, 1000);
}

export function errorResponse(e: GatewayError): { status: number; headers: Record<string, string>; body: string } {
  return {
    status: e.status,
    headers: { "content-type": "application/json", "x-error-code": e.code, "x-error-message": headerSafe(e.message) },
    body: JSON.stringify({ error: e.message }),
  };
}

/** The table a repo path belongs to: `pbmc.slaf/expression.lance/data/x.lance` → "expression". */
export function tableOfPath(p: string): string | null {
  const m = /(?:^|\/)([^/]+)\.lance(?:\/|$)/.exec(p);
  return m ? m[1] : null;
}

/** The AppFailure for a gateway failure (also what `pin` throws). */
export function gatewayFailure(code: GatewayErrorCode, message: string, opts: { status?: number; path?: string; detail?: string } = {}): AppFailure {
  const extra = { ...(opts.path ? { path: opts.path } : {}), ...(opts.detail ? { detail: opts.detail } : {}) };
  const map: Record<GatewayErrorCode, ErrorCode> = {
    OfflineNotCached: "OFFLINE_NOT_CACHED",
    CacheDiskFull: "DISK_FULL",
    RateLimited: "RATE_LIMITED",
    SourceUnreachable: "SOURCE_UNREACHABLE",
    UpstreamInvalid: "SOURCE_UNREACHABLE",
    ReadOnly: "PERMISSION_DENIED",
    BadRequest: "INVALID_ARGUMENT",
    // Anonymous requests for a private repo get 401 RepoNotFound: a token may be all that is missing.
    RepoNotFound: opts.status === 401 ? "AUTH_REQUIRED" : "DATASET_NOT_FOUND",
    RevisionNotFound: "REVISION_NOT_FOUND",
    EntryNotFound: "DATASET_NOT_FOUND",
    GatedRepo: "AUTH_REQUIRED",
    Unauthorized: "AUTH_INVALID",
    AuthRequired: "AUTH_REQUIRED",
  };
  const retryable = code === "RateLimited" || code === "SourceUnreachable";
  return new AppFailure(map[code], message, { ...extra, ...(retryable ? { retryable } : {}) });
}

const CODES = new Set<string>(Object.keys(STATUS));
const RUST_LOCATION = /,\s*(?:\/rustc\/|\/[^\s,]*\/(?:\.cargo|cargo)\/registry\/)[^\s,]*\.rs:\d+(?::\d+)?/g;

/**
 * A named AppFailure for a Lance error that came from the gateway (offline miss, full cache disk, rate limit,
 * unreachable Hub, missing repo or revision, gated repo...), or null when the error is about something else.
 * `table` names the table when the caller knows it; otherwise it is read from the file path.
 */
export function appFailureFromLanceError(e: unknown, ctx: { table?: string } = {}): AppFailure | null {
  const text = e instanceof Error ? e.message : String(e);
  const code = /"x-error-code":\s*"([A-Za-z]+)"/i.exec(text)?.[1];
  if (!code) return appFailureFromS3Body(text, ctx);
  if (!CODES.has(code)) return null;
  const status = Number(/status:\s*(\d{3})/.exec(text)?.[1]) || undefined;
  const headerMessage = /"x-error-message":\s*"((?:[^"\\]|\\.)*)"/i.exec(text)?.[1];
  const afterArrow = /=>\s*(.*)$/s.exec(text)?.[1]?.replace(RUST_LOCATION, "").trim();
  const message = (headerMessage ?? afterArrow ?? text).replace(/\\"/g, '"');
  const file = /\bpath:\s*([^,\s}]+)/.exec(text)?.[1];
  const table = ctx.table ?? (file ? tableOfPath(file) : null);
  const prefix = table && code === "OfflineNotCached" && !message.includes(`"${table}"`) ? `Table "${table}": ` : "";
  const detail = text
    .split(/\n\s*Backtrace:/)[0]
    .replace(RUST_LOCATION, "")
    .slice(0, 2000);
  return gatewayFailure(code as GatewayErrorCode, `${prefix}${message}`, { status, path: file, detail });
}

/**
 * The S3 side: object_store puts the gateway's error body (s3-xml.ts `errorXml`) into Lance's error text, inside
 * a Debug-escaped string, e.g. `... 409 Conflict: <?xml ...?><Error><Code>OfflineNotCached</Code><Message>...`.
 */
function appFailureFromS3Body(text: string, ctx: { table?: string }): AppFailure | null {
  const code = /<Code>([A-Za-z]+)<\/Code>/.exec(text)?.[1];
  if (!code || !CODES.has(code)) return null;
  const unescape = (s: string): string =>
    s
      .replace(/\\(["\\])/g, "$1")
      .replace(/&quot;/g, '"')
      .replace(/&apos;/g, "'")
      .replace(/&lt;/g, "<")
      .replace(/&gt;/g, ">")
      .replace(/&amp;/g, "&");
  const message = unescape(/<Message>([\s\S]*?)<\/Message>/.exec(text)?.[1] ?? text);
  const key = /<Key>([\s\S]*?)<\/Key>/.exec(text)?.[1];
  const file = key === undefined ? undefined : unescape(key);
  const table = ctx.table ?? (file ? tableOfPath(file) : null);
  const prefix = table && code === "OfflineNotCached" && !message.includes(`"${table}"`) ? `Table "${table}": ` : "";
  const detail = text
    .split(/\n\s*Backtrace:/)[0]
    .replace(RUST_LOCATION, "")
    .slice(0, 2000);
  return gatewayFailure(code as GatewayErrorCode, `${prefix}${message}`, { path: file, detail });
}
