/** The Hub side's accounting: upstream requests by kind, bytes, latency percentiles, cache hits, rate-limit budget. */
import type { SourceCounters as ContractCounters } from "../../../shared/ipc/contract";
import type { BucketState } from "./rate-budget";
import { UpstreamCounters } from "./upstream-counters";

/** Upstream request kinds: Hub API (repo and revision info), tree listings and paths-info, resolve, CDN. */
export type UpstreamKind = "api" | "tree" | "resolve" | "cdn";

/** The contract's counters of one source, for the Hub: `rateLimited` counts 429s (never passed on to Lance). */
export type SourceCounters = ContractCounters & { source: "hf"; requests: Record<UpstreamKind, number> };

export class Counters extends UpstreamCounters<UpstreamKind> {
  rateLimited = 0;

  constructor(readonly endpoint: string) {
    super({ api: 0, tree: 0, resolve: 0, cdn: 0 });
  }

  snapshot(rateLimit: Record<string, BucketState>): SourceCounters {
    return { source: "hf", endpoint: this.endpoint, ...this.common(), rateLimited: this.rateLimited, rateLimit };
  }
}
