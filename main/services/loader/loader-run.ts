/**
 * One running preview: it drains the prefetcher as a training loop would (one batch at a time, in order), keeps
 * the newest batches for stepping back, and measures what it consumed (cells, tokens, rate, shuffle entropy,
 * which fragments fed which batch). Stepping pulls only as far as asked; play pulls continuously until paused.
 * Arrow views of a batch are built when a page asks for that batch, not while draining.
 *
 * `state`: running while playing, paused while the page steps (the prefetcher keeps its queue full), ended after
 * the last epoch, failed with the prefetcher's error, stopped once stopped.
 */
import type { AppError } from "../../../shared/result";
import { AppFailure } from "../../../shared/result";
import type { LoaderBatch, LoaderEnd, LoaderState, LoaderStatus } from "../../../shared/ipc/contract";
import { fail, toAppError } from "../errors";
import { batchGeneIds, genesArrow, rawArrow, tokensArrow } from "./batch-arrow";
import { batchStats, batchTokens, fragmentCounts, type StatsContext } from "./batch-stats";
import { EntropyTracker } from "./entropy";
import { BatchHistory, HISTORY_BATCHES, HISTORY_BYTES, type Sized } from "./history";
import type { PrefetchBatch, Prefetcher } from "./prefetch/types";
import { Throughput } from "./throughput";

/** Batches shown in the fragments × batches heatmap. */
export const HEATMAP_ROWS = 48;
/** How long a pause waits for the batch in flight before answering anyway. */
const PAUSE_SETTLE_MS = 2000;

export class ProducedBatch implements Sized {
  view: LoaderBatch | null = null;

  constructor(
    readonly batch: PrefetchBatch,
    readonly l1: { withinL1: number; acrossL1: number | null },
  ) {}

  bytes(): number {
    return this.batch.bytes + (this.view ? this.view.arrow.byteLength + this.view.genes.byteLength : 0);
  }
}

export interface RunOptions {
  loaderId: string;
  prefetcher: Prefetcher;
  stats: StatsContext;
  /** For the entropy baselines: cell id space and batch size. */
  nCells: number;
  batchSize: number;
  historyBytes?: number;
  historyBatches?: number;
}

export class LoaderRun {
  readonly loaderId: string;
  private state: LoaderState = "paused";
  private playing = false;
  private produced = 0;
  private cells = 0;
  private tokens = 0;
  private epoch = 0;
  /** The highest batch index a page is waiting for. */
  private demand = -1;
  private pumping = false;
  private error: AppError | null = null;
  private readonly waiters = new Set<() => void>();
  private readonly history: BatchHistory<ProducedBatch>;
  private readonly entropy: EntropyTracker;
  private readonly throughput = new Throughput();
  private readonly heatmap: { index: number; counts: number[] }[] = [];

  constructor(private readonly o: RunOptions) {
    this.loaderId = o.loaderId;
    this.history = new BatchHistory(o.historyBytes ?? HISTORY_BYTES, o.historyBatches ?? HISTORY_BATCHES);
    this.entropy = new EntropyTracker(o.nCells, o.batchSize);
  }

  private get alive(): boolean {
    return this.state === "running" || this.state === "paused";
  }

  /** Batch `index` from the history, or once the prefetcher produced it (LOADER_TIMEOUT after `timeoutMs`). */
  async batchAt(index: number, timeoutMs: number): Promise<ProducedBatch | LoaderEnd> {
    const now = this.lookup(index);
    if (now) return now;
    this.demand = Math.max(this.demand, index);
    this.kick();
    await this.until(
      () => this.produced > index || !this.alive,
      timeoutMs,
      () => fail("LOADER_TIMEOUT", `Batch ${index} was not ready within ${timeoutMs} ms (${this.produced} produced so far); ask again`, { retryable: true }),
    );
    return this.lookup(index) ?? fail("LOADER_TIMEOUT", `Batch ${index} is not ready yet`, { retryable: true });
  }

  /** What the history or the run's end says about `index` now; undefined while it is still to come. */
  private lookup(index: number): ProducedBatch | LoaderEnd | undefined {
    const have = this.history.get(index);
    if (have) return have;
    if (index < this.produced) {
      const range = this.history.range();
      fail(
        "LOADER_HISTORY_EVICTED",
        `Batch ${index} is no longer kept (${range ? `batches ${range[0]}–${range[1]} are` : "none is"}); restart with the same seed to see it again`,
      );
    }
    if (this.state === "stopped") fail("LOADER_CANCELLED", `Dataloader ${this.loaderId} was stopped`);
    if (this.error) throw new AppFailure(this.error.code, this.error.message, this.error);
    if (this.state === "ended") return { end: true, batches: this.produced };
    return undefined;
  }

