/** `slaf-workbench bench --format table`: one line per source (the median of its repeats), then errors and notes. */
import type { BenchRun } from "../../shared/ipc/contract";

const MIB = 1024 * 1024;

function f(n: number, digits = 0): string {
  return n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function describe(run: BenchRun): string {
  const o = run.options;
  const amount = [o.batches !== null ? `${f(o.batches)} batches` : null, o.seconds !== null ? `${o.seconds} s` : null].filter(Boolean).join(" or ");
  const unit = o.reader === "scan" ? "rows" : "cells";
  return [
    `Benchmark of ${run.dataset}: ${o.table} table, ${o.reader} reader${o.columns ? ` (${o.columns.join(", ")})` : ""}, ${amount} of ${f(o.batchSize)} ${unit},`,
    `${o.cold ? "cold (cache bypassed)" : "warm"}, ${o.concurrency} ${o.reader === "scan" ? "scanner" : "worker"}${o.concurrency === 1 ? "" : "s"}, ${o.repeat} repeat${o.repeat === 1 ? "" : "s"}${run.cancelled ? "; CANCELLED" : ""}`,
  ].join(" ");
}

export function renderBenchTable(run: BenchRun): string {
  const header = ["source", "uri", "MiB/s", "rows/s", "cells/s", "first batch ms", "batch ms p50/p95", "upstream req", "upstream MiB", "cache hits", "spread"];
  const rows = run.results.map((s) => {
    const m = s.median;
    if (s.error && s.repeats.length === 0) return [s.source, s.uri, "failed", "", "", "", "", "", "", "", ""];
    return [
      s.source,
      s.uri,
      f(m.mibPerSecond, 2),
      f(m.rowsPerSecond),
      f(m.cellsPerSecond),
      f(m.ttfbMs, 1),
      `${f(m.batchMs.p50, 2)} / ${f(m.batchMs.p95, 2)}`,
      f(m.upstreamRequests),
      f(m.upstreamBytes / MIB, 1),
      f(m.cacheHits),
      s.repeats.length > 1 ? `${f(s.spread * 100, 1)} %` : "",
    ];
  });
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (r: string[]) =>
    r
      .map((cell, c) => (c < 2 ? cell.padEnd(widths[c]) : cell.padStart(widths[c])))
      .join("  ")
      .trimEnd();
  const out = [describe(run), "", line(header), ...rows.map(line)];
  for (const s of run.results) {
    if (s.error) out.push(`${s.uri}: ${s.error.code}: ${s.error.message}`);
    for (const note of s.notes ?? []) out.push(`${s.uri}: ${note}`);
    if (s.revision && s.source === "hf") out.push(`${s.uri}: read at commit ${s.revision}`);
  }
  return `${out.join("\n")}\n`;
}
