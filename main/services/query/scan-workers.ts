/**
 * Worker threads that scan Lance for the main thread (scan-worker-entry.ts), so decoding and filtering overlap
 * with appending to DuckDB on the two cores. Each scan gets its own MessageChannel: the worker posts flat
 * batches (arrays transferred, not copied) and waits while `maxInFlight` of them are unacknowledged; the main
 * thread acknowledges each batch once appended, or says "cancel". Workers stay for the next scan and leave when
 * idle; one that stops unexpectedly fails its scan and is replaced on demand.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { MessageChannel, Worker, type MessagePort } from "node:worker_threads";
import { AppFailure, type AppError } from "../../../shared/result";
import { throwIfAborted } from "../errors";
import { packageRoot } from "../resources";
import type { FlatScanSpec, RowRange, ScannedBatch } from "./flat-scan";
import { replyFailure, StreamedScan } from "./scan-stream";
import { DEFAULT_SPLIT_MIN_ROWS, mergeParts, splitRanges } from "./split-scan";
import { STREAM_COUNTER_BYTES } from "./stream-counter";

export interface ScanRequest {
  port: MessagePort;
  /** The Lance table's folder (local datasets only). */
  tablePath: string;
  version: number;
  spec: FlatScanSpec;
  maxInFlight: number;
  /** A streamed scan's counter (stream-counter.ts), bumped after each reply. */
  notify?: SharedArrayBuffer;
}

export type ScanReply = { t: "batch"; batch: ScannedBatch } | { t: "end" } | { t: "error"; message: string; code?: string; appError?: AppError };

/** The bundled worker, or null when it is not built (then scans run on the main thread). */
export function scanWorkerPath(): string | null {
  try {
    const file = path.join(packageRoot(), "dist", "main", "query-scan-worker.mjs").replace(`app.asar${path.sep}`, `app.asar.unpacked${path.sep}`);
    return existsSync(file) ? file : null;
  } catch {
    return null;
  }
}

interface Slot {
  worker: Worker;
  timer: NodeJS.Timeout | null;
}

export class ScanWorkers {
  private readonly idle: Slot[] = [];
  private readonly waiting: ((slot: Slot) => void)[] = [];
  private count = 0;
  private closed = false;
  /** Workers that ended on their own when asked, and those terminated because they did not (tests read it). */
  readonly ended = { closed: 0, terminated: 0 };
  /** Scans split in two (tests and benchmarks read it). */
  splits = 0;
  /** Scans without a Lance filter of at least this many rows are split when a second worker is free. */
  splitMinRows: number;

  constructor(
    private readonly file: string,
    private readonly options: { max?: number; idleMs?: number; maxInFlight?: number; splitMinRows?: number } = {},
  ) {
    this.splitMinRows = options.splitMinRows ?? DEFAULT_SPLIT_MIN_ROWS;
  }

  /**
   * Scans in a worker: the batches as they arrive. Ending early (break, abort, a throw) cancels the worker's scan.
   * A big scan without a Lance filter is split in two row ranges read by two workers at once (split-scan.ts) when
   * a second worker is free right now: it never waits for one while holding another.
   */
  async *scan(tablePath: string, version: number, spec: FlatScanSpec, signal: AbortSignal): AsyncGenerator<ScannedBatch> {
    const slot = await this.acquire(signal);
    const ranges = splitRanges(spec, this.splitMinRows);
    const second = ranges && !this.closed ? this.take() : null;
    if (!ranges || !second) return yield* this.scanIn(slot, tablePath, version, spec, signal);
    this.splits++;
    const part = (s: Slot, range: RowRange) => (partSignal: AbortSignal) => this.scanIn(s, tablePath, version, { ...spec, range, tableRows: null }, partSignal);
    yield* mergeParts([part(slot, ranges[0]), part(second, ranges[1])], !spec.aggregate, signal);
  }

  /** One scan in the worker of `slot`, which it gives back (or discards) when it ends. */
  private async *scanIn(slot: Slot, tablePath: string, version: number, spec: FlatScanSpec, signal: AbortSignal): AsyncGenerator<ScannedBatch> {
    const { port1, port2 } = new MessageChannel();
    const queue: (ScanReply | { t: "exit"; code: number })[] = [];
    let notify: (() => void) | null = null;
    const wakeUp = () => {
      const n = notify;
      notify = null;
      n?.();
    };
    port1.on("message", (m: ScanReply) => {
      queue.push(m);
      wakeUp();
    });
    const onExit = (code: number) => {
      queue.push({ t: "exit", code });
      wakeUp();
    };
    slot.worker.on("exit", onExit);
    signal.addEventListener("abort", wakeUp);
    let finished = false;
    let healthy = true;
    try {
      const request: ScanRequest = { port: port2, tablePath, version, spec, maxInFlight: this.options.maxInFlight ?? 2 };
      slot.worker.postMessage(request, [port2]);
      let consumed = 0;
      for (;;) {
        while (queue.length === 0) {
          throwIfAborted(signal, "QUERY_CANCELLED");
          await new Promise<void>((r) => (notify = r));
        }
        throwIfAborted(signal, "QUERY_CANCELLED");
        const m = queue.shift()!;
        if (m.t === "batch") {
          yield m.batch;
          port1.postMessage(++consumed);
          continue;
        }
        finished = true;
        if (m.t === "end") return;
        if (m.t === "exit") {
          healthy = false;
          throw new AppFailure("INTERNAL", `The query scan worker stopped unexpectedly (exit code ${m.code})`);
        }
        throw replyFailure(m);
      }
    } finally {
      signal.removeEventListener("abort", wakeUp);
      slot.worker.off("exit", onExit);
      if (!finished) port1.postMessage("cancel");
      port1.close();
      // A worker still busy with a cancelled scan is not handed out again: it is simpler to start another.
      if (finished && healthy) this.release(slot);
      else this.discard(slot);
    }
  }

