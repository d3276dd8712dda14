import type * as lancedb from "@lancedb/lancedb";
import type { DatasetSummary } from "../../../shared/ipc/contract";
import type { SlafConfig } from "./config";

/** A dataset held open by main: what other services (query, loader) use to reach its Lance tables. */
export interface OpenDataset {
  summary: DatasetSummary;
  config: SlafConfig;
  root: string;
  tables: Map<string, lancedb.Table>;
  /** LanceDB connections behind `tables`, closed with them. */
  connections: lancedb.Connection[];
  /** Remote datasets: the pinned storage options the tables were opened with (workers open the same tables with them). */
  storageOptions?: Record<string, string>;
  /** Remote datasets: the URI config.json's table paths are joined to (`root` without `@revision`); `root` when absent. */
  tableRoot?: string;
  refs: number;
}
