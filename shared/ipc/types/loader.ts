import type { Result } from "../../result";

/**
 * The dataloader preview (issue 10): a seeded streaming prefetcher in main feeds tokenized batches, exactly what
 * a Geneformer or scGPT training job on this dataset would receive, and the panel steps through them.
 */
export type LoaderTokenizerName = "geneformer" | "scgpt" | "raw";
/** `slafdb-0.5.2` reproduces SLAF 0.5.2's output, quirks included; `canonical` is rank order with proper binning. */
export type LoaderMode = "slafdb-0.5.2" | "canonical";

export interface LoaderOptions {
  tokenizer: LoaderTokenizerName;
  mode: LoaderMode;
  /** Gene tokens per cell (Geneformer: the whole sequence, CLS/SEP included; scGPT: genes, sequence = maxGenes + 2). */
  maxGenes: number;
  vocabSize: number;
  nExpressionBins: number;
  batchSize: number;
  seed: number;
  shuffle: boolean;
  /** canonical mode only: scale each cell to this total before ranking/binning (e.g. 10000), or null. */
  normalizeTotal: number | null;
  /** canonical mode only: log1p after normalize_total. */
  log1p: boolean;
  /**
   * Canonical Geneformer only: a numeric genes column holding each gene's nonzero median (Geneformer's
   * gene_median_dictionary). Genes rank by value / median, and genes without a positive median are dropped. Null: none.
   */
  geneMediansColumn: string | null;
  epochs: number;
  /** A cells column whose values label each cell and give the batch composition (cell_type, donor, …), or null. */
  labelColumn: string | null;
}

export const LOADER_DEFAULTS: LoaderOptions = {
  tokenizer: "geneformer",
  mode: "canonical",
  maxGenes: 2048,
  vocabSize: 50_000,
  nExpressionBins: 10,
  batchSize: 32,
  seed: 42,
  shuffle: true,
  normalizeTotal: null,
  log1p: false,
  geneMediansColumn: null,
  epochs: 1,
  labelColumn: null,
};

export interface LoaderInfo {
  loaderId: string;
  datasetId: string;
  /** The dataset's URI and, for hf://, the commit every read uses: what the Python snippet needs to reproduce the run. */
  uri: string;
  revision: string | null;
  options: LoaderOptions;
  /** Tokens per row (0 in raw mode). */
  seqLength: number;
  nCells: number;
  /** Expression rows (non-zeros). */
  nRows: number;
  /** Expression fragments (Lance data files), and the scanner ranges the mixture of scanners draws from. */
  nFragments: number;
  nRanges: number;
  nScanners: number;
  workers: number;
  /** Cells columns usable as `labelColumn` (strings, categories, small integers). */
  labelColumns: string[];
  /** Genes columns usable as `geneMediansColumn` (numeric, other than the ids). */
  medianColumns: string[];
  /** Batches per epoch (cells / batchSize, rounded up). */
  batchesPerEpoch: number;
}

export interface LoaderTokenCount {
  token: number;
  /** gene_integer_id, or null for a special token. */
  geneId: number | null;
  name: string;
  count: number;
}

/** Facts about one batch, computed in main from the batch's typed arrays. */
export interface LoaderBatchStats {
  cells: number;
  /** Tokens that are not PAD. */
  tokens: number;
  /** Genes each cell had before truncation (one entry per cell, batch row order). */
  lengths: number[];
  truncated: number;
  /** Cells whose SEP token did not fit (slafdb-0.5.2 Geneformer). */
  sepLost: number;
  distinctGenes: number;
  /** Gene tokens ≥ vocabSize (slafdb-0.5.2 keeps them). */
  outOfVocab: number;
  topTokens: LoaderTokenCount[];
  /** Cells per value of `labelColumn`, largest first; null without a label column. */
  composition: { column: string; counts: { value: string; cells: number }[] } | null;
  /** Cells per expression fragment (index = fragment), for the heatmap of which fragments fed which batch. */
  fragments: number[];
  /** Mean |id_i − id_j| over pairs of cell ids in this batch, and between this batch and the previous one. */
  withinL1: number;
  acrossL1: number | null;
}

/**
 * One batch. `arrow` is Arrow IPC. Tokenized: one row per cell, in batch order, with columns
 * `cell_integer_id` Int32, `label` Utf8 (null without labelColumn), `n_genes` Int32 (before truncation),
 * `truncated` Bool, `sep_kept` Bool, `fragment` Int32, `input_ids` FixedSizeList<Int32>[seqLength],
 * `attention_mask` FixedSizeList<Uint8>[seqLength], `values` FixedSizeList<Float32>[seqLength] (the value behind
 * each gene token, NaN on special tokens), and for scGPT `value_tokens` FixedSizeList<Int32>[seqLength] (SLAF's
 * `values` tensor). Raw: COO rows `cell_integer_id` Int32, `gene_integer_id` Int32, `value` (stored type).
 * `genes` is Arrow IPC `gene_integer_id` Int32, `symbol` Utf8 for every gene in the batch.
 */
