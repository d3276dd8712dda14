import type { Result } from "../../result";
import type { Empty } from "./common";

/** The Hub's budget in one rate-limit bucket ("api", "resolvers"...), as read from its `RateLimit` headers. */
export interface RateBucketState {
  remaining: number;
  /** Epoch ms when the window resets. */
  resetAt: number;
  quota: number | null;
  windowSeconds: number | null;
}

/** What the gateway counted for one remote source since it started. */
export interface SourceCounters {
  source: "hf" | "s3";
  /** The upstream endpoint, e.g. https://huggingface.co. */
  endpoint: string;
  /** Upstream requests sent, by kind (Hub: api, tree, resolve, cdn; S3: list, get, head), retries included. */
  requests: Record<string, number>;
  /** Body bytes received from the upstream. */
  bytesDown: number;
  /** Body bytes served to Lance, from the cache or not. */
  bytesServed: number;
  latencyMs: { p50: number | null; p95: number | null };
  /** Reads answered from the disk cache alone (hits) or needing the upstream (misses). */
  cache: { hits: number; misses: number; hitBytes: number };
  retries: number;
  /** 429 answers received (waited out in the gateway, never passed on to Lance). */
  rateLimited: number;
  /** Time spent holding requests back (429 waits and pacing). */
  waitedMs: number;
  rateLimit: Record<string, RateBucketState>;
}

export interface SourcesStatus {
  /** Offline: remote datasets are read from the local cache alone; a read it cannot answer fails at once. */
  offline: boolean;
  /** Whether the gateway runs (it starts with the first remote dataset). */
  gatewayRunning: boolean;
  /** One entry per remote source kind the gateway serves. */
  counters: SourceCounters[];
  /** The local cache folder (shared by the app and the command line). */
  cacheDir: string;
}

export interface SourcesApi {
  status(req: Empty): Promise<Result<SourcesStatus>>;
  setOffline(req: { offline: boolean }): Promise<Result<SourcesStatus>>;
}
