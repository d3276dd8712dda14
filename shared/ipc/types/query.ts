import type { Result } from "../../result";
import type { ColumnInfo, RowPage } from "./common";

/** What one SLAF table contributed to a query: exactly what was read from Lance. */
export interface ScanReport {
  table: string;
  columns: string[];
  /** The predicate pushed into Lance, in Lance's SQL, or null for a full scan. */
  filter: string | null;
  rowsScanned: number;
  bytesScanned: number;
  tableRows: number;
  tableBytes: number;
}

export interface ScanEstimate {
  table: string;
  columns: string[];
  filter: string | null;
  estimatedRows: number;
  estimatedBytes: number;
}

export interface QueryPreview {
  scans: ScanEstimate[];
  estimatedRows: number;
  estimatedBytes: number;
  /** True when the estimate is over the confirmation threshold: run with `confirmed: true`. */
  needsConfirmation: boolean;
  /** Named results from earlier cells that this query reads. */
  namedResults: string[];
}

export interface QuerySummary {
  resultId: string;
  name: string | null;
  columns: ColumnInfo[];
  rowCount: number;
  elapsedMs: number;
  scans: ScanReport[];
}

export type ExportFormat = "csv" | "parquet";

export interface QueryApi {
  /** Starts a query job; the job's result is a QuerySummary. */
  start(req: { datasetId: string; sql: string; name?: string | null; confirmed?: boolean }): Promise<Result<{ jobId: string }>>;
  preview(req: { datasetId: string; sql: string }): Promise<Result<QueryPreview>>;
  page(req: { resultId: string; offset: number; limit: number }): Promise<Result<RowPage>>;
  export(req: { resultId: string; format: ExportFormat; path: string }): Promise<Result<{ path: string; bytes: number }>>;
  release(req: { resultId: string }): Promise<Result<null>>;
}
