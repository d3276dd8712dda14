/**
 * One measurement of one source: open it (its own connections; a cold scope when cold), read with the chosen
 * reader until the batches or the seconds are done, close it, and take the gateway's counters over all of that.
 */
import type { BenchMeasurement, BenchOptions } from "../../../shared/ipc/contract";
import { AppFailure } from "../../../shared/result";
import type { Gateway } from "../gateway/index";
import { counterDelta, markCounters } from "./counter-marks";
import { readLoader } from "./loader-reader";
import { openSource, sourceKind, type SourceAccess } from "./open-source";
import { readScan } from "./scan-reader";
import { CANCELLED, Tally, unlessCancelled } from "./tally";

const MIB = 1024 * 1024;

export interface MeasureContext {
  access: SourceAccess;
  /** The loader's worker bundle (dataloader readers). */
  workerFile: string;
  signal?: AbortSignal;
  /** Batches read so far in this measurement. */
  onBatch?: (batches: number) => void;
}

export interface Measured {
  measurement: BenchMeasurement;
  /** hf: commit; s3: ETag of config.json; local: null. */
  revision: string | null;
  notes: string[];
}

export function zeroMeasurement(): BenchMeasurement {
  return {
    rows: 0,
    bytes: 0,
    cells: 0,
    batches: 0,
    seconds: 0,
    mibPerSecond: 0,
    rowsPerSecond: 0,
    cellsPerSecond: 0,
    ttfbMs: 0,
    batchMs: { p50: 0, p95: 0 },
    upstreamRequests: 0,
    upstreamBytes: 0,
    cacheHits: 0,
    cacheMisses: 0,
    rateLimitUsed: null,
    servedBytes: 0,
    upstreamByKind: {},
    openMs: 0,
  };
}

const rate = (n: number, seconds: number): number => (seconds > 0 ? n / seconds : 0);

export async function measureOnce(uri: string, o: BenchOptions, ctx: MeasureContext): Promise<Measured> {
  const kind = sourceKind(uri);
  const gateway: Gateway | null = kind === "local" ? null : await ctx.access.gateway();
  const tables = o.reader === "scan" ? [o.table] : ["expression"];
  const optional = o.reader === "scan" ? [] : ["cells"];
  const before = markCounters(gateway, kind);
  const opening = performance.now();
  // An open that stalls does not hold a cancel: it is closed when it ends.
  const source = await unlessCancelled(openSource(uri, tables, optional, o.cold, ctx.access, ctx.signal), ctx.signal, (s) => s.close());
  if (source === CANCELLED) throw new AppFailure("BENCH_CANCELLED", `Cancelled while ${uri} was opening`);
  const tally = new Tally({ batches: o.batches, seconds: o.seconds, signal: ctx.signal, onBatch: ctx.onBatch });
  let notes: string[];
  let openMs: number;
  try {
    openMs = performance.now() - opening;
    notes = o.reader === "scan" ? await readScan(source.ds.tables.get(o.table)!, o, tally) : await readLoader(source.ds, o, tally, ctx.workerFile, ctx.signal);
  } finally {
    tally.close();
    await source.close();
  }
  const counted = counterDelta(before, markCounters(gateway, kind), kind);
  const t = tally.result();
  const measurement: BenchMeasurement = {
    rows: t.rows,
    bytes: t.bytes,
    cells: t.cells,
    batches: t.batches,
    seconds: t.seconds,
    mibPerSecond: rate(t.bytes / MIB, t.seconds),
    rowsPerSecond: rate(t.rows, t.seconds),
    cellsPerSecond: rate(t.cells, t.seconds),
    ttfbMs: t.ttfbMs,
    batchMs: t.batchMs,
    ...counted,
    openMs,
    ...(t.cancelled ? { cancelled: true } : {}),
  };
  return { measurement, revision: source.revision, notes };
}
