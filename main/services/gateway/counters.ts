/** Per-source accounting: upstream requests by kind, bytes, latency percentiles, cache hits, rate-limit budget. */
import type { BucketState } from "./rate-budget";

/** Upstream request kinds: Hub API (repo and revision info), tree listings and paths-info, resolve, CDN. */
export type UpstreamKind = "api" | "tree" | "resolve" | "cdn";

export interface SourceCounters {
  source: "hf";
  /** The upstream endpoint, e.g. https://huggingface.co. */
  endpoint: string;
  /** Upstream HTTP requests sent, by kind (every retry counts). */
  requests: Record<UpstreamKind, number>;
  /** Body bytes received from the upstream. */
  bytesDown: number;
  /** Body bytes the gateway served to its clients (Lance), from cache or not. */
  bytesServed: number;
  /** Time to the response headers of upstream requests, over the last 1,000. */
  latencyMs: { p50: number | null; p95: number | null };
  /** Client reads (resolve, listings, info) answered from the disk cache alone, or needing the upstream. */
  cache: { hits: number; misses: number; hitBytes: number };
  retries: number;
  /** 429 answers received (never passed on to Lance). */
  rateLimited: number;
  /** Time spent holding requests back: 429 waits and pacing. */
  waitedMs: number;
  /** The Hub's budget per bucket (api, resolvers...) from its `RateLimit` headers. */
  rateLimit: Record<string, BucketState>;
}

const LATENCY_SAMPLES = 1000;

function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

export class Counters {
  readonly requests: Record<UpstreamKind, number> = { api: 0, tree: 0, resolve: 0, cdn: 0 };
  bytesDown = 0;
  bytesServed = 0;
  hits = 0;
  misses = 0;
  hitBytes = 0;
  retries = 0;
  rateLimited = 0;
  waitedMs = 0;
  private readonly latencies: number[] = [];

  constructor(readonly endpoint: string) {}

  latency(ms: number): void {
    this.latencies.push(ms);
    if (this.latencies.length > LATENCY_SAMPLES) this.latencies.shift();
  }

  snapshot(rateLimit: Record<string, BucketState>): SourceCounters {
    const sorted = [...this.latencies].sort((a, b) => a - b);
    return {
      source: "hf",
      endpoint: this.endpoint,
      requests: { ...this.requests },
      bytesDown: this.bytesDown,
      bytesServed: this.bytesServed,
      latencyMs: { p50: percentile(sorted, 0.5), p95: percentile(sorted, 0.95) },
      cache: { hits: this.hits, misses: this.misses, hitBytes: this.hitBytes },
      retries: this.retries,
      rateLimited: this.rateLimited,
      waitedMs: this.waitedMs,
      rateLimit,
    };
  }
}
