import { AppFailure, err, type AppError, type Result } from "../../shared/result";

/** Runs a service body, turning thrown AppFailures (and anything else) into a Result. */
export async function guard<T>(body: () => Promise<T>): Promise<Result<T>> {
  try {
    return { ok: true, value: await body() };
  } catch (e) {
    return { ok: false, error: toAppError(e) };
  }
}

export function toAppError(e: unknown): AppError {
  if (e instanceof AppFailure) return e.appError;
  const error = e as NodeJS.ErrnoException;
  if (error?.code === "ENOSPC") return { code: "DISK_FULL", message: `No space left on device${error.path ? `: ${error.path}` : ""}`, path: error.path };
  const message = e instanceof Error ? e.message : String(e);
  return { code: "INTERNAL", message, detail: e instanceof Error ? e.stack : undefined };
}

export function fail(code: AppError["code"], message: string, extra: Omit<AppError, "code" | "message"> = {}): never {
  throw new AppFailure(code, message, extra);
}

export { err };
