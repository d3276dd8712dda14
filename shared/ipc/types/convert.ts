import type { Result } from "../../result";

export type InputFormat = "h5ad" | "10x_mtx" | "10x_h5";

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
}

export interface ConvertSummary {
  output: string;
  format: InputFormat;
  nCells: number;
  nGenes: number;
  nnz: number;
  valueType: "uint16" | "float32";
  elapsedMs: number;
  cellsPerSecond: number;
  warnings: string[];
}

export interface ConvertApi {
  inspect(req: { input: string }): Promise<Result<ConvertInspection>>;
  /** Starts a conversion job; progress counts cells; the job's result is a ConvertSummary. */
  start(req: { input: string; output: string; force?: boolean }): Promise<Result<{ jobId: string }>>;
}
