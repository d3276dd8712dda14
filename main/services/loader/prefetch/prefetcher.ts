/**
 * The prefetcher's coordinator (main thread): makes the plan, hands steps to a pool of worker threads in order,
 * puts their results back in step order (so the batches are the same whatever the timing and the worker count),
 * joins batches that straddle steps, and holds ready batches in a queue bounded by bytes: while the queue and the
 * results waiting for an earlier step hold `queueBudgetBytes` or more, no step is handed out (nothing is ever
 * dropped; steps already handed out may overshoot the budget by their own size).
 *
 * Each worker has at most two steps at a time, so it reads the next while it tokenizes the current. A worker's
 * error is kept at its step: batches of earlier steps are still handed out, then next() rejects with the named
 * error and the workers stop. close() (or the signal) terminates the workers, frees the queue and rejects
 * pending next() calls with LOADER_CANCELLED.
 */
import { existsSync } from "node:fs";
import os from "node:os";
import { Worker } from "node:worker_threads";
import { AppFailure, isAppFailure, type AppError } from "../../../../shared/result";
import { lanceTableFailure } from "../../datasets/lance-errors";
import { openLanceTable } from "../../datasets/lance-table";
import { fail } from "../../errors";
import { validateOptions } from "../tokens";
import { joinParts, partBytes } from "./assemble";
import { fragmentStarts } from "./fragments";
import { batchesPerEpoch, planEpoch, planLayout, type ScanLayout, type StepPlan } from "./plan";
import type { BatchPart, StepTask, WorkerConfig, WorkerReply } from "./protocol";
import { cellStartIndexFromExpression } from "./source";
import type { PrefetchBatch, PrefetchLayout, PrefetchOptions, PrefetchStats, Prefetcher } from "./types";

export const DEFAULT_SCANNERS = 16;
/**
 * Rows per scanner read. Tokenized: a step of 16 blocks is ~1M rows, ~1,500 PBMC-sized cells, ~28 MB of Geneformer
 * rows at max_genes 2048. Raw batches are about as large as the rows read, so raw reads twice as much per block:
 * offset/limit reads run at ~75 M rows/s with 64k-row blocks and ~130 M rows/s with 256k (100k PBMC, 2 cores), and
 * raw mode went from ~48k to ~59k cells/s with 128k-row blocks, while tokenized modes did not gain.
 */
export const DEFAULT_BLOCK_ROWS = 65_536;
export const DEFAULT_RAW_BLOCK_ROWS = 131_072;
export const DEFAULT_QUEUE_BUDGET_BYTES = 256 * 1024 * 1024;
const STEPS_PER_WORKER = 2;
const WORKER_STOP_GRACE_MS = 5000;

let liveWorkers = 0;
/** Loader worker threads started and not yet exited, in this process (tests check that close() ends them). */
export function liveLoaderWorkers(): number {
  return liveWorkers;
}

function invalidOption(message: string): never {
  fail("LOADER_OPTIONS_INVALID", message);
}

function checkInt(name: string, v: unknown, min: number, max: number): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max)
    invalidOption(`Dataloader option ${name} must be an integer in [${min}, ${max}], got ${String(v)}`);
  return v;
}

interface Settings {
  batchSize: number;
  seed: number;
  epochs: number;
  nScanners: number;
  blockRows: number;
  workers: number;
  budget: number;
}

function settings(o: PrefetchOptions): Settings {
  if (!o.source || typeof o.source.tablePath !== "string" || !Number.isSafeInteger(o.source.rows) || o.source.rows < 0) {
    invalidOption("Dataloader option source must name the expression table and its row count");
  }
  if (typeof o.workerFile !== "string") invalidOption("Dataloader option workerFile must be the path of the loader worker bundle");
  if (o.tokenizer !== "raw") {
    if (typeof o.tokenizer !== "object" || o.tokenizer === null)
      invalidOption(`Dataloader option tokenizer must be "raw" or tokenizer options, got ${String(o.tokenizer)}`);
    try {
      validateOptions(o.tokenizer);
    } catch (e) {
      if (isAppFailure(e)) invalidOption(e.message);
      throw e;
    }
  }
  if (typeof o.shuffle !== "boolean") invalidOption(`Dataloader option shuffle must be true or false, got ${String(o.shuffle)}`);
  return {
    batchSize: checkInt("batch_size", o.batchSize, 1, 1 << 20),
    seed: checkInt("seed", o.seed, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER),
    epochs: checkInt("epochs", o.epochs, 1, 1_000_000),
    nScanners: checkInt("n_scanners", o.nScanners ?? DEFAULT_SCANNERS, 1, 100),
    blockRows: checkInt("block_rows", o.blockRows ?? (o.tokenizer === "raw" ? DEFAULT_RAW_BLOCK_ROWS : DEFAULT_BLOCK_ROWS), 1, 100_000_000),
    workers: checkInt("workers", o.workers ?? Math.max(1, os.availableParallelism()), 1, 256),
    budget: checkInt("queue_budget_bytes", o.queueBudgetBytes ?? DEFAULT_QUEUE_BUDGET_BYTES, 1, Number.MAX_SAFE_INTEGER),
  };
}

