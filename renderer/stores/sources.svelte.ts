/**
 * Remote sources as the status bar shows them: the Offline switch and the gateway's counters. Counters are polled
 * only while something can change them (a remote dataset open, a query running): `follow(true)` starts polling,
 * `follow(false)` stops it after one last read, so the numbers shown are the final ones.
 */
import type { Client, DatasetSummary, JobEvent, SourceCounters, SourcesStatus } from "../../shared/ipc/contract";
import type { AppError } from "../../shared/result";

export const POLL_MS = 2000;

/** Counters can move while a remote dataset is open or a query or pin runs (it may read a remote dataset of another page). */
export function countersMayChange(dataset: Pick<DatasetSummary, "source"> | null, running: Pick<JobEvent, "kind">[]): boolean {
  return (dataset !== null && dataset.source !== "local") || running.some((j) => j.kind === "query" || j.kind === "pin");
}

export interface RateBudget {
  /** Rate-limit bucket, e.g. "resolvers" or "api". */
  bucket: string;
  remaining: number;
  quota: number | null;
  /** Seconds until the window resets, from the time the status was read. */
  resetsInSeconds: number;
}

/** One line of numbers for a source (or all sources together). */
export interface CounterSummary {
  requests: number;
  bytesDown: number;
  /** Reads answered from the disk cache, as a fraction of all reads; null before the first read. */
  hitRatio: number | null;
  p50: number | null;
  p95: number | null;
  retries: number;
  rateLimited: number;
  waitedMs: number;
  /** The Hub's rate-limit buckets, the tightest (least left of its quota) first. */
  budgets: RateBudget[];
}

/**
 * A source's counters with every field present. Sources report what they have: S3 has no rate-limit buckets and
 * may name several endpoints (`endpoints`) and count SlowDown answers (`slowDowns`) rather than 429s.
 */
export function completeCounters(raw: SourceCounters): SourceCounters {
  const r = raw as Partial<SourceCounters> & { source: SourceCounters["source"]; endpoints?: string[]; slowDowns?: number };
  return {
    source: r.source,
    endpoint: r.endpoint ?? r.endpoints?.join(", ") ?? "",
    requests: r.requests ?? {},
    bytesDown: r.bytesDown ?? 0,
    bytesServed: r.bytesServed ?? 0,
    latencyMs: { p50: r.latencyMs?.p50 ?? null, p95: r.latencyMs?.p95 ?? null },
    cache: { hits: r.cache?.hits ?? 0, misses: r.cache?.misses ?? 0, hitBytes: r.cache?.hitBytes ?? 0 },
    retries: r.retries ?? 0,
    rateLimited: r.rateLimited ?? r.slowDowns ?? 0,
    waitedMs: r.waitedMs ?? 0,
    rateLimit: r.rateLimit ?? {},
  };
}

/** A source that has sent or answered anything since the gateway started (an unused one is left out of the bar). */
export function sourceUsed(c: SourceCounters): boolean {
  return Object.values(c.requests).some((n) => n > 0) || c.cache.hits + c.cache.misses > 0;
}

function budgetsOf(c: SourceCounters, now: number): RateBudget[] {
  return Object.entries(c.rateLimit)
    .map(([bucket, b]) => ({ bucket, remaining: b.remaining, quota: b.quota, resetsInSeconds: Math.max(0, Math.ceil((b.resetAt - now) / 1000)) }))
    .sort((a, b) => a.remaining / (a.quota ?? Math.max(a.remaining, 1)) - b.remaining / (b.quota ?? Math.max(b.remaining, 1)));
}

export function summarizeSource(c: SourceCounters, now: number): CounterSummary {
  const reads = c.cache.hits + c.cache.misses;
  return {
    requests: Object.values(c.requests).reduce((s, n) => s + n, 0),
    bytesDown: c.bytesDown,
    hitRatio: reads ? c.cache.hits / reads : null,
    p50: c.latencyMs.p50,
    p95: c.latencyMs.p95,
    retries: c.retries,
    rateLimited: c.rateLimited,
    waitedMs: c.waitedMs,
    budgets: budgetsOf(c, now),
  };
}

/** All sources together: sums, the overall hit ratio, and the slowest source's latencies (percentiles do not add). */
export function summarizeAll(counters: SourceCounters[], now: number): CounterSummary {
  const each = counters.map((c) => summarizeSource(c, now));
  const hits = counters.reduce((s, c) => s + c.cache.hits, 0);
  const reads = counters.reduce((s, c) => s + c.cache.hits + c.cache.misses, 0);
  const max = (xs: (number | null)[]) => xs.reduce<number | null>((m, x) => (x === null ? m : m === null ? x : Math.max(m, x)), null);
  return {
    requests: each.reduce((s, c) => s + c.requests, 0),
    bytesDown: each.reduce((s, c) => s + c.bytesDown, 0),
    hitRatio: reads ? hits / reads : null,
    p50: max(each.map((c) => c.p50)),
    p95: max(each.map((c) => c.p95)),
    retries: each.reduce((s, c) => s + c.retries, 0),
    rateLimited: each.reduce((s, c) => s + c.rateLimited, 0),
    waitedMs: each.reduce((s, c) => s + c.waitedMs, 0),
    budgets: each.flatMap((c) => c.budgets),
  };
}

export class Sources {
  status = $state<SourcesStatus | null>(null);
  /** When `status` was read (rate-limit resets are counted from it). */
  readAt = $state(0);
  /** The last failed call (status or the Offline switch), cleared by the next success. */
  error = $state<AppError | null>(null);
  switching = $state(false);

  private following = false;
  /** Bumped on every start and stop, so a read that answers late never schedules a second polling loop. */
  private generation = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** Calls are numbered as sent; an answer older than one already shown is dropped (a read sent before a switch). */
  private sent = 0;
  private shown = 0;

  constructor(
    private readonly client: Client,
    private readonly intervalMs = POLL_MS,
  ) {}

  get offline(): boolean {
    return this.status?.offline ?? false;
  }

  get gatewayRunning(): boolean {
    return this.status?.gatewayRunning ?? false;
  }

  get polling(): boolean {
    return this.following;
  }

  /** Polls every `intervalMs` while `active`; when it turns false, reads once more and stops. */
  follow(active: boolean): void {
    if (active === this.following) return;
    this.following = active;
    const generation = ++this.generation;
    this.clearTimer();
    void this.tick(generation);
  }

  async refresh(): Promise<void> {
    const n = ++this.sent;
    this.apply(n, await this.client.sources.status({}));
  }

  async setOffline(offline: boolean): Promise<void> {
    this.switching = true;
    try {
      const n = ++this.sent;
      this.apply(n, await this.client.sources.setOffline({ offline }));
    } finally {
      this.switching = false;
    }
  }

  /** Stops polling for good (page teardown, tests). */
  dispose(): void {
    this.following = false;
    this.generation++;
    this.clearTimer();
  }

  private async tick(generation: number): Promise<void> {
    await this.refresh();
    if (generation !== this.generation || !this.following) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.tick(generation);
    }, this.intervalMs);
  }

  private apply(n: number, r: Awaited<ReturnType<Client["sources"]["status"]>>): void {
    if (n < this.shown) return;
    this.shown = n;
    if (!r.ok) {
      this.error = r.error;
      return;
    }
    this.status = { ...r.value, counters: (r.value.counters ?? []).map(completeCounters) };
    this.readAt = Date.now();
    this.error = null;
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
