/**
 * The benchmark panel's views of a run, pure: short names for its sources, the rows of its results table (sources
 * side by side), the bars of its MiB/s chart, two runs compared, and the options checked before a run starts.
 */
import type { BenchMeasurement, BenchOptions, BenchRun, BenchSourceKind, BenchSourceResult } from "../../shared/ipc/contract";
import { formatBytes, formatCount } from "../../shared/format";
import { baseName } from "./paths";

export const MAX_SOURCES = 8;

export function sourceKindOf(uri: string): BenchSourceKind {
  if (/^hf:\/\//i.test(uri)) return "hf";
  if (/^s3:\/\//i.test(uri)) return "s3";
  return "local";
}

const KIND_NAMES: Record<BenchSourceKind, string> = { local: "Local", s3: "S3", hf: "Hugging Face" };

export function kindName(kind: BenchSourceKind): string {
  return KIND_NAMES[kind];
}

/** "Hugging Face · acme/pbmc", "S3 · bucket", "Local · pbmc3k.slaf": where a source is, short enough for a chart. */
export function sourceLabel(uri: string): string {
  const kind = sourceKindOf(uri);
  if (kind === "hf") {
    const [owner = "", repo = ""] = uri.replace(/^hf:\/\/datasets\//i, "").split("/");
    return `${KIND_NAMES.hf} · ${owner}/${repo.split("@")[0]}`;
  }
  if (kind === "s3") return `${KIND_NAMES.s3} · ${uri.replace(/^s3:\/\//i, "").split("/")[0]}`;
  return `${KIND_NAMES.local} · ${baseName(uri.replace(/[/\\]+$/, "")) || uri}`;
}

/** Labels for a run's sources, made unique ("… (2)") when two sources would read the same. */
export function sourceLabels(uris: string[]): string[] {
  const seen: Record<string, number> = {};
  return uris.map((uri) => {
    const label = sourceLabel(uri);
    const n = (seen[label] = (seen[label] ?? 0) + 1);
    return n === 1 ? label : `${label} (${n})`;
  });
}

/** A run's name for files: `bench-pbmc3k-2026-11-26-0148`. */
export function runFileStem(run: Pick<BenchRun, "dataset" | "startedAt">): string {
  const d = new Date(run.startedAt);
  const pad = (n: number) => String(n).padStart(2, "0");
  const stamp = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}-${pad(d.getHours())}${pad(d.getMinutes())}`;
  const name = run.dataset.replace(/[^A-Za-z0-9._-]+/g, "-").replace(/^-+|-+$/g, "") || "dataset";
  return `bench-${name}-${stamp}`;
}

/** A run's date and time as the panel shows it. */
export function formatWhen(ms: number): string {
  return new Date(ms).toLocaleString();
}

export function formatMiBs(x: number | null | undefined): string {
  return x === null || x === undefined || !Number.isFinite(x) ? "—" : x.toFixed(2);
}

function formatRate(x: number): string {
  return Number.isFinite(x) ? formatCount(Math.round(x)) : "—";
}

function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return "—";
  return ms < 10 ? `${ms.toFixed(2)} ms` : ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

export function formatSpread(r: Pick<BenchSourceResult, "spread" | "repeats">): string {
  if (r.repeats.length < 2) return "one run";
  return `${(r.spread * 100).toFixed(1)}% over ${r.repeats.length} runs`;
}

function cacheHits(m: BenchMeasurement): string {
  const asked = m.cacheHits + m.cacheMisses;
  if (asked === 0) return "—";
  return `${formatCount(m.cacheHits)} of ${formatCount(asked)} (${Math.round((m.cacheHits / asked) * 100)}%)`;
}

function rateLimit(m: BenchMeasurement, kind: BenchSourceKind): string {
  if (kind !== "hf") return "—";
  const buckets = Object.entries(m.rateLimitUsed ?? {});
  if (buckets.length === 0) return "not reported";
  return buckets.map(([name, b]) => `${name} ${formatCount(b.used)}${b.quota === null ? "" : ` / ${formatCount(b.quota)}`}`).join(" · ");
}

function byKind(kinds: Record<string, number> | undefined): string {
  const parts = Object.entries(kinds ?? {}).filter(([, n]) => n > 0);
  return parts.length ? parts.map(([k, n]) => `${k} ${formatCount(n)}`).join(" · ") : "—";
}

export interface ResultRow {
  key: string;
  label: string;
  /** What the metric means, for a tooltip. */
  help: string;
  /** One value per source, in the run's order; null where the source failed. */
  values: (string | null)[];
}

type Metric = { key: string; label: string; help: string; value: (m: BenchMeasurement, r: BenchSourceResult) => string };

const METRICS: Metric[] = [
  { key: "mib", label: "MiB/s", help: "Arrow bytes delivered per second (median over the repeats)", value: (m) => formatMiBs(m.mibPerSecond) },
  { key: "spread", label: "Spread", help: "How much MiB/s varied over the repeats: (max − min) / median", value: (_m, r) => formatSpread(r) },
  { key: "rows-per-s", label: "Rows/s", help: "Table rows delivered per second", value: (m) => formatRate(m.rowsPerSecond) },
  { key: "cells-per-s", label: "Cells/s", help: "Cells delivered per second (expression: distinct cells)", value: (m) => formatRate(m.cellsPerSecond) },
  {
    key: "open",
    label: "Open",
    help: "Opening the dataset's tables before the read (not counted in the read's time)",
    value: (m) => (m.openMs === undefined ? "—" : formatMs(m.openMs)),
  },
  { key: "ttfb", label: "Time to first batch", help: "From the start of the read to the first batch in hand", value: (m) => formatMs(m.ttfbMs) },
  { key: "p50", label: "Batch latency p50", help: "Median time between batches", value: (m) => formatMs(m.batchMs.p50) },
  { key: "p95", label: "Batch latency p95", help: "95th percentile of the time between batches", value: (m) => formatMs(m.batchMs.p95) },
  { key: "rows", label: "Rows", help: "Rows read", value: (m) => formatCount(m.rows) },
  { key: "bytes", label: "Data read", help: "Arrow bytes delivered to the reader (decoded column data)", value: (m) => formatBytes(m.bytes) },
  { key: "batches", label: "Batches", help: "Batches read", value: (m) => formatCount(m.batches) },
  { key: "seconds", label: "Read time", help: "Time the read took, from its start to its last batch", value: (m) => formatMs(m.seconds * 1000) },
  {
    key: "upstream-requests",
    label: "Upstream requests",
    help: "Requests the gateway sent to the source during the read (0 for a local folder)",
    value: (m, r) => (r.source === "local" ? "—" : formatCount(m.upstreamRequests)),
  },
  {
    key: "upstream-bytes",
    label: "Upstream bytes",
    help: "Body bytes the gateway downloaded from the source during the read",
    value: (m, r) => (r.source === "local" ? "—" : formatBytes(m.upstreamBytes)),
  },
  {
    key: "upstream-kinds",
    label: "Requests by kind",
    help: "Upstream requests by kind, open included (Hub: api, tree, resolve, cdn; S3: list, get, head)",
    value: (m, r) => (r.source === "local" ? "—" : byKind(m.upstreamByKind)),
  },
  {
    key: "served-bytes",
    label: "Served to the reader",
    help: "Body bytes the local gateway served to Lance, open included: from the source or from the cache",
    value: (m, r) => (r.source === "local" || m.servedBytes === undefined ? "—" : formatBytes(m.servedBytes)),
  },
  { key: "cache-hits", label: "Cache hits", help: "Reads the gateway answered from its disk cache, of all reads it served", value: (m) => cacheHits(m) },
  {
    key: "rate-limit",
    label: "Hub rate-limit used",
    help: "Hugging Face only: requests counted against the Hub's budget",
    value: (m, r) => rateLimit(m, r.source),
  },
];

/** The results table: one row per metric, one value per source (medians over the repeats). */
export function resultRows(run: BenchRun): ResultRow[] {
  return METRICS.map((metric) => ({
    key: metric.key,
    label: metric.label,
    help: metric.help,
    values: run.results.map((r) => (r.error ? null : metric.value(r.median, r))),
  }));
}

/** The source's read was stopped by a cancel: its figures cover what it read before. */
export function isPartial(r: BenchSourceResult): boolean {
  return r.median.cancelled === true;
}

/** Main's notes on reading a source's figures ("cold has no effect on a local folder"), labelled by source. */
export function sourceNotes(run: BenchRun): { label: string; note: string }[] {
  const labels = sourceLabels(run.results.map((r) => r.uri));
  return run.results.flatMap((r, i) => {
    return (r.notes ?? []).map((note) => ({ label: labels[i], note }));
  });
}

/** Sources of a run that have no result (a cancelled run stops before them). */
export function notMeasured(run: BenchRun): string[] {
  return run.options.uris.filter((uri) => !run.results.some((r) => r.uri === uri));
}

export interface ChartBar {
  label: string;
  uri: string;
  source: BenchSourceKind;
  mib: number;
}

/** One bar per source that was measured (failed sources have none), fastest first. */
export function chartBars(run: BenchRun): ChartBar[] {
  const labels = sourceLabels(run.results.map((r) => r.uri));
  return run.results
    .map((r, i) => ({ label: labels[i], uri: r.uri, source: r.source, mib: r.median.mibPerSecond, failed: !!r.error }))
    .filter((b) => !b.failed && Number.isFinite(b.mib))
    .map(({ label, uri, source, mib }) => ({ label, uri, source, mib }))
    .sort((a, b) => b.mib - a.mib);
}

export interface CompareRow {
  uri: string;
  label: string;
  a: number | null;
  b: number | null;
  /** b / a, null when either is missing. */
  ratio: number | null;
}

function mibOf(run: BenchRun, uri: string): number | null {
  const r = run.results.find((x) => x.uri === uri);
  return r && !r.error ? r.median.mibPerSecond : null;
}

/** Two runs' MiB/s per source, side by side: the sources of the first run, then those only the second has. */
export function compareRuns(a: BenchRun, b: BenchRun): CompareRow[] {
  const uris = [...new Set([...a.results.map((r) => r.uri), ...b.results.map((r) => r.uri)])];
  const labels = sourceLabels(uris);
  return uris.map((uri, i) => {
    const x = mibOf(a, uri);
    const y = mibOf(b, uri);
    return { uri, label: labels[i], a: x, b: y, ratio: x !== null && y !== null && x > 0 ? y / x : null };
  });
}

/** "cells · scan · 256 rows × 20,000 batches · cold · ×1": what a run measured, in one line. */
export function describeOptions(o: Omit<BenchOptions, "uris">): string {
  const per = o.reader === "scan" ? "rows" : "cells";
  const limit = [o.batches !== null ? `${formatCount(o.batches)} batches` : null, o.seconds !== null ? `${o.seconds} s` : null].filter(Boolean).join(" or ");
  return [
    o.table,
    o.reader,
    `${formatCount(o.batchSize)} ${per} × ${limit || "the whole table"}`,
    o.columns?.length ? `columns ${o.columns.join(", ")}` : null,
    o.cold ? "cold" : "warm",
    o.concurrency > 1 ? `${o.concurrency} readers` : null,
    o.repeat > 1 ? `repeat ${o.repeat}` : null,
  ]
    .filter(Boolean)
    .join(" · ");
}

function positiveInt(n: unknown, max: number): boolean {
  return typeof n === "number" && Number.isInteger(n) && n >= 1 && n <= max;
}

/** What is wrong with the options before they go to main (which checks them again), naming the field; null when fine. */
export function optionsProblem(o: BenchOptions): string | null {
  if (o.uris.length === 0) return "Add at least one source";
  if (o.uris.length > MAX_SOURCES) return `At most ${MAX_SOURCES} sources per run`;
  if (!positiveInt(o.batchSize, 1_000_000)) return "Batch size: a whole number from 1 to 1,000,000";
  if (o.batches === null && o.seconds === null) return "Set a number of batches, a number of seconds, or both";
  if (o.batches !== null && !positiveInt(o.batches, 100_000_000)) return "Batches: a whole number from 1 to 100,000,000";
  if (o.seconds !== null && !(typeof o.seconds === "number" && o.seconds >= 0.1 && o.seconds <= 24 * 3600)) return "Seconds: from 0.1 to 86,400";
  if (!positiveInt(o.concurrency, 64)) return "Concurrency: a whole number from 1 to 64";
  if (!positiveInt(o.repeat, 100)) return "Repeat: a whole number from 1 to 100";
  if (o.columns !== null && o.reader !== "scan") return "Columns apply to the plain scan reader only";
  return null;
}

/** "a, b ,c" → ["a", "b", "c"]; empty → null (every column). */
export function parseColumns(text: string): string[] | null {
  const names = text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  return names.length ? [...new Set(names)] : null;
}
