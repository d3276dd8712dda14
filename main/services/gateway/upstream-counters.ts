/** What the gateway counts for every kind of upstream (the Hub, S3): requests by kind, bytes, latency, cache hits. */
import type { SourceCounters } from "../../../shared/ipc/contract";

const LATENCY_SAMPLES = 1000;

function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

/** The fields every source's snapshot shares, in the contract's shape. */
export type CommonCounters<K extends string> = Pick<SourceCounters, "bytesDown" | "bytesServed" | "latencyMs" | "cache" | "retries" | "waitedMs"> & {
  /** Upstream HTTP requests sent, by kind (every retry counts). */
  requests: Record<K, number>;
};

export class UpstreamCounters<K extends string> {
  bytesDown = 0;
  bytesServed = 0;
  hits = 0;
  misses = 0;
  hitBytes = 0;
  retries = 0;
  waitedMs = 0;
  private readonly latencies: number[] = [];

  constructor(readonly requests: Record<K, number>) {}

  /** Time to the response headers of one upstream request; the last 1,000 are kept. */
  latency(ms: number): void {
    this.latencies.push(ms);
    if (this.latencies.length > LATENCY_SAMPLES) this.latencies.shift();
  }

  /** A client read answered from the disk cache alone, or one that needed the upstream. */
  hit(fromCache: boolean, bytes: number): void {
    if (fromCache) {
      this.hits++;
      this.hitBytes += bytes;
    } else this.misses++;
  }

  protected common(): CommonCounters<K> {
    const sorted = [...this.latencies].sort((a, b) => a - b);
    return {
      requests: { ...this.requests },
      bytesDown: this.bytesDown,
      bytesServed: this.bytesServed,
      latencyMs: { p50: percentile(sorted, 0.5), p95: percentile(sorted, 0.95) },
      cache: { hits: this.hits, misses: this.misses, hitBytes: this.hitBytes },
      retries: this.retries,
      waitedMs: this.waitedMs,
    };
  }
}