function checkStarts(starts: Float64Array, rows: number): void {
  const n = starts.length - 1;
  if (n < 0 || starts[0] !== 0 || starts[n] !== rows) {
    fail("LOADER_DATASET_UNSUPPORTED", `cell_start_index must run from 0 to the ${rows} expression rows (got ${starts.length} entries ending at ${starts[n]})`);
  }
  for (let c = 0; c < n; c++) {
    if (!(starts[c + 1] >= starts[c])) fail("LOADER_DATASET_UNSUPPORTED", `cell_start_index decreases at cell ${c + 1}`);
  }
}

/** Reads what the plan needs on the main thread: the fragment boundaries (and cell_start_index when not given). */
async function scanLayout(o: PrefetchOptions, s: Settings): Promise<ScanLayout> {
  const src = o.source;
  let opened: Awaited<ReturnType<typeof openLanceTable>> | undefined;
  try {
    opened = await openLanceTable(src.tablePath, src.storageOptions);
    if (src.version !== undefined) await opened.table.checkout(src.version);
    const starts = src.cellStartIndex ?? (await cellStartIndexFromExpression(opened.table, src.rows, null));
    checkStarts(starts, src.rows);
    const fragments = await fragmentStarts(opened.table, src.rows);
    return planLayout({ cellStartIndex: starts, fragmentStarts: fragments, nScanners: s.nScanners, blockRows: s.blockRows });
  } catch (e) {
    if (isAppFailure(e)) throw e;
    throw lanceTableFailure(e, { table: "expression", tablePath: src.tablePath }) ?? e;
  } finally {
    opened?.table.close();
    opened?.db.close();
  }
}

interface Slot {
  worker: Worker;
  inflight: Set<number>;
  exited: boolean;
  stopping?: Promise<void>;
}

type StepResult = { parts: BatchPart[]; bytes: number } | { error: AppError };

interface Waiter {
  resolve(b: PrefetchBatch | null): void;
  reject(e: unknown): void;
}

class PrefetchRun implements Prefetcher {
  readonly layout: PrefetchLayout;
  private readonly slots: Slot[] = [];
  private readonly starts: Float64Array;
  private readonly batches: number;
  // Dispatch: the next step to hand out.
  private epochSteps: StepPlan[] = [];
  private dispatchEpoch = 0;
  private dispatchStep = 0;
  private seq = 0;
  private readonly stepOf = new Map<number, { epoch: number; last: boolean }>();
  // Assembly: results back in step order.
  private readonly results = new Map<number, StepResult>();
  private resultBytes = 0;
  private assembleSeq = 0;
  private pending: BatchPart[] = [];
  private pendingCells = 0;
  private pendingBytes = 0;
  private readonly ready: PrefetchBatch[] = [];
  private readyBytes = 0;
  private readonly waiters: Waiter[] = [];
  private produced = 0;
  private cellsProduced = 0;
  private currentEpoch = 0;
  private failure: AppFailure | null = null;
  private stopDispatch = false;
  private paused = false;
  private finished = false;
  private closed = false;
  private closing: Promise<void> | null = null;
  private readonly onAbort = () => void this.close();

  constructor(
    private readonly options: PrefetchOptions,
    private readonly s: Settings,
    private readonly plan: ScanLayout,
  ) {
    this.starts = plan.cellStartIndex;
    this.batches = batchesPerEpoch(plan, s.batchSize);
    const steps = planEpoch(plan, this.epochOptions(), 0);
    this.epochSteps = steps;
    this.layout = {
      nCells: plan.nCells,
      cellsPerEpoch: plan.cellsPerEpoch,
      nRows: plan.nRows,
      nFragments: plan.nFragments,
      nRanges: plan.ranges.length,
      nScanners: Math.min(s.nScanners, Math.max(1, plan.ranges.length)),
      workers: this.batches === 0 ? 0 : Math.min(s.workers, steps.length * s.epochs),
      batchesPerEpoch: this.batches,
    };
    options.signal?.addEventListener("abort", this.onAbort);
    if (this.batches === 0) this.finished = true;
    else this.startWorkers();
    this.pump();
  }

