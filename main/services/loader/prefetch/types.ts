/**
 * The prefetcher's interface (issue 10): what the loader service, the CLI and the benchmark use. The prefetcher
 * reads the expression table in worker threads with a mixture of scanners, keeps cells whole, block-shuffles with
 * a seed, tokenizes in the workers, and hands batches over through a bounded queue with a byte budget.
 */
import type { CsrBatch, TokenizedBatch, TokenizerOptions } from "../tokens";
import type { RawBatch } from "../raw";

/** Where a worker finds the expression table: its own LanceDB connection to the same path, same storage options. */
export interface ExpressionSource {
  /** Full path or URI of `expression.lance` (local folder, or the gateway-backed s3:// / hf:// URI). */
  tablePath: string;
  storageOptions?: Record<string, string>;
  /** cell_start_index from the cells table, n_cells + 1 entries (last = expression rows); null when the table has none. */
  cellStartIndex: Float64Array | null;
  /** The expression table's row count. */
  rows: number;
  /** The table version the dataset opened (workers check it out, so every read sees the same rows); latest when absent. */
  version?: number;
  /** Set when cell_start_index was computed from the expression table: why the cells table's could not be used. */
  cellStartIndexNote?: string;
}

export interface PrefetchOptions {
  source: ExpressionSource;
  /** Tokenizer options, or "raw" for COO batches. */
  tokenizer: TokenizerOptions | "raw";
  batchSize: number;
  seed: number;
  shuffle: boolean;
  epochs: number;
  /** Scanners drawn from per step (SLAF default 16). */
  nScanners?: number;
  /** Expression rows per scanner read (cell-aligned), SLAF's prefetch_batch_size scaled to these machines. */
  blockRows?: number;
  /** Worker threads (default: available cores, at least 1). */
  workers?: number;
  /** Bytes of ready batches held before the workers are paused (never dropped). */
  queueBudgetBytes?: number;
  /** Also hand over each batch's whole cells as CSR (the preview's explain and compare need them). */
  keepCsr?: boolean;
  /** The bundled worker file (dist/main/loader-worker.mjs). */
  workerFile: string;
  signal?: AbortSignal;
}

export interface PrefetchBatch {
  /** 0-based over the whole run, and within its epoch. */
  index: number;
  epoch: number;
  indexInEpoch: number;
  /** The last batch of its epoch (the only one that may hold fewer than batchSize cells). */
  lastInEpoch: boolean;
  cellIds: Uint32Array;
  /** The expression fragment each cell's first row lies in (its position in row order, 0 … nFragments − 1). */
  fragments: Int32Array;
  tokens: TokenizedBatch | null;
  raw: RawBatch | null;
  csr: CsrBatch | null;
  /** Typed-array bytes this batch holds (what the queue budget counts). */
  bytes: number;
}

export interface PrefetchLayout {
  /** Cells in the dataset (cell_start_index entries − 1). */
  nCells: number;
  /** Cells emitted per epoch: the cells with at least one expression row (SLAF's loader never sees the others). */
  cellsPerEpoch: number;
  nRows: number;
  nFragments: number;
  /** Row ranges the scanners walk (fragments, or row ranges cut from them when fragments are few). */
  nRanges: number;
  nScanners: number;
  workers: number;
  batchesPerEpoch: number;
}

export interface PrefetchStats {
  queueBatches: number;
  queueBytes: number;
  queueBudgetBytes: number;
  batchesProduced: number;
  cellsProduced: number;
  epoch: number;
}

export interface Prefetcher {
  readonly layout: PrefetchLayout;
  /** The next batch in seeded order, or null after the last epoch. Rejects with the worker's named error. */
  next(): Promise<PrefetchBatch | null>;
  stats(): PrefetchStats;
  /** Paused: no new reads are handed to the workers (those under way finish); resumed, they go on where they were. */
  setPaused(paused: boolean): void;
  /** Stops the workers, frees the queue; pending next() calls reject with LOADER_CANCELLED. Idempotent. */
  close(): Promise<void>;
}

/** Implemented in ./prefetcher.ts: `createPrefetcher(options): Promise<Prefetcher>` (resolves once the plan is made). */
export type CreatePrefetcher = (options: PrefetchOptions) => Promise<Prefetcher>;
