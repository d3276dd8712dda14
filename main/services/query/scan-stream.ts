/**
 * A scan worker's batches taken synchronously on this thread, for a DuckDB table function whose callback must
 * return a filled chunk (stream-function.ts): replies are dequeued with `receiveMessageOnPort`, and when none is
 * there yet this thread blocks on the scan's shared counter (stream-counter.ts) until the worker posts one. The
 * worker runs ahead up to its in-flight limit, so this thread blocks only once it has caught up, for less than a
 * batch's scan. Local datasets only: a remote scan goes through the gateway on this thread's event loop, which a
 * blocked thread would never serve.
 */
import { receiveMessageOnPort, type MessagePort, type Worker } from "node:worker_threads";
import { AppFailure } from "../../../shared/result";
import type { ScannedBatch } from "./flat-scan";
import type { ScanReply } from "./scan-workers";
import { STREAM_REPLIES, STREAM_WORKER_GONE } from "./stream-counter";

/** How long this thread waits for a worker that posts nothing before the stream fails (it may be stuck). */
const STALL_MS = 60_000;
/** Blocking waits are cut in slices, to notice a worker that ended without a word. */
const WAIT_SLICE_MS = 250;

export class StreamedScan {
  private readonly counter: Int32Array;
  private taken = 0;
  private ended = false;
  private closed = false;
  private healthy = true;
  /** The first reply, read by `ready`. */
  private first: ScanReply | null = null;
  private exitCode: number | null = null;
  private readonly onExit = (code: number) => (this.exitCode = code);
  /** Rows and Arrow bytes the worker read, rows it delivered (after its id filter). */
  scanned = 0;
  bytes = 0;
  delivered = 0;
  /** Blocking waits for the worker, and their total time (for the bench). */
  waits = 0;
  waitMs = 0;

  constructor(
    private readonly port: MessagePort,
    notify: SharedArrayBuffer,
    private readonly worker: Worker,
    private readonly done: (reusable: boolean) => void,
  ) {
    this.counter = new Int32Array(notify);
    worker.on("exit", this.onExit);
  }

  /** Waits (without blocking) until the worker has posted its first reply: it started, and a failure to start is seen here. */
  async ready(signal: AbortSignal): Promise<void> {
    const first = waitAsync(this.counter, STREAM_REPLIES, 0);
    if (first.async) {
      let stop: (() => void) | null = null;
      const stopped = new Promise<void>((r) => (stop = r));
      const wake = () => stop?.();
      this.worker.once("exit", wake);
      signal.addEventListener("abort", wake);
      // A pending waitAsync does not keep the event loop alive; the (otherwise unreferenced) worker does meanwhile.
      this.worker.ref();
      try {
        await Promise.race([first.value, stopped]);
      } finally {
        this.worker.unref();
        this.worker.off("exit", wake);
        signal.removeEventListener("abort", wake);
      }
    }
    if (signal.aborted) throw new AppFailure("QUERY_CANCELLED", "Query cancelled");
    if (Atomics.load(this.counter, STREAM_REPLIES) === 0) throw this.gone();
    // A scan that fails at once (a filter Lance refuses, a damaged table) fails here, before any SQL runs.
    const m = receiveMessageOnPort(this.port)?.message as ScanReply | undefined;
    if (m?.t === "error") this.take(m);
    this.first = m ?? null;
  }

  /** The next batch, or null at the end of the scan. Blocks this thread while the worker has none ready; throws its failure. */
  next(): ScannedBatch | null {
    if (this.ended) return null;
    if (this.closed) throw new AppFailure("INTERNAL", "The streamed scan was closed");
    if (this.first) {
      const m = this.first;
      this.first = null;
      return this.take(m);
    }
    let waited = 0;
    for (;;) {
      const before = Atomics.load(this.counter, STREAM_REPLIES);
      const m = receiveMessageOnPort(this.port)?.message as ScanReply | undefined;
      if (m) return this.take(m);
      if (this.exitCode !== null || Atomics.load(this.counter, STREAM_WORKER_GONE) > 0) throw this.gone();
      if (waited >= STALL_MS) {
        this.ended = true;
        this.healthy = false;
        throw new AppFailure("INTERNAL", `The query scan worker sent nothing for ${STALL_MS / 1000} s`);
      }
      const t0 = performance.now();
      Atomics.wait(this.counter, STREAM_REPLIES, before, WAIT_SLICE_MS);
      const ms = performance.now() - t0;
      this.waits++;
      this.waitMs += ms;
      waited += ms;
    }
  }

  private take(m: ScanReply): ScannedBatch | null {
    if (m.t === "batch") {
      // Acknowledged when taken: the worker keeps its in-flight limit of batches ahead of this one.
      this.port.postMessage(++this.taken);
      this.scanned += m.batch.scanned;
      this.bytes += m.batch.bytes;
      this.delivered += m.batch.rows;
      return m.batch;
    }
    this.ended = true;
    if (m.t === "end") return null;
    throw replyFailure(m);
  }

  private gone(): AppFailure {
    this.ended = true;
    this.healthy = false;
    return new AppFailure("INTERNAL", `The query scan worker stopped unexpectedly${this.exitCode !== null ? ` (exit code ${this.exitCode})` : ""}`);
  }

  /** Ends the stream: a scan not read to its end is cancelled (the worker finishes its Lance read first); the worker goes back or away. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.worker.off("exit", this.onExit);
    const finished = this.ended && this.healthy && this.exitCode === null;
    if (!this.ended) this.port.postMessage("cancel");
    this.port.close();
    this.done(finished);
  }
}

/** Whether this thread may block in `Atomics.wait` (a browser-like main thread may not): else nothing is streamed. */
export function canBlock(): boolean {
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
    return true;
  } catch {
    return false;
  }
}

/** `Atomics.waitAsync` (Node has it; TypeScript's lib here does not yet). */
function waitAsync(counter: Int32Array, index: number, value: number): { async: false } | { async: true; value: Promise<unknown> } {
  return (Atomics as unknown as { waitAsync: typeof waitAsync }).waitAsync(counter, index, value);
}

/** The failure a worker's error reply stands for. */
export function replyFailure(m: Extract<ScanReply, { t: "error" }>): Error {
  if (m.appError) return new AppFailure(m.appError.code, m.appError.message, m.appError);
  return Object.assign(new Error(m.message), m.code ? { code: m.code } : {});
}