  /**
   * Starts a scan in a worker whose batches this thread takes synchronously (a DuckDB table function fills its
   * chunks from them, scan-stream.ts), once the worker has answered. Null when no worker is free right now: a
   * stream holds its worker until its query ends, so waiting for one while holding another could deadlock.
   */
  async stream(tablePath: string, version: number, spec: FlatScanSpec, signal: AbortSignal): Promise<StreamedScan | null> {
    const slot = this.closed ? null : this.take();
    if (!slot) return null;
    const { port1, port2 } = new MessageChannel();
    const notify = new SharedArrayBuffer(STREAM_COUNTER_BYTES);
    const request: ScanRequest = { port: port2, tablePath, version, spec, maxInFlight: this.options.maxInFlight ?? 2, notify };
    const stream = new StreamedScan(port1, notify, slot.worker, (reusable) => (reusable ? this.release(slot) : void this.discard(slot)));
    slot.worker.postMessage(request, [port2]);
    try {
      await stream.ready(signal);
    } catch (e) {
      stream.close();
      throw e;
    }
    return stream;
  }

  /** Stops every worker. */
  async close(): Promise<void> {
    this.closed = true;
    const all = this.idle.splice(0);
    await Promise.all(all.map((s) => this.discard(s)));
  }

  /** An idle worker or a new one within the limit, else null. */
  private take(): Slot | null {
    const ready = this.idle.pop();
    if (ready) {
      if (ready.timer) clearTimeout(ready.timer);
      ready.timer = null;
      return ready;
    }
    if (this.count < (this.options.max ?? 2)) {
      this.count++;
      const worker = new Worker(this.file);
      worker.unref();
      // An error in the worker outside a scan (it failed to load): the scan waiting on it sees the exit.
      worker.on("error", () => undefined);
      return { worker, timer: null };
    }
    return null;
  }

  private acquire(signal: AbortSignal): Promise<Slot> {
    if (this.closed) throw new AppFailure("INTERNAL", "The query engine is closed");
    const slot = this.take();
    if (slot) return Promise.resolve(slot);
    return new Promise<Slot>((resolve, reject) => {
      const take = (slot: Slot) => {
        signal.removeEventListener("abort", onAbort);
        resolve(slot);
      };
      const onAbort = () => {
        const i = this.waiting.indexOf(take);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(new AppFailure("QUERY_CANCELLED", "Query cancelled"));
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.waiting.push(take);
    });
  }

  private release(slot: Slot): void {
    const next = this.waiting.shift();
    if (next) return next(slot);
    if (this.closed) return void this.discard(slot);
    slot.timer = setTimeout(() => {
      const i = this.idle.indexOf(slot);
      if (i >= 0) this.idle.splice(i, 1);
      void this.discard(slot);
    }, this.options.idleMs ?? 30_000);
    slot.timer.unref();
    this.idle.push(slot);
  }

  private async discard(slot: Slot): Promise<void> {
    if (slot.timer) clearTimeout(slot.timer);
    this.count--;
    this.ended[await endWorker(slot.worker)]++;
    // Someone waiting gets a fresh worker in place of this one.
    const next = this.waiting.shift();
    if (next && !this.closed) {
      this.count++;
      const worker = new Worker(this.file);
      worker.unref();
      worker.on("error", () => undefined);
      next({ worker, timer: null });
    }
  }
}

/** How long a worker may take to finish its read and end before it is terminated anyway. */
const WORKER_END_GRACE_MS = 5000;

/** Asks the worker to end itself (see scan-worker-entry.ts: closeWorker); terminates it only if it does not. */
async function endWorker(worker: Worker): Promise<"closed" | "terminated"> {
  const exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()));
  // Unreferenced workers and timers would let a one-shot command's loop empty while this waits (exit code 13).
  worker.ref();
  try {
    worker.postMessage({ t: "close" });
  } catch {
    await worker.terminate().catch(() => undefined);
    return "terminated";
  }
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<"late">((resolve) => {
    timer = setTimeout(() => resolve("late"), WORKER_END_GRACE_MS);
  });
  const late = (await Promise.race([exited, timeout])) === "late";
  if (late) await worker.terminate().catch(() => undefined);
  clearTimeout(timer);
  return late ? "terminated" : "closed";
}
