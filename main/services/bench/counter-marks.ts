/**
 * The gateway's counters read before and after one measurement: sources are measured one after the other, so
 * the difference is what that source cost upstream (requests, body bytes, cache hits and misses, the Hub's
 * rate-limit budget). Local sources have no gateway: every figure is 0.
 */
import type { BenchMeasurement, BenchSourceKind } from "../../../shared/ipc/contract";
import type { Gateway } from "../gateway/index";

export interface CounterMark {
  requests: Record<string, number>;
  bytesDown: number;
  bytesServed: number;
  hits: number;
  misses: number;
  /** Quota per Hub bucket as last reported (null: not reported). */
  quotas: Record<string, number | null>;
}

export type CounterDelta = Pick<
  BenchMeasurement,
  "upstreamRequests" | "upstreamBytes" | "cacheHits" | "cacheMisses" | "rateLimitUsed" | "servedBytes" | "upstreamByKind"
>;

/** Which Hub rate-limit bucket each request kind spends (CDN reads spend none). */
const HUB_BUCKETS: Record<string, string> = { api: "api", tree: "api", resolve: "resolvers" };

export function markCounters(gateway: Gateway | null, kind: BenchSourceKind): CounterMark | null {
  if (!gateway || kind === "local") return null;
  const all = gateway.counters();
  if (kind === "hf") {
    const c = all.hf;
    const quotas = Object.fromEntries(Object.entries(c.rateLimit).map(([bucket, state]) => [bucket, state.quota]));
    return { requests: { ...c.requests }, bytesDown: c.bytesDown, bytesServed: c.bytesServed, hits: c.cache.hits, misses: c.cache.misses, quotas };
  }
  const c = all.s3;
  return { requests: { ...c.requests }, bytesDown: c.bytesDown, bytesServed: c.bytesServed, hits: c.cache.hits, misses: c.cache.misses, quotas: {} };
}

export function counterDelta(before: CounterMark | null, after: CounterMark | null, kind: BenchSourceKind): CounterDelta {
  if (!before || !after) {
    return { upstreamRequests: 0, upstreamBytes: 0, cacheHits: 0, cacheMisses: 0, rateLimitUsed: null, servedBytes: 0, upstreamByKind: {} };
  }
  const byKind: Record<string, number> = {};
  for (const k of Object.keys(after.requests)) byKind[k] = after.requests[k] - (before.requests[k] ?? 0);
  let rateLimitUsed: BenchMeasurement["rateLimitUsed"] = null;
  if (kind === "hf") {
    rateLimitUsed = { api: { used: 0, quota: after.quotas.api ?? null }, resolvers: { used: 0, quota: after.quotas.resolvers ?? null } };
    for (const [k, n] of Object.entries(byKind)) {
      const bucket = HUB_BUCKETS[k];
      if (bucket) rateLimitUsed[bucket].used += n;
    }
  }
  return {
    upstreamRequests: Object.values(byKind).reduce((a, b) => a + b, 0),
    upstreamBytes: after.bytesDown - before.bytesDown,
    cacheHits: after.hits - before.hits,
    cacheMisses: after.misses - before.misses,
    rateLimitUsed,
    servedBytes: after.bytesServed - before.bytesServed,
    upstreamByKind: byKind,
  };
}

/**
 * Waits until Lance has no request in flight at the gateway (reads it started ahead of the batches we took are
 * still counted to this source, not the next one), at most `maxMs`.
 */
export async function gatewayQuiet(gateway: Gateway | null, maxMs = 5000): Promise<void> {
  if (!gateway) return;
  const until = Date.now() + maxMs;
  while (gateway.activeRequests() > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
}
