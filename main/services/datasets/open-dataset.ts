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
  refs: number;
}
