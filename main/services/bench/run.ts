/**
 * A benchmark run: every location measured `repeat` times, one after the other (so the gateway's counters
 * between two marks belong to one source), each source's median and spread. A source that fails gets its named
 * error and the others still run; a cancelled run keeps what was measured, the read under way included.
 * Dataloader previews are held during a run (the service does it); other reads of this process through the
 * gateway meanwhile (a page's query) would count to the source being measured.
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

interface SourceState {
  uri: string;
  kind: BenchSourceKind;
  /** What each measurement opens (an hf:// location pinned to its commit), once known. */
  target: string | null;
  revision: string | null;
  repeats: BenchMeasurement[];
  notes: string[];
  error: AppError | null;
}

/**
 * Measures every source once per round, `repeat` rounds (A B C, A B C, ...), so a machine that gets busier
 * meanwhile weighs on every source alike; one measurement at a time.
 */
export async function runSources(o: BenchOptions, deps: RunDeps, ctx: RunContext): Promise<{ results: BenchSourceResult[]; cancelled: boolean }> {
  const total = o.batches !== null ? o.batches * o.repeat * o.uris.length : null;
  const states: SourceState[] = o.uris.map((uri) => ({ uri, kind: sourceKind(uri), target: null, revision: null, repeats: [], notes: [], error: null }));
  let doneBefore = 0;
  for (let r = 0; r < o.repeat; r++) {
    for (const [i, s] of states.entries()) {
      if (ctx.signal.aborted || s.error) continue;
      const message = `${s.uri}: ${o.repeat > 1 ? `repeat ${r + 1} of ${o.repeat}, ` : ""}source ${i + 1} of ${o.uris.length}`;
      ctx.progress(doneBefore, total, message);
      try {
        if (s.target === null) {
          if (s.kind === "local" && o.cold)
            s.notes.push("a local folder has no gateway cache: cold reads it as it is (the operating system's page cache may still hold its files)");
          if (s.kind !== "local" && o.cold && deps.isOffline())
            fail("BENCH_OPTIONS_INVALID", `A cold read of ${s.uri} needs the network, and the app is offline`);
          s.target = await pinnedUri(s.uri, o.cold, deps);
        }
        const mctx: MeasureContext = {
          access: deps,
          workerFile: deps.workerFile,
          signal: ctx.signal,
          onBatch: (n) => ctx.progress(doneBefore + n, total, message),
        };
        const got = await measureOnce(s.target, o, mctx);
        doneBefore += got.measurement.batches;
        s.revision ??= got.revision;
        s.notes.push(...got.notes);
        const fetched = DATA_REQUESTS.reduce((n, k) => n + (got.measurement.upstreamByKind?.[k] ?? 0), 0);
        if (s.kind !== "local" && !o.cold && fetched > 0)
          s.notes.push("a warm read still fetched data upstream (the cache did not hold it all yet): repeat the run to measure the cache");
        if (got.measurement.batches > 0 || !got.measurement.cancelled) s.repeats.push(got.measurement);
      } catch (e) {
        // A read cancelled under way may fail however Lance stops; what was measured before stays.
        if (!ctx.signal.aborted) s.error = toAppError(e);
      }
    }
  }
  // A cancelled run keeps the sources it measured; a source never reached is left out.
  const reached = states.filter((s) => !ctx.signal.aborted || s.repeats.length > 0);
  return {
    results: reached.map((s) => sourceResult(s.uri, s.kind, s.revision, s.repeats, s.notes, s.error ?? undefined)),
    cancelled: ctx.signal.aborted,
  };
}