  /** The batch as the contract ships it (built on first ask, then kept with the batch). */
  view(entry: ProducedBatch): LoaderBatch {
    if (entry.view) return entry.view;
    const before = entry.bytes();
    const b = entry.batch;
    const tokens = b.tokens;
    entry.view = {
      index: b.index,
      epoch: b.epoch,
      indexInEpoch: b.indexInEpoch,
      kind: tokens ? "tokens" : "raw",
      arrow: tokens ? tokensArrow(tokens, b.fragments, this.o.stats.labels) : rawArrow(b.raw ?? fail("INTERNAL", `Batch ${b.index} has no data`)),
      genes: genesArrow(batchGeneIds(b), this.o.stats.symbols),
      stats: batchStats(b, this.o.stats, entry.l1),
    };
    this.history.resized(before, entry.bytes());
    return entry.view;
  }

  /**
   * Play or pause. A pause resolves once the batch the loop was waiting for has been consumed (or after
   * PAUSE_SETTLE_MS, e.g. while a benchmark holds the prefetcher), so the status it answers with is final and the
   * page can show the newest batch.
   */
  async setPlaying(playing: boolean): Promise<void> {
    if (!this.alive) return;
    this.playing = playing;
    this.state = playing ? "running" : "paused";
    if (playing) {
      this.throughput.reset();
      this.throughput.add(performance.now(), this.cells, this.tokens);
      this.kick();
      return;
    }
    const demanded = () => this.produced <= this.demand;
    await this.until(
      () => !this.pumping || demanded() || !this.alive,
      PAUSE_SETTLE_MS,
      () => fail("LOADER_TIMEOUT", "The loop did not settle"),
    ).catch(() => undefined);
  }

  status(): LoaderStatus {
    const q = this.o.prefetcher.stats();
    const first = this.heatmap[0];
    const status: LoaderStatus = {
      loaderId: this.loaderId,
      state: this.state,
      playing: this.playing,
      epoch: this.epoch,
      batchesProduced: this.produced,
      cellsProduced: this.cells,
      tokensProduced: this.tokens,
      ...this.throughput.rates(),
      queueBatches: q.queueBatches,
      queueBytes: q.queueBytes,
      queueBudgetBytes: q.queueBudgetBytes,
      history: this.history.range(),
      entropy: this.entropy.summary(),
      fragmentHeatmap: { firstBatch: first ? first.index : this.produced, rows: this.heatmap.map((h) => h.counts) },
    };
    if (this.error) status.error = { code: this.error.code, message: this.error.message };
    return status;
  }

  /** Held (a benchmark is measuring): the prefetcher starts no new read until let go. */
  hold(held: boolean): void {
    this.o.prefetcher.setPaused(held);
  }

  /** Stops the prefetcher's workers and frees the queue and the history; waiting calls get LOADER_CANCELLED. */
  async stop(): Promise<void> {
    if (this.state === "stopped") return;
    this.state = "stopped";
    this.playing = false;
    this.notify();
    this.history.clear();
    await this.o.prefetcher.close();
  }

  private kick(): void {
    if (this.pumping) return;
    this.pumping = true;
    void this.pump();
  }

  private wanted(): boolean {
    return this.alive && (this.playing || this.produced <= this.demand);
  }

  /** One batch at a time, in order; `pumping` drops in the same tick the loop decides to stop. */
  private async pump(): Promise<void> {
    try {
      while (this.wanted()) {
        let batch: PrefetchBatch | null;
        try {
          batch = await this.o.prefetcher.next();
        } catch (e) {
          if (this.state !== "stopped") {
            this.error = toAppError(e);
            this.state = "failed";
            this.playing = false;
          }
          break;
        }
        if (this.state === "stopped") break;
        if (batch === null) {
          this.state = "ended";
          this.playing = false;
          break;
        }
        this.consume(batch);
        this.notify();
        // Let pages' calls (status, pause) through between batches that were already queued.
        if (this.playing) await new Promise((r) => setImmediate(r));
      }
    } finally {
      this.pumping = false;
      this.notify();
    }
  }

  private consume(b: PrefetchBatch): void {
    const l1 = this.entropy.add(b.cellIds);
    this.produced = b.index + 1;
    this.cells += b.cellIds.length;
    this.tokens += batchTokens(b);
    this.epoch = b.epoch;
    this.heatmap.push({ index: b.index, counts: fragmentCounts(b.fragments, this.o.stats.nFragments) });
    if (this.heatmap.length > HEATMAP_ROWS) this.heatmap.shift();
    this.history.add(b.index, new ProducedBatch(b, l1));
    if (this.playing) this.throughput.add(performance.now(), this.cells, this.tokens);
  }

  private notify(): void {
    for (const w of [...this.waiters]) w();
  }

  private until(ready: () => boolean, timeoutMs: number, onTimeout: () => never): Promise<void> {
    if (ready()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const check = () => {
        if (!ready()) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        try {
          onTimeout();
        } catch (e) {
          reject(e);
        }
      }, timeoutMs);
      this.waiters.add(check);
    });
  }
}
