import type { Result } from "../../result";
import type { Empty } from "./common";

/**
 * The benchmark panel (issue 11): the same streaming read of one dataset at several locations (local copy, S3
 * copy, Hub repo), measured side by side, with the gateway's upstream requests and bytes per source.
 */
export type BenchReader = "scan" | "raw" | "geneformer" | "scgpt";
export type BenchSourceKind = "local" | "s3" | "hf";

export interface BenchOptions {
  /** Locations of the same dataset (local path, s3://, hf://…[@rev]), measured one after the other. */
  uris: string[];
  table: "cells" | "expression";
  /** Columns to read (scan reader only); null = every column. */
  columns: string[] | null;
  /** Rows per batch (scan) or cells per batch (loader readers). */
  batchSize: number;
  /** Stop after this many batches, or after `seconds`, whichever is first; at least one of them is set. */
  batches: number | null;
  seconds: number | null;
  /** Cold: the gateway's cache is bypassed for this run (nothing read from it or written to it); warm: as usual. */
  cold: boolean;
  /** Concurrent readers per source (scan: row ranges read in parallel; loader: its worker threads). */
  concurrency: number;
  reader: BenchReader;
  /** Measure each source this many times; results report the median and the spread. */
  repeat: number;
}

/** The announcement's shape: 20,000 batches of 256 rows of the cells table per source. */
export const BENCH_ANNOUNCEMENT_PRESET: Omit<BenchOptions, "uris"> = {
  table: "cells",
  columns: null,
  batchSize: 256,
  batches: 20_000,
  seconds: null,
  cold: true,
  concurrency: 1,
  reader: "scan",
  repeat: 1,
};

/** One measurement of one source. */
export interface BenchMeasurement {
  rows: number;
  /** Arrow bytes delivered to the reader (decoded column data). */
  bytes: number;
  /** Cells delivered (expression: distinct cells; cells table: rows). */
  cells: number;
  batches: number;
  seconds: number;
  mibPerSecond: number;
  rowsPerSecond: number;
  cellsPerSecond: number;
  /** Time to first batch. */
  ttfbMs: number;
  batchMs: { p50: number; p95: number };
  /** From the gateway's counters (0 for local sources): requests and body bytes sent upstream during the run. */
  upstreamRequests: number;
  upstreamBytes: number;
  cacheHits: number;
  cacheMisses: number;
  /** Hub only: rate-limit budget used during the run, per bucket ("api", "resolvers"), when the Hub reported it. */
  rateLimitUsed: Record<string, { used: number; quota: number | null }> | null;
  /** Gateway counters over the whole measurement (open + read; 0 for local): body bytes the gateway served to Lance. */
  servedBytes?: number;
  /** Upstream requests by kind (Hub: api, tree, resolve, cdn; S3: list, get, head). */
  upstreamByKind?: Record<string, number>;
  /** Opening the dataset's tables before the read (not in `seconds`). */
  openMs?: number;
  /** The read stopped early: the run was cancelled during it. */
  cancelled?: boolean;
}

export interface BenchSourceResult {
  uri: string;
  source: BenchSourceKind;
  /** hf:// commit or s3 ETag-pinned version label read, null for local. */
  revision: string | null;
  /** Median over the repeats (by MiB/s: the same as by seconds for a fixed number of batches), and every repeat in order. */
  median: BenchMeasurement;
  repeats: BenchMeasurement[];
  /** Relative spread of MiB/s over the repeats: (max − min) / median; 0 with one repeat. */
  spread: number;
  /** Set when this source failed (the others still ran): the named error. */
  error?: { code: string; message: string };
  /** What to know when reading the figures (e.g. cold has no effect on a local folder; the table ran out first). */
  notes?: string[];
}

export interface BenchRun {
  runId: string;
  /** Epoch ms. */
  startedAt: number;
  endedAt: number;
  appVersion: string;
  machine: { platform: string; arch: string; cpus: number; cpuModel: string; memoryBytes: number };
  /** The dataset's name (from the first source) for titles. */
  dataset: string;
  options: BenchOptions;
  results: BenchSourceResult[];
  /** True when the run was cancelled: results hold the sources finished before. */
  cancelled: boolean;
}

export interface BenchRunSummary {
  runId: string;
  startedAt: number;
  dataset: string;
  table: string;
  reader: BenchReader;
  cold: boolean;
  sources: { uri: string; source: BenchSourceKind; mibPerSecond: number | null }[];
  cancelled: boolean;
}

export type BenchExportFormat = "csv" | "json";

export interface BenchApi {
  /**
   * Starts a benchmark job (kind "bench", result BenchRun, progress in batches). Options are checked here
   * (BENCH_OPTIONS_INVALID names the field). Dataloader previews are paused while it measures. The run is saved in
   * the history when it ends (cancelled runs too, marked). `runId`: the id the run is saved under (main always
   * sends it).
   */
  start(req: { options: BenchOptions }): Promise<Result<{ jobId: string; runId?: string }>>;
  /** Saved runs, newest first. */
  history(req: Empty): Promise<Result<BenchRunSummary[]>>;
  get(req: { runId: string }): Promise<Result<BenchRun>>;
  remove(req: { runId: string }): Promise<Result<null>>;
  /** Writes a run as CSV (one row per source and repeat) or JSON (the CLI's `{"runs": [...]}` document). */
  export(req: { runId: string; format: BenchExportFormat; path: string; overwrite?: boolean }): Promise<Result<{ path: string; bytes: number }>>;
}
