import { AppFailure, err, isAppFailure, type AppError, type ErrorCode, type Result } from "../../shared/result";
import { appFailureFromLanceError } from "./gateway/errors";

/** Runs a service body, turning thrown AppFailures (and anything else) into a Result. */
export async function guard<T>(body: () => Promise<T>): Promise<Result<T>> {
  try {
    return { ok: true, value: await body() };
  } catch (e) {
    return { ok: false, error: toAppError(e) };
  }
}

/** ENOSPC from Node, or the same failure reported as text by a native library (Lance, DuckDB). */
export function isDiskFull(e: unknown): boolean {
  if ((e as NodeJS.ErrnoException)?.code === "ENOSPC") return true;
  return /No space left on device|ENOSPC/i.test(e instanceof Error ? e.message : String(e));
}

export function toAppError(e: unknown): AppError {
  if (isAppFailure(e)) return e.appError;
  // A read the remote gateway refused (offline miss, rate limit...), wherever Lance surfaced it.
  const remote = appFailureFromLanceError(e);
  if (remote) return remote.appError;
  const error = e as NodeJS.ErrnoException;
  if (isDiskFull(e)) return { code: "DISK_FULL", message: `No space left on device${error?.path ? `: ${error.path}` : ""}`, path: error?.path };
  // The page gets one line, never a stack (it may name source paths); the stack goes to main's log.
  logInternal(e);
  return { code: "INTERNAL", message: firstLine(e instanceof Error ? e.message : String(e)) };
}

function firstLine(text: string): string {
  const line = text
    .split("\n")[0]
    .replace(/\s+at\s+\S+\s*\(?[^)]*\)?\s*$/, "")
    .trim();
  return (line.length > 300 ? `${line.slice(0, 300)}…` : line) || "Unexpected error";
}

function logInternal(e: unknown): void {
  if (process.env.VITEST) return;
  console.error("[slaf-workbench] internal error:", e instanceof Error ? (e.stack ?? e.message) : e);
}

export function fail(code: AppError["code"], message: string, extra: Omit<AppError, "code" | "message"> = {}): never {
  throw new AppFailure(code, message, extra);
}

/** Throws the abort reason (an AppFailure from jobs.cancel) or a `code` failure once `signal` is aborted. */
export function throwIfAborted(
  signal: AbortSignal | undefined,
  code: Extract<
    ErrorCode,
    "QUERY_CANCELLED" | "CONVERT_CANCELLED" | "PIN_CANCELLED" | "BENCH_CANCELLED" | "LOADER_CANCELLED" | "EXPLORE_CANCELLED" | "MARKERS_CANCELLED"
  >,
): void {
  if (!signal?.aborted) return;
  throw isAppFailure(signal.reason) ? signal.reason : new AppFailure(code, "Cancelled by the user");
}

export { err };
