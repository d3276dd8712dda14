/** Accounting of the gateway's S3 side, over every S3 upstream: the S3 counterpart of counters.ts. */

/** Upstream S3 request kinds: ListObjectsV2, GetObject, HeadObject. */
export type S3RequestKind = "list" | "get" | "head";

export interface S3SourceCounters {
  source: "s3";
  /** The upstream endpoints used since start, e.g. ["http://127.0.0.1:7480", "https://s3.amazonaws.com"]. */
  endpoints: string[];
  /** Upstream HTTP requests sent, by kind (every retry counts). */
  requests: Record<S3RequestKind, number>;
  /** Body bytes received from the upstreams. */
  bytesDown: number;
  /** Body bytes the gateway served to Lance, from cache or not. */
  bytesServed: number;
  /** Time to the response headers of upstream requests, over the last 1,000. */
  latencyMs: { p50: number | null; p95: number | null };
  /** Client reads (GET, HEAD, listings) answered from the cache alone, or needing the upstream. */
  cache: { hits: number; misses: number; hitBytes: number };
  retries: number;
  /** 503 SlowDown answers received (waited out, never passed on to Lance). */
  slowDowns: number;
  /** Time spent waiting out SlowDown answers and backing off before retries. */
  waitedMs: number;
}

const LATENCY_SAMPLES = 1000;

function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

export class S3Counters {
  readonly endpoints = new Set<string>();
  readonly requests: Record<S3RequestKind, number> = { list: 0, get: 0, head: 0 };
  bytesDown = 0;
  bytesServed = 0;
  hits = 0;
  misses = 0;
  hitBytes = 0;
  retries = 0;
  slowDowns = 0;
  waitedMs = 0;
  private readonly latencies: number[] = [];

  latency(ms: number): void {
    this.latencies.push(ms);
    if (this.latencies.length > LATENCY_SAMPLES) this.latencies.shift();
  }

  hit(fromCache: boolean, bytes: number): void {
    if (fromCache) {
      this.hits++;
      this.hitBytes += bytes;
    } else this.misses++;
  }

  snapshot(): S3SourceCounters {
    const sorted = [...this.latencies].sort((a, b) => a - b);
    return {
      source: "s3",
      endpoints: [...this.endpoints],
      requests: { ...this.requests },
      bytesDown: this.bytesDown,
      bytesServed: this.bytesServed,
      latencyMs: { p50: percentile(sorted, 0.5), p95: percentile(sorted, 0.95) },
      cache: { hits: this.hits, misses: this.misses, hitBytes: this.hitBytes },
      retries: this.retries,
      slowDowns: this.slowDowns,
      waitedMs: this.waitedMs,
    };
  }
}