export interface LoaderBatch {
  index: number;
  epoch: number;
  indexInEpoch: number;
  kind: "tokens" | "raw";
  arrow: Uint8Array;
  genes: Uint8Array;
  stats: LoaderBatchStats;
}

/** Returned instead of a batch once the run has no batch at that index (all epochs done). */
export interface LoaderEnd {
  end: true;
  /** Batches the run produced in all. */
  batches: number;
}

export type LoaderState = "running" | "paused" | "ended" | "failed" | "stopped";

export interface LoaderStatus {
  loaderId: string;
  state: LoaderState;
  /** True while main drains batches as a training loop would (play); false while the user steps. */
  playing: boolean;
  epoch: number;
  batchesProduced: number;
  cellsProduced: number;
  tokensProduced: number;
  /** Over the last few seconds of production (null before there is enough to measure). */
  cellsPerSecond: number | null;
  tokensPerSecond: number | null;
  queueBatches: number;
  queueBytes: number;
  queueBudgetBytes: number;
  /** Batches kept for stepping back: [oldest, newest] index, or null. */
  history: [number, number] | null;
  /** SLAF's shuffle quality over every batch so far: 0 = sequential, 1 = random. Null before two batches. */
  entropy: { withinL1: number; acrossL1: number; score: number } | null;
  /** Cells per fragment per batch for the last batches (rows: batch index → fragment counts). */
  fragmentHeatmap: { firstBatch: number; rows: number[][] };
  error?: { code: string; message: string };
}

/** One cell, explained: its whole ranked gene list and where truncation cut it. */
export interface LoaderCellExplain {
  cellId: number;
  label: string | null;
  /** Arrow IPC, one row per gene in sequence order before truncation: `rank` Int32, `gene_integer_id` Int32,
   * `symbol` Utf8, `value` Float32 (stored), `score` Float32 (what the ranking used), `bin` Int32 (null when not
   * binned), `kept` Bool. */
  arrow: Uint8Array;
  nGenes: number;
  kept: number;
  sepKept: boolean;
}

/** The same cells tokenized in both modes, for the side-by-side view (batch Arrow layout as in LoaderBatch). */
export interface LoaderComparison {
  index: number;
  slafdb: Uint8Array;
  canonical: Uint8Array;
  /** Arrow IPC `gene_integer_id` Int32, `symbol` Utf8 for every gene in either mode's rows (as LoaderBatch.genes). */
  genes: Uint8Array;
  /** Per row: token positions whose input id differs between the modes. */
  differing: number[][];
}

export type LoaderExportFormat = "json" | "npz";

export interface LoaderApi {
  /** Starts a prefetcher for an open dataset; options are checked here (LOADER_OPTIONS_INVALID names the field). */
  start(req: { datasetId: string; options: LoaderOptions }): Promise<Result<LoaderInfo>>;
  /**
   * Batch `index` (0-based over the whole run): from the history when already produced, else waits for the
   * prefetcher up to `timeoutMs` (LOADER_TIMEOUT). An index older than the history is LOADER_HISTORY_EVICTED.
   */
  batch(req: { loaderId: string; index: number; timeoutMs?: number }): Promise<Result<LoaderBatch | LoaderEnd>>;
  /** Play (main drains batches as fast as a training loop would, measuring throughput) or pause. */
  play(req: { loaderId: string; playing: boolean }): Promise<Result<LoaderStatus>>;
  status(req: { loaderId: string }): Promise<Result<LoaderStatus>>;
  cell(req: { loaderId: string; index: number; row: number }): Promise<Result<LoaderCellExplain>>;
  compare(req: { loaderId: string; index: number }): Promise<Result<LoaderComparison>>;
  /** Writes batch `index` to `path` as JSON (the CLI's `--format json` document for one batch) or `.npz`. */
  export(req: {
    loaderId: string;
    index: number;
    format: LoaderExportFormat;
    path: string;
    overwrite?: boolean;
  }): Promise<Result<{ path: string; bytes: number }>>;
  /** Cancels the prefetcher: its workers stop and its queue and history are freed. */
  stop(req: { loaderId: string }): Promise<Result<null>>;
}
