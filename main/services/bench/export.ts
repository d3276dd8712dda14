/**
 * A run as documents: the CLI's JSON (`{"runs": [...]}`, one entry per source with its median, the keys of the
 * issue first, then the rest) and CSV (a header, then one row per source and repeat; a failed source gets one
 * row with its error).
 */
import type { BenchMeasurement, BenchRun, BenchSourceResult } from "../../../shared/ipc/contract";

export interface BenchJsonRun {
  uri: string;
  source: string;
  table: string;
  rows: number;
  bytes: number;
  seconds: number;
  mib_per_s: number;
  rows_per_s: number;
  ttfb_ms: number;
  upstream_requests: number;
  cache_hits: number;
  [more: string]: unknown;
}

export interface BenchJsonDocument {
  runs: BenchJsonRun[];
  [more: string]: unknown;
}

function measurementKeys(m: BenchMeasurement) {
  return {
    cells: m.cells,
    batches: m.batches,
    cells_per_s: m.cellsPerSecond,
    batch_ms_p50: m.batchMs.p50,
    batch_ms_p95: m.batchMs.p95,
    open_ms: m.openMs ?? null,
    upstream_bytes: m.upstreamBytes,
    served_bytes: m.servedBytes ?? null,
    cache_misses: m.cacheMisses,
    upstream_by_kind: m.upstreamByKind ?? null,
    rate_limit_used: m.rateLimitUsed,
  };
}

function jsonRun(run: BenchRun, s: BenchSourceResult): BenchJsonRun {
  const m = s.median;
  const o = run.options;
  return {
    uri: s.uri,
    source: s.source,
    table: o.table,
    rows: m.rows,
    bytes: m.bytes,
    seconds: m.seconds,
    mib_per_s: m.mibPerSecond,
    rows_per_s: m.rowsPerSecond,
    ttfb_ms: m.ttfbMs,
    upstream_requests: m.upstreamRequests,
    cache_hits: m.cacheHits,
    revision: s.revision,
    reader: o.reader,
    cold: o.cold,
    batch_size: o.batchSize,
    concurrency: o.concurrency,
    ...measurementKeys(m),
    repeats: s.repeats.length,
    spread: s.spread,
    repeat_mib_per_s: s.repeats.map((r) => r.mibPerSecond),
    ...(s.error ? { error: s.error } : {}),
    ...(s.notes?.length ? { notes: s.notes } : {}),
  };
}

/** The document `slaf-workbench bench --format json` prints and the JSON export writes. */
export function benchDocument(run: BenchRun): BenchJsonDocument {
  return {
    runs: run.results.map((s) => jsonRun(run, s)),
    run_id: run.runId,
    dataset: run.dataset,
    started_at: new Date(run.startedAt).toISOString(),
    ended_at: new Date(run.endedAt).toISOString(),
    cancelled: run.cancelled,
    app_version: run.appVersion,
    machine: run.machine,
    options: run.options,
  };
}

export const CSV_COLUMNS = [
  "run_id",
  "dataset",
  "uri",
  "source",
  "revision",
  "table",
  "reader",
  "cold",
  "batch_size",
  "concurrency",
  "repeat",
  "rows",
  "bytes",
  "cells",
  "batches",
  "seconds",
  "mib_per_s",
  "rows_per_s",
  "cells_per_s",
  "ttfb_ms",
  "batch_ms_p50",
  "batch_ms_p95",
  "open_ms",
  "upstream_requests",
  "upstream_bytes",
  "served_bytes",
  "cache_hits",
  "cache_misses",
  "error",
] as const;

function csvField(v: unknown): string {
  if (v === null || v === undefined) return "";
  const text = typeof v === "string" ? v : String(v);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function benchCsv(run: BenchRun): string {
  const o = run.options;
  const lines = [CSV_COLUMNS.join(",")];
  for (const s of run.results) {
    const common = {
      run_id: run.runId,
      dataset: run.dataset,
      uri: s.uri,
      source: s.source,
      revision: s.revision,
      table: o.table,
      reader: o.reader,
      cold: o.cold,
    };
    const settings = { batch_size: o.batchSize, concurrency: o.concurrency };
    const error = s.error ? `${s.error.code}: ${s.error.message}` : null;
    const rows: Record<string, unknown>[] = s.repeats.map((m, i) => ({
      ...common,
      ...settings,
      repeat: i + 1,
      rows: m.rows,
      bytes: m.bytes,
      cells: m.cells,
      batches: m.batches,
      seconds: m.seconds,
      mib_per_s: m.mibPerSecond,
      rows_per_s: m.rowsPerSecond,
      cells_per_s: m.cellsPerSecond,
      ttfb_ms: m.ttfbMs,
      batch_ms_p50: m.batchMs.p50,
      batch_ms_p95: m.batchMs.p95,
      open_ms: m.openMs,
      upstream_requests: m.upstreamRequests,
      upstream_bytes: m.upstreamBytes,
      served_bytes: m.servedBytes,
      cache_hits: m.cacheHits,
      cache_misses: m.cacheMisses,
      error: i === s.repeats.length - 1 ? error : null,
    }));
    if (rows.length === 0) rows.push({ ...common, ...settings, error });
    for (const r of rows) lines.push(CSV_COLUMNS.map((c) => csvField(r[c])).join(","));
  }
  return `${lines.join("\n")}\n`;
}
