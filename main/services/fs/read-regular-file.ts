/**
 * Reads a small file the user pointed at (a notebook, a dataset's config.json) without trusting what it is:
 * only regular files (never /dev/zero, a FIFO or a folder), under a size cap, and a read that stops making
 * progress fails instead of holding the caller (and a libuv thread) forever.
 */
import { constants as fsConstants } from "node:fs";
import fsp from "node:fs/promises";
import { formatBytes } from "../../../shared/format";

export type FileReadProblem = "missing" | "permission" | "directory" | "not-regular" | "too-large" | "stalled";

/** A refused or failed read, with a sentence naming the path (and cap, size) that callers turn into their own error code. */
export class FileReadError extends Error {
  constructor(
    readonly problem: FileReadProblem,
    readonly path: string,
    message: string,
    override readonly cause?: unknown,
  ) {
    super(message);
    this.name = "FileReadError";
  }
}

export interface ReadLimits {
  /** Largest file accepted, in bytes. */
  maxBytes: number;
  /** A read that does not complete in this long fails as "stalled" (default 15 s). */
  stallMs?: number;
  /** What the file is, for messages ("notebook", "config.json"). */
  what: string;
}

const DEFAULT_STALL_MS = 15_000;
const CHUNK = 1 << 20;
// O_NONBLOCK: a FIFO swapped in after the stat must not block the open; O_NOCTTY: a terminal never becomes ours.
const OPEN_FLAGS = fsConstants.O_RDONLY | (fsConstants.O_NONBLOCK ?? 0) | (fsConstants.O_NOCTTY ?? 0);

function errnoOf(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | null)?.code;
}

function kindOf(st: { isDirectory(): boolean; isFIFO(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isSocket(): boolean }): string {
  if (st.isFIFO()) return "a FIFO (named pipe)";
  if (st.isCharacterDevice() || st.isBlockDevice()) return "a device";
  if (st.isSocket()) return "a socket";
  return "not a regular file";
}

function refuseKind(file: string, what: string, st: Parameters<typeof kindOf>[0] & { isFile(): boolean; size: number }, maxBytes: number): void {
  if (st.isDirectory()) throw new FileReadError("directory", file, `${file} is a folder, not a ${what} file`);
  if (!st.isFile()) throw new FileReadError("not-regular", file, `${file} is ${kindOf(st)}, not a ${what} file; only regular files are read`);
  if (st.size > maxBytes) throw tooLarge(file, what, st.size, maxBytes);
}

function tooLarge(file: string, what: string, size: number | null, maxBytes: number): FileReadError {
  const is = size === null ? "is larger than" : `is ${formatBytes(size)}, over`;
  return new FileReadError("too-large", file, `${file} ${is} the ${formatBytes(maxBytes)} limit for a ${what} file`);
}

function openFailure(file: string, what: string, e: unknown): FileReadError {
  const code = errnoOf(e);
  if (code === "ENOENT") return new FileReadError("missing", file, `No ${what} file at ${file}`, e);
  if (code === "ENOTDIR") return new FileReadError("missing", file, `No ${what} file at ${file}: a part of the path is a file, not a folder`, e);
  if (code === "EACCES" || code === "EPERM") return new FileReadError("permission", file, `Permission denied reading ${file}`, e);
  if (code === "EISDIR") return new FileReadError("directory", file, `${file} is a folder, not a ${what} file`, e);
  if (code === "ELOOP") return new FileReadError("missing", file, `${file} is a link that loops back on itself`, e);
  return new FileReadError("missing", file, `Cannot read ${file}: ${e instanceof Error ? e.message : String(e)}`, e);
}

/** Resolves with `work`, or rejects with `onStall()` if it has not settled after `ms` (the work itself cannot be stopped). */
export function settleWithin<T>(work: Promise<T>, ms: number, onStall: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const stalled = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onStall()), ms);
  });
  return Promise.race([work, stalled]).finally(() => clearTimeout(timer));
}

/** The bytes of a regular file and its stat (of the same open file, so they agree even if the path is replaced meanwhile). */
export async function readRegularFile(file: string, limits: ReadLimits): Promise<{ bytes: Buffer; mtimeMs: number; size: number }> {
  const { maxBytes, what } = limits;
  const stallMs = limits.stallMs ?? DEFAULT_STALL_MS;
  const stalled = (step: string) => () =>
    new FileReadError("stalled", file, `Reading ${file} stopped making progress (${step} took over ${Math.round(stallMs / 1000)} s)`);
  // Stat first, so a device or FIFO is never even opened (opening some devices has side effects).
  const st = await settleWithin(fsp.stat(file), stallMs, stalled("stat")).catch((e) => {
    throw e instanceof FileReadError ? e : openFailure(file, what, e);
  });
  refuseKind(file, what, st, maxBytes);

  const opening = fsp.open(file, OPEN_FLAGS);
  const handle = await settleWithin(opening, stallMs, stalled("open")).catch((e) => {
    if (e instanceof FileReadError)
      void opening.then(
        (h) => h.close(),
        () => undefined,
      );
    throw e instanceof FileReadError ? e : openFailure(file, what, e);
  });
  let stuck: Promise<unknown> | null = null;
  const step = <T>(work: Promise<T>, name: string): Promise<T> =>
    settleWithin(work, stallMs, () => {
      stuck = work;
      return stalled(name)();
    });
  try {
    const fst = await step(handle.stat(), "stat");
    refuseKind(file, what, fst, maxBytes);
    const chunks: Buffer[] = [];
    let total = 0;
    // Read to EOF rather than to the stat'ed size: a file can grow meanwhile, and stop at the cap if it does.
    for (;;) {
      const buffer = Buffer.allocUnsafe(Math.min(CHUNK, maxBytes + 1 - total));
      const { bytesRead } = await step(handle.read(buffer, 0, buffer.length, total), "a read");
      if (bytesRead === 0) break;
      chunks.push(buffer.subarray(0, bytesRead));
      total += bytesRead;
      if (total > maxBytes) throw tooLarge(file, what, null, maxBytes);
    }
    return { bytes: Buffer.concat(chunks, total), mtimeMs: fst.mtimeMs, size: total };
  } finally {
    // Closing under a read still in flight could hand its fd number to the next open: close once it settles.
    const pending = stuck as Promise<unknown> | null;
    if (pending) void pending.finally(() => handle.close()).catch(() => undefined);
    else await handle.close().catch(() => undefined);
  }
}
