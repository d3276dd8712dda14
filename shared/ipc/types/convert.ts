import type { Result } from "../../result";

export type InputFormat = "h5ad" | "10x_mtx" | "10x_h5";

/** A matrix of the input that can fill `expression`. */
export interface ConvertMatrix {
  /** How to ask for it (`--matrix`, `convert.start`): "X", "raw" or "layer:<name>". */
  name: string;
  /** Where it is in the input: "X", "raw/X", "layers/<name>" (h5ad), "matrix.mtx" or "/matrix". */
  path: string;
  nCells: number;
  nGenes: number;
  /** Stored dtype: "float32", "int32", "uint16"... */
  dtype: string;
  /** Whether its values are whole numbers (counts): from the dtype, or from a sample of stored values for floats; null when empty. */
  integer: boolean | null;
  /** Stored entries, when known without a full read (null for dense matrices). */
  nnz: number | null;
}

export interface ConvertInspection {
  format: InputFormat;
  nCells: number;
  nGenes: number;
  /** Stored entries of X, when the header tells it without a full read. */
  nnz: number | null;
  obsColumns: string[];
  varColumns: string[];
  obsm: string[];
  varm: string[];
  layers: string[];
  /** Every matrix that can fill `expression`, X first. */
  matrices: ConvertMatrix[];
  /** The `name` of the matrix used when none is chosen, and why. */
  defaultMatrix: string;
  defaultReason: string;
}

export interface ConvertSummary {
  output: string;
  format: InputFormat;
  nCells: number;
  nGenes: number;
  nnz: number;
  valueType: "uint16" | "float32";
  /** The input matrix `expression` holds (a ConvertMatrix path, e.g. "raw/X"); also in config.json as metadata.source_matrix. */
  sourceMatrix: string;
  elapsedMs: number;
  cellsPerSecond: number;
  /** What the user should know that is not a problem (which matrix was used and why). */
  notes: string[];
  warnings: string[];
}

export interface ConvertStartRequest {
  input: string;
  output: string;
  force?: boolean;
  /** "X", "raw" or "layer:<name>"; the default is the inspection's defaultMatrix. */
  matrix?: string;
  /** Also keep the other of X / raw (or X, when a layer is chosen) as a layer. */
  keepOtherAsLayer?: boolean;
}

export interface ConvertApi {
  inspect(req: { input: string }): Promise<Result<ConvertInspection>>;
  /** Starts a conversion job; progress counts cells; the job's result is a ConvertSummary. */
  start(req: ConvertStartRequest): Promise<Result<{ jobId: string }>>;
}
