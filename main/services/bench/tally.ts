/**
 * What one measurement counts as batches arrive: rows, Arrow bytes, cells, batches, the time to the first batch
 * and the wait for each batch (as the consumer sees it, whichever scanner delivered it), and when to stop: after
 * `batches`, after `seconds`, or when the run is cancelled.
 */
export interface TallyLimits {
  batches: number | null;
  seconds: number | null;
  signal?: AbortSignal;
  /** Hears every batch (job progress). */
  onBatch?: (batches: number) => void;
}

/** Batch waits kept for the percentiles; past this a uniform sample of them (reservoir) is kept. */
const MAX_WAITS = 200_000;

export interface TallyResult {
  rows: number;
  bytes: number;
  cells: number;
  batches: number;
  seconds: number;
  ttfbMs: number;
  batchMs: { p50: number; p95: number };
  /** The run was cancelled during the read. */
  cancelled: boolean;
}

export const CANCELLED = Symbol("cancelled");

/**
 * `work`, or CANCELLED as soon as `signal` aborts; work left behind is handed to `abandon` when it settles
 * (to close what it opened).
 */
export async function unlessCancelled<T>(
  work: Promise<T>,
  signal: AbortSignal | undefined,
  abandon: (value: T) => unknown = () => undefined,
): Promise<T | typeof CANCELLED> {
  if (!signal) return work;
  let onAbort!: () => void;
  const cancelled = new Promise<typeof CANCELLED>((resolve) => {
    onAbort = () => resolve(CANCELLED);
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
  });
  try {
    const first = await Promise.race([work, cancelled]);
    if (first === CANCELLED) work.then(abandon, () => undefined);
    return first;
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
}

export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

export class Tally {
  rows = 0;
  bytes = 0;
  cells = 0;
  batches = 0;
  private t0 = 0;
  private last = 0;
  private first: number | null = null;
  private deadline = Infinity;
  private readonly waits: number[] = [];
  private seen = 0;

  private cancelledPromise: Promise<typeof CANCELLED> | null = null;
  private onAbort: (() => void) | null = null;

  constructor(private readonly limits: TallyLimits) {}

  /** Resolves when the run is cancelled (never, without a signal): reads race it, so a stalled read does not hold a cancel. */
  whenCancelled(): Promise<typeof CANCELLED> {
    const signal = this.limits.signal;
    this.cancelledPromise ??= new Promise((resolve) => {
      if (!signal) return;
      if (signal.aborted) return resolve(CANCELLED);
      this.onAbort = () => resolve(CANCELLED);
      signal.addEventListener("abort", this.onAbort, { once: true });
    });
    return this.cancelledPromise;
  }

  /** The measurement is over: stops listening to the run's signal (a run makes many measurements). */
  close(): void {
    if (this.onAbort) this.limits.signal?.removeEventListener("abort", this.onAbort);
    this.onAbort = null;
  }

  /** Starts the clock: the read begins now. */
  start(): void {
    this.t0 = this.last = performance.now();
    if (this.limits.seconds !== null) this.deadline = this.t0 + this.limits.seconds * 1000;
  }

  /** Whether the read should stop: enough batches, time is up, or cancelled. */
  get done(): boolean {
    return (this.limits.batches !== null && this.batches >= this.limits.batches) || performance.now() >= this.deadline || this.limits.signal?.aborted === true;
  }

  add(rows: number, bytes: number, cells: number): void {
    const now = performance.now();
    if (this.first === null) this.first = now;
    this.keepWait(now - this.last);
    this.last = now;
    this.rows += rows;
    this.bytes += bytes;
    this.cells += cells;
    this.batches++;
    this.limits.onBatch?.(this.batches);
  }

  private keepWait(ms: number): void {
    this.seen++;
    if (this.waits.length < MAX_WAITS) this.waits.push(ms);
    else {
      const k = Math.floor(Math.random() * this.seen);
      if (k < MAX_WAITS) this.waits[k] = ms;
    }
  }

  /** The figures, with the clock stopped at the last batch (or now, when none came). */
  result(): TallyResult {
    const end = this.batches > 0 ? this.last : performance.now();
    const sorted = Float64Array.from(this.waits).sort();
    return {
      rows: this.rows,
      bytes: this.bytes,
      cells: this.cells,
      batches: this.batches,
      seconds: (end - this.t0) / 1000,
      ttfbMs: (this.first ?? end) - this.t0,
      batchMs: { p50: percentile(sorted, 0.5), p95: percentile(sorted, 0.95) },
      cancelled: this.limits.signal?.aborted === true,
    };
  }
}