  private epochOptions() {
    return { seed: this.s.seed, shuffle: this.options.shuffle, nScanners: this.s.nScanners };
  }

  private startWorkers(): void {
    const src = this.options.source;
    const workerData: WorkerConfig = {
      tablePath: src.tablePath,
      storageOptions: src.storageOptions,
      version: src.version,
      tokenizer: this.options.tokenizer,
      batchSize: this.s.batchSize,
      keepCsr: this.options.keepCsr ?? false,
    };
    for (let i = 0; i < this.layout.workers; i++) {
      const worker = new Worker(this.options.workerFile, { workerData });
      liveWorkers++;
      const slot: Slot = { worker, inflight: new Set(), exited: false };
      worker.on("message", (r: WorkerReply) => this.onReply(slot, r));
      worker.on("error", (e) => this.onWorkerLost(slot, e instanceof Error ? e.message : String(e)));
      worker.on("exit", (code) => {
        slot.exited = true;
        liveWorkers--;
        if (!slot.stopping) this.onWorkerLost(slot, `exit code ${code}`);
      });
      this.slots.push(slot);
    }
  }

  private heldBytes(): number {
    return this.readyBytes + this.resultBytes + this.pendingBytes;
  }

  private nextStep(): StepPlan | null {
    while (this.dispatchStep >= this.epochSteps.length) {
      if (this.dispatchEpoch + 1 >= this.s.epochs) return null;
      this.dispatchEpoch++;
      this.dispatchStep = 0;
      this.epochSteps = planEpoch(this.plan, this.epochOptions(), this.dispatchEpoch);
    }
    return this.epochSteps[this.dispatchStep];
  }

  private task(step: StepPlan, seq: number): StepTask {
    return {
      t: "step",
      seq,
      epoch: step.epoch,
      step: step.step,
      nCells: step.nCells,
      cellOffset: step.cellOffset,
      shuffleSeed: step.shuffleSeed,
      blocks: step.blocks.map((b) => ({
        fragment: b.fragment,
        rowStart: b.rowStart,
        rowEnd: b.rowEnd,
        cellStart: b.cellStart,
        starts: this.starts.slice(b.cellStart, b.cellEnd + 1),
      })),
    };
  }

  /** Hands out steps while a worker has room and the held bytes are under the budget. */
  private pump(): void {
    // The batch being joined is left out: it waits for the next step, which must be handed out to complete it.
    while (!this.closed && !this.stopDispatch && !this.paused && this.readyBytes + this.resultBytes < this.s.budget) {
      const slot = this.slots.filter((x) => !x.exited && x.inflight.size < STEPS_PER_WORKER).sort((a, b) => a.inflight.size - b.inflight.size)[0];
      if (!slot) return;
      const step = this.nextStep();
      if (!step) return;
      const seq = this.seq++;
      this.dispatchStep++;
      this.stepOf.set(seq, { epoch: step.epoch, last: step.step === this.epochSteps.length - 1 });
      slot.inflight.add(seq);
      slot.worker.postMessage(this.task(step, seq));
    }
  }

  private onReply(slot: Slot, r: WorkerReply): void {
    slot.inflight.delete(r.seq);
    if (this.closed) return;
    if (r.t === "error") {
      this.results.set(r.seq, { error: r.error });
      this.stopDispatch = true;
    } else {
      const bytes = partBytes(r.parts);
      this.results.set(r.seq, { parts: r.parts, bytes });
      this.resultBytes += bytes;
    }
    this.assemble();
    this.pump();
  }

  private onWorkerLost(slot: Slot, why: string): void {
    if (this.closed || slot.inflight.size === 0) return;
    const error: AppError = { code: "INTERNAL", message: `A dataloader worker stopped unexpectedly (${why})` };
    for (const seq of slot.inflight) this.results.set(seq, { error });
    slot.inflight.clear();
    this.stopDispatch = true;
    this.assemble();
  }

  private emit(epoch: number): void {
    const part = joinParts(this.pending);
    const indexInEpoch = part.batch;
    const batch: PrefetchBatch = {
      index: epoch * this.batches + indexInEpoch,
      epoch,
      indexInEpoch,
      lastInEpoch: indexInEpoch === this.batches - 1,
      cellIds: part.cellIds,
      fragments: part.fragments,
      tokens: part.tokens,
      raw: part.raw,
      csr: part.csr,
      bytes: partBytes([part]),
    };
    this.pending = [];
    this.pendingCells = 0;
    this.pendingBytes = 0;
    this.ready.push(batch);
    this.readyBytes += batch.bytes;
    this.produced++;
    this.cellsProduced += batch.cellIds.length;
    this.currentEpoch = epoch;
  }

