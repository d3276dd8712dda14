import type { Result } from "../../result";
import type { ColumnInfo, Empty, RowPage } from "./common";

export type DatasetSource = "local" | "s3" | "hf";

export interface TableInfo {
  /** Key in config.json `tables` (cells, genes, expression, layers, ...). */
  name: string;
  /** Path relative to the SLAF root, as listed in config.json. */
  path: string;
  rows: number;
  fragments: number;
  bytes: number;
  columns: ColumnInfo[];
}

export interface SlafConfigFacts {
  formatVersion: string | null;
  nCells: number | null;
  nGenes: number | null;
  expressionCount: number | null;
  sparsity: number | null;
  density: number | null;
  createdAt: string | null;
  /** config.json as read, for the raw view. */
  raw: unknown;
}

export interface DatasetSummary {
  datasetId: string;
  uri: string;
  /** Folder name without `.slaf`, for titles. */
  name: string;
  source: DatasetSource;
  /** For `hf://` datasets: the revision asked for and the commit every read uses (fixed at open). */
  revision: { requested: string; sha: string } | null;
  config: SlafConfigFacts;
  tables: TableInfo[];
}

export interface DatasetsApi {
  /** Open (or re-use) a SLAF dataset; each open adds a reference, `close` drops one. */
  open(req: { uri: string }): Promise<Result<DatasetSummary>>;
  /** Build the bundled PBMC 3k demo into the user data folder when missing, then open it. */
  openDemo(req: Empty): Promise<Result<DatasetSummary>>;
  close(req: { datasetId: string }): Promise<Result<null>>;
  list(req: Empty): Promise<Result<DatasetSummary[]>>;
  /** Rows [offset, offset+limit) of a table, in storage order. */
  readRows(req: { datasetId: string; table: string; offset: number; limit: number; columns?: string[] }): Promise<Result<RowPage>>;
}
