import type { Result } from "../../result";
import type { ColumnInfo, RowPage } from "./common";

/**
 * What one SLAF table contributed to a query: exactly what was read from Lance. Bytes are Arrow bytes as Lance
 * delivers them (decoded column data, validity bitmaps not counted), so scanned and table bytes compare directly.
 */
export interface ScanReport {
  table: string;
  columns: string[];
  /** The predicate pushed into Lance, in Lance's SQL (ids derived from cells/genes filters included), or null for a full scan. */
  filter: string | null;
  /**
   * An id filter applied to each scanned batch before it reached the engine (ids of filtered cells/genes or of a
   * named result too scattered for `filter`), e.g. `cell_integer_id in 83,333 ids of cells where ...`; else null.
   */
  idFilter?: string | null;
  rowsScanned: number;
  /** Rows handed to the SQL engine: rowsScanned less what idFilter dropped, or the partial rows of `aggregated`. */
  rowsAppended?: number;
  /**
   * When the rows were aggregated before the engine saw them (a GROUP BY whose aggregates combine from partials),
   * e.g. `per cell_integer_id: count, sum/count/min/max of value`; else absent or null.
   */
  aggregated?: string | null;
  /**
   * Served from columns kept loaded between queries (cells, genes): rows and bytes scanned are what this query
   * loaded for itself and later ones (every row, so no filter), zero when everything it needed was already there.
   */
  warm?: boolean;
  /**
   * The rows went from the scan straight into the running query (a large local expression/layers scan, read by a
   * worker thread while the SQL runs) instead of being stored in the engine first; `rowsAppended` is what it delivered.
   */
  streamed?: boolean;
  bytesScanned: number;
  tableRows: number;
  /** Arrow bytes a scan of every row and every column would deliver (strings estimated from a sample). */
  tableBytes: number;
}

export interface ScanEstimate {
  table: string;
  columns: string[];
  /** The pushed predicate; ids that come from a cells/genes filter show as `col IN <... of cells where ...>`. */
  filter: string | null;
  estimatedRows: number;
  estimatedBytes: number;
  /** Its columns are held in memory by earlier queries: running it reads none of this table. */
  inMemory: boolean;
}

export interface QueryPreview {
  scans: ScanEstimate[];
  /** What running it reads from the tables: the scans not in memory. */
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
  /** Of elapsedMs: reading from Lance into the engine, and running the SQL. */
  scanMs?: number;
  sqlMs?: number;
}

export type ExportFormat = "csv" | "parquet";

export interface QueryApi {
  /**
   * Starts a query job; the job's result is a QuerySummary. Syntax errors, unknown tables and over-threshold
   * queries (QUERY_NEEDS_CONFIRMATION, detail = the QueryPreview as JSON) fail here at once; errors found while
   * running (unknown columns, type errors: QUERY_INVALID) fail the job. Positions are 1-based (line, column,
   * and offset = character index + 1). With `name`, later queries on the same dataset can read the result as a
   * table of that name; running a query with the same name again replaces it.
   */
  start(req: { datasetId: string; sql: string; name?: string | null; confirmed?: boolean }): Promise<Result<{ jobId: string }>>;
  preview(req: { datasetId: string; sql: string }): Promise<Result<QueryPreview>>;
  /** At most MAX_PAGE_ROWS rows and about MAX_PAGE_BYTES per page: wide rows give fewer rows than asked (numRows says how many; a row larger than the cap comes alone). */
  page(req: { resultId: string; offset: number; limit: number }): Promise<Result<RowPage>>;
  /**
   * Writes the result to `path` (absolute) as CSV or Parquet. An existing file is replaced only with `overwrite:
   * true`; otherwise EXPORT_TARGET_EXISTS (the renderer asks "Replace?" and calls again).
   */
  export(req: { resultId: string; format: ExportFormat; path: string; overwrite?: boolean }): Promise<Result<{ path: string; bytes: number }>>;
  release(req: { resultId: string }): Promise<Result<null>>;
}