  /** Takes results in step order into batches; stops at a missing step or at an error. */
  private assemble(): void {
    for (;;) {
      const r = this.results.get(this.assembleSeq);
      if (!r) break;
      this.results.delete(this.assembleSeq);
      if ("error" in r) {
        const { code, message, ...extra } = r.error;
        this.failure = new AppFailure(code, message, extra);
        this.stopDispatch = true;
        void this.stopWorkers();
        break;
      }
      this.resultBytes -= r.bytes;
      const { epoch, last } = this.stepOf.get(this.assembleSeq) as { epoch: number; last: boolean };
      this.stepOf.delete(this.assembleSeq);
      for (const part of r.parts) {
        if (this.pending.length > 0 && this.pending[0].batch !== part.batch) this.emit(epoch);
        this.pending.push(part);
        this.pendingCells += part.cellIds.length;
        this.pendingBytes += partBytes([part]);
        if (this.pendingCells >= this.s.batchSize) this.emit(epoch);
      }
      if (last && this.pending.length > 0) this.emit(epoch);
      this.assembleSeq++;
      if (last && epoch === this.s.epochs - 1) {
        this.finished = true;
        void this.stopWorkers();
      }
    }
    this.deliver();
  }

  private deliver(): void {
    while (this.waiters.length > 0) {
      if (this.ready.length > 0) {
        (this.waiters.shift() as Waiter).resolve(this.take());
      } else if (this.failure) {
        (this.waiters.shift() as Waiter).reject(this.failure);
      } else if (this.finished) {
        (this.waiters.shift() as Waiter).resolve(null);
      } else return;
    }
  }

  private take(): PrefetchBatch {
    const b = this.ready.shift() as PrefetchBatch;
    this.readyBytes -= b.bytes;
    return b;
  }

  next(): Promise<PrefetchBatch | null> {
    if (this.closed) return Promise.reject(new AppFailure("LOADER_CANCELLED", "The dataloader was stopped"));
    if (this.ready.length > 0 && this.waiters.length === 0) {
      const b = this.take();
      this.pump();
      return Promise.resolve(b);
    }
    const p = new Promise<PrefetchBatch | null>((resolve, reject) => this.waiters.push({ resolve, reject }));
    this.deliver();
    this.pump();
    return p;
  }

  setPaused(paused: boolean): void {
    this.paused = paused;
    if (!paused) this.pump();
  }

  stats(): PrefetchStats {
    return {
      queueBatches: this.ready.length,
      queueBytes: this.heldBytes(),
      queueBudgetBytes: this.s.budget,
      batchesProduced: this.produced,
      cellsProduced: this.cellsProduced,
      epoch: this.currentEpoch,
    };
  }

  /**
   * Asks each worker to finish its reads, close its table and end (worker-entry.ts); only a worker that has not
   * ended 5 s later is terminated: terminating a thread while Lance is inside a read crashes the process.
   */
  private stopWorkers(): Promise<void> {
    const stop = (x: Slot) =>
      (x.stopping ??= new Promise<void>((resolve) => {
        if (x.exited) return resolve();
        const timer = setTimeout(() => void x.worker.terminate(), WORKER_STOP_GRACE_MS);
        x.worker.once("exit", () => {
          clearTimeout(timer);
          resolve();
        });
        x.worker.postMessage({ t: "close" });
      }));
    return Promise.all(this.slots.map(stop)).then(() => undefined);
  }

  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.closed = true;
    this.options.signal?.removeEventListener("abort", this.onAbort);
    const cancelled = new AppFailure("LOADER_CANCELLED", "The dataloader was stopped");
    for (const w of this.waiters.splice(0)) w.reject(cancelled);
    this.ready.length = 0;
    this.results.clear();
    this.pending = [];
    this.readyBytes = this.resultBytes = this.pendingBytes = 0;
    this.closing = this.stopWorkers();
    return this.closing;
  }
}

export async function createPrefetcher(options: PrefetchOptions): Promise<Prefetcher> {
  const s = settings(options);
  if (options.signal?.aborted) fail("LOADER_CANCELLED", "The dataloader was stopped before it started");
  if (!existsSync(options.workerFile)) fail("INTERNAL", `The dataloader worker is missing at ${options.workerFile}; build the app (npm run build:main)`);
  const plan = await scanLayout(options, s);
  if (options.signal?.aborted) fail("LOADER_CANCELLED", "The dataloader was stopped before it started");
  return new PrefetchRun(options, s, plan);
}
