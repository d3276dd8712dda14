/** What every input reader (h5ad, 10x MTX, 10x HDF5, synthetic) offers the SLAF writer. */
import type { ConvertMatrix, InputFormat } from "../../../shared/ipc/types/convert";

/** Numeric columns may carry `missing` (1 = null), from AnnData's nullable encodings. */
export type ColumnValues =
  | { type: "string"; values: (string | null)[] }
  | { type: "float64"; values: Float64Array; missing?: Uint8Array }
  | { type: "float32"; values: Float32Array; missing?: Uint8Array }
  | { type: "int64"; values: BigInt64Array; missing?: Uint8Array }
  | { type: "int32"; values: Int32Array; missing?: Uint8Array }
  | { type: "bool"; values: (boolean | null)[] };

export interface FrameColumn {
  name: string;
  /** Rows [start, end): columns are read a slice at a time so memory does not grow with the row count. */
  read(start: number, end: number): ColumnValues;
}

/** obs or var: an index of names (read whole, to make them unique) plus columns. */
export interface Frame {
  length: number;
  readIndex(): string[];
  columns: FrameColumn[];
}

/** obsm / varm entry: `dim` float32 values per row, row-major. */
export interface Embedding {
  name: string;
  dim: number;
  read(start: number, end: number): Float32Array;
}

/**
 * Cells [start, end) of a matrix in CSR form: row r's entries are genes[indptr[r]..indptr[r+1]) with the same
 * values; genes within a row may come unsorted. `integral` is true when the source dtype is an integer type.
 */
export interface RowChunk {
  start: number;
  end: number;
  indptr: Uint32Array | Int32Array | Float64Array;
  genes: Int32Array | Uint32Array | Uint16Array;
  values: Float32Array | Float64Array | Int32Array | Uint32Array | Uint16Array | Int16Array | Uint8Array | Int8Array;
  /** Set by readers that saw every value before the first chunk: do all fit uint16 (integers in 0..65535)? */
  allFitUint16?: boolean;
  /** Set by readers that already checked the chunk (off the writing thread): each row's genes ascending, and its values' statistics. */
  genesSorted?: boolean;
  stats?: ChunkStats;
}

/** Statistics of a chunk's values, as the writer needs them (NaN counted apart, not in min / max / sums). */
export interface ChunkStats {
  min: number;
  max: number;
  sum: number;
  sumSq: number;
  count: number;
  finite: number;
  negative: number;
  /** Every value is an integer in 0..65535. */
  fitsUint16: boolean;
}

/** ChunkStats of `values`. */
export function chunkStats(values: ArrayLike<number>): ChunkStats {
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let sumSq = 0;
  let nan = 0;
  let negative = 0;
  let fits = true;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v !== v) {
      nan++;
      fits = false;
      continue;
    }
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
    sumSq += v * v;
    if (v < 0) negative++;
    if (fits && (v > 65535 || v < 0 || Math.floor(v) !== v)) fits = false;
  }
  return { min, max, sum, sumSq, count: values.length, finite: values.length - nan, negative, fitsUint16: fits };
}

/** X, AnnData's raw/X (genes from raw/var), or a layer. */
export type MatrixName = "X" | "raw" | { layer: string };

export interface RowsOptions {
  chunkCells: number;
  /** A folder the reader may spill to when the input is not stored cell by cell (removed by the caller). */
  scratchDir: string;
  signal?: AbortSignal;
  /** Called as input is consumed by a reader that must see all of it before the first chunk (0..1). */
  onPrepass?: (fraction: number) => void;
}

/**
 * AnnData's obsp (or varp) of one input: square matrices over its cells (genes), each read in row chunks. In
 * the output, local row / column r becomes `map[r]` (-1: dropped; increasing where kept) or else `offset + r`.
 */
export interface PairwiseBlock {
  size: number;
  offset: number;
  map?: Int32Array;
  matrices: { name: string; rows(opts: RowsOptions): AsyncIterable<RowChunk> }[];
}

export interface Source {
  format: InputFormat;
  path: string;
  nCells: number;
  nGenes: number;
  obs: Frame;
  var: Frame;
  obsm: Embedding[];
  varm: Embedding[];
  layers: string[];
  /** Every matrix that can fill expression: X first, then raw/X, then the layers. */
  matrices: ConvertMatrix[];
  /** raw/var: the genes of raw/X, which may be more than var's. */
  rawVar?: Frame;
  /** Stored entries of X when known without a full read. */
  nnz: number | null;
  /** Found while opening (dropped columns, unsupported entries...). */
  warnings: string[];
  /** What the user should know that is not a problem (an old layout read, modalities left out...). */
  notes?: string[];
  /** 10x inputs: each feature's type ("Gene Expression", "Antibody Capture"...), in var order. */
  featureTypes?: string[];
  /** obsp / varp (one block per input), written as cellsxcells.lance / genesxgenes.lance. */
  obsp?: PairwiseBlock[];
  varp?: PairwiseBlock[];
  /** Top-level config.json blocks this source adds (multi_file for several inputs). */
  configExtra?: () => Record<string, unknown>;
  /** AnnData's uns as JSON, read when written (uns.json; what has no JSON form goes to `warnings`); null when there is none. */
  uns?: (warnings: string[]) => Record<string, unknown> | null;
  /** X (or raw/X, or a layer) in cell-order chunks of at most `chunkCells` cells. */
  rows(matrix: MatrixName, opts: RowsOptions): AsyncIterable<RowChunk>;
  close(): Promise<void>;
}

/**
 * Thrown by `rows()` when a reader learns mid-way that it must read differently (an MTX file that turns out
 * not to be stored cell by cell): what was written from it is dropped and `rows()` is asked again.
 */
export class RestartRows extends Error {}
