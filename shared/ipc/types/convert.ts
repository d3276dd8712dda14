import type { Result } from "../../result";

export type InputFormat = "h5ad" | "10x_mtx" | "10x_h5" | "loom";

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

/** A 10x feature type ("Gene Expression", "Antibody Capture", "Peaks"...) and how many features have it. */
export interface FeatureTypeCount {
  type: string;
  count: number;
}

/** A dataset written beside the output in the same run: the feature types left out of it (`splitFeatureTypes`). */
export interface ConvertSibling {
  output: string;
  featureTypes: string[];
  nCells: number;
  nGenes: number;
  nnz: number;
  valueType: "uint16" | "float32";
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
  /** 10x inputs (Cell Ranger .h5, MTX with features.tsv): every feature type, in file order, with its count. */
  featureTypes?: FeatureTypeCount[];
  /** The sample name this input gets among several when none is given (from its path). */
  sampleName?: string;
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
  /** 10x inputs with several feature types: which went into `genes` / `expression` and which were left out. */
  featureTypes?: { kept: string[]; leftOut: FeatureTypeCount[] };
  /** The left-out feature types written beside the output (`splitFeatureTypes`). */
  siblings?: ConvertSibling[];
  /** Several inputs: each one's sample name (the `sample` column of cells) and where its cells start. */
  samples?: ConvertSampleSummary[];
}

export interface ConvertSampleSummary {
  sample: string;
  path: string;
  format: InputFormat;
  nCells: number;
  cellOffset: number;
}

/** One input of a multi-input conversion; `sample` defaults to a name taken from the path. */
export interface ConvertInputSpec {
  path: string;
  sample?: string;
}

export interface ConvertStartRequest {
  input: string;
  output: string;
  force?: boolean;
  /** "X", "raw" or "layer:<name>"; the default is the inspection's defaultMatrix. */
  matrix?: string;
  /** Also keep the other of X / raw (or X, when a layer is chosen) as a layer. */
  keepOtherAsLayer?: boolean;
  /** 10x inputs: the feature types to keep (default: "Gene Expression" when there is any), or ["all"]. */
  featureTypes?: string[];
  /** 10x inputs: also write each left-out feature type as its own SLAF dataset beside the output. */
  splitFeatureTypes?: boolean;
  /**
   * Several inputs into one dataset (in this order; `input` is then ignored): cells get a `sample` column,
   * genes are the union (matched by gene_ids, else by name).
   */
  inputs?: ConvertInputSpec[];
  /** With `inputs`: refuse inputs whose gene sets differ instead of taking their union. */
  strict?: boolean;
}

export interface ConvertApi {
  inspect(req: { input: string }): Promise<Result<ConvertInspection>>;
  /** Starts a conversion job; progress counts cells; the job's result is a ConvertSummary. */
  start(req: ConvertStartRequest): Promise<Result<{ jobId: string }>>;
}
