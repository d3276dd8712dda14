/**
 * A benchmark run: every location measured `repeat` times, one after the other (so the gateway's counters
 * between two marks belong to one source), each source's median and spread. A source that fails gets its named
 * error and the others still run; a cancelled run keeps what was measured, the read under way included.
 */
import type { BenchMeasurement, BenchOptions, BenchSourceKind, BenchSourceResult } from "../../../shared/ipc/contract";
import type { AppError } from "../../../shared/result";
import { fail, toAppError } from "../errors";
import { parseHfUri } from "../gateway/index";
import { SHA } from "../gateway/hub-routes";
import { measureOnce, zeroMeasurement, type MeasureContext } from "./measure";
import { sourceKind, type SourceAccess } from "./open-source";

export interface RunDeps extends SourceAccess {
  workerFile: string;
  /** Whether remote sources are read from the cache alone. */
  isOffline: () => boolean;
}

export interface RunContext {
  signal: AbortSignal;
  /** Batches read so far over the run, of `total` (null when the run is bounded by time). */
  progress(done: number, total: number | null, message: string): void;
}

/** Which measurements fetched data upstream (Hub resolves and CDN reads, S3 GETs), as opposed to listings. */
const DATA_REQUESTS = ["resolve", "cdn", "get"];

/** The repeat with the median rate (the lower middle of an even count), and the relative spread of the rates. */
export function medianOf(repeats: BenchMeasurement[]): { median: BenchMeasurement; spread: number } {
  if (repeats.length === 0) return { median: zeroMeasurement(), spread: 0 };
  const sorted = [...repeats].sort((a, b) => a.mibPerSecond - b.mibPerSecond);
  const median = sorted[Math.floor((sorted.length - 1) / 2)];
  const range = sorted[sorted.length - 1].mibPerSecond - sorted[0].mibPerSecond;
  return { median, spread: median.mibPerSecond > 0 ? range / median.mibPerSecond : 0 };
}

export function sourceResult(
  uri: string,
  source: BenchSourceKind,
  revision: string | null,
  repeats: BenchMeasurement[],
  notes: string[],
  error?: AppError,
): BenchSourceResult {
  const { median, spread } = medianOf(repeats);
  return {
    uri,
    source,
    revision,
    median,
    repeats,
    spread,
    ...(error ? { error: { code: error.code, message: error.message } } : {}),
    ...(notes.length ? { notes: [...new Set(notes)] } : {}),
  };
}

/** An hf:// location with its revision resolved to a commit once, so every repeat reads the same one. */
async function pinnedUri(uri: string, cold: boolean, deps: RunDeps): Promise<string> {
  if (sourceKind(uri) !== "hf" || SHA.test(parseHfUri(uri).revision ?? "")) return uri;
  const gateway = await deps.gateway();
  // A cold run resolves through a throwaway cold scope: not even the revision touches the user's cache.
  const scope = cold ? await gateway.coldScope(deps.scratchDir) : null;
  try {
    const pinned = await (scope ?? gateway).pin(uri);
    const { path } = parseHfUri(uri);
    return `hf://datasets/${pinned.repo}@${pinned.sha}${path ? `/${path}` : ""}`;
  } finally {
    await scope?.close();
  }
}

export async function runSources(o: BenchOptions, deps: RunDeps, ctx: RunContext): Promise<{ results: BenchSourceResult[]; cancelled: boolean }> {
  const results: BenchSourceResult[] = [];
  const total = o.batches !== null ? o.batches * o.repeat * o.uris.length : null;
  let doneBefore = 0;
  for (const [i, uri] of o.uris.entries()) {
    if (ctx.signal.aborted) break;
    const kind = sourceKind(uri);
    const repeats: BenchMeasurement[] = [];
    const notes: string[] = [];
    let revision: string | null = null;
    if (kind === "local" && o.cold)
      notes.push("a local folder has no gateway cache: cold reads it as it is (the operating system's page cache may still hold its files)");
    try {
      if (kind !== "local" && o.cold && deps.isOffline()) fail("BENCH_OPTIONS_INVALID", `A cold read of ${uri} needs the network, and the app is offline`);
      const target = await pinnedUri(uri, o.cold, deps);
      for (let r = 0; r < o.repeat && !ctx.signal.aborted; r++) {
        const message = `${uri}: ${o.repeat > 1 ? `repeat ${r + 1} of ${o.repeat}, ` : ""}source ${i + 1} of ${o.uris.length}`;
        ctx.progress(doneBefore, total, message);
        const mctx: MeasureContext = {
          access: deps,
          workerFile: deps.workerFile,
          signal: ctx.signal,
          onBatch: (n) => ctx.progress(doneBefore + n, total, message),
        };
        const got = await measureOnce(target, o, mctx);
        doneBefore += got.measurement.batches;
        revision ??= got.revision;
        notes.push(...got.notes);
        const fetched = DATA_REQUESTS.reduce((n, k) => n + (got.measurement.upstreamByKind?.[k] ?? 0), 0);
        if (kind !== "local" && !o.cold && fetched > 0)
          notes.push("a warm read still fetched data upstream (the cache did not hold it all yet): repeat the run to measure the cache");
        if (got.measurement.batches > 0 || !got.measurement.cancelled) repeats.push(got.measurement);
      }
      if (repeats.length > 0 || !ctx.signal.aborted) results.push(sourceResult(uri, kind, revision, repeats, notes));
    } catch (e) {
      // A read cancelled under way may fail however Lance stops; what was measured before stays.
      if (!ctx.signal.aborted) results.push(sourceResult(uri, kind, revision, repeats, notes, toAppError(e)));
      else if (repeats.length > 0) results.push(sourceResult(uri, kind, revision, repeats, notes));
    }
  }
  return { results, cancelled: ctx.signal.aborted };
}
