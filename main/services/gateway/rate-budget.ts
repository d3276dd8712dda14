/**
 * The Hub's rate-limit budget as its headers tell it (IETF ratelimit-headers draft, as huggingface_hub ≥ 1.2
 * reads them): `RateLimit: "resolvers";r=<remaining>;t=<seconds to reset>` and
 * `RateLimit-Policy: "fixed window";"resolvers";q=<quota>;w=<window seconds>`, plus `Retry-After` on a 429.
 * Buckets are 5-minute windows: api (tree, paths-info, repo info), resolvers (every `resolve`), pages.
 */
import type { RateBucketState } from "../../../shared/ipc/contract";

/** One bucket's budget, in the contract's shape (`SourceCounters.rateLimit`). */
export type BucketState = RateBucketState;

export interface RateLimitHeader {
  bucket: string;
  remaining: number;
  resetSeconds: number;
}

/** `"resolvers";r=12;t=40` → {bucket, remaining, resetSeconds}, or null when the header is absent or malformed. */
export function parseRateLimit(value: string | null | undefined): RateLimitHeader | null {
  if (!value) return null;
  const m = /^\s*"?([A-Za-z0-9_-]+)"?\s*((?:;\s*[a-z]+=\d+\s*)+)$/.exec(value);
  if (!m) return null;
  const params = Object.fromEntries([...m[2].matchAll(/([a-z]+)=(\d+)/g)].map((p) => [p[1], Number(p[2])]));
  if (params.r === undefined || params.t === undefined) return null;
  return { bucket: m[1], remaining: params.r, resetSeconds: params.t };
}

/** `"fixed window";"resolvers";q=3000;w=300` → {bucket, quota, windowSeconds}, or null. */
export function parseRateLimitPolicy(value: string | null | undefined): { bucket: string; quota: number; windowSeconds: number } | null {
  if (!value) return null;
  const names = [...value.matchAll(/"([^"]+)"/g)].map((m) => m[1]);
  const q = /(?:^|;)\s*q=(\d+)/.exec(value);
  const w = /(?:^|;)\s*w=(\d+)/.exec(value);
  const bucket = names.find((n) => n !== "fixed window");
  return bucket && q && w ? { bucket, quota: Number(q[1]), windowSeconds: Number(w[1]) } : null;
}

/** `Retry-After` in ms: delta seconds or an HTTP date; null when absent or unreadable. */
export function parseRetryAfter(value: string | null | undefined, now: number): number | null {
  if (!value) return null;
  if (/^\s*\d+\s*$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

/** Below this share of the quota (or 5 requests, whichever is more), requests are spread over the time left. */
const PACE_BELOW_SHARE = 0.1;

/**
 * How long to hold the next request of a bucket so the budget lasts until the window resets: nothing while the
 * budget is comfortable; when it runs low, the time left divided by the requests left; at zero, until the reset.
 */
export function paceDelay(state: BucketState | undefined, now: number): number {
  if (!state || now >= state.resetAt) return 0;
  const timeLeft = state.resetAt - now;
  if (state.remaining <= 0) return timeLeft;
  const low = Math.max(5, Math.ceil((state.quota ?? 0) * PACE_BELOW_SHARE));
  return state.remaining > low ? 0 : Math.ceil(timeLeft / (state.remaining + 1));
}

/** The budget of every bucket seen, updated from response headers and spent as requests go out. */
export class RateBudget {
  private readonly buckets = new Map<string, BucketState>();

  /** Records the headers of an upstream response. */
  observe(headers: { get(name: string): string | null | undefined }, now: number): void {
    const limit = parseRateLimit(headers.get("ratelimit"));
    const policy = parseRateLimitPolicy(headers.get("ratelimit-policy"));
    if (limit) {
      const prev = this.buckets.get(limit.bucket);
      this.buckets.set(limit.bucket, {
        remaining: limit.remaining,
        resetAt: now + limit.resetSeconds * 1000,
        quota: policy?.bucket === limit.bucket ? policy.quota : (prev?.quota ?? null),
        windowSeconds: policy?.bucket === limit.bucket ? policy.windowSeconds : (prev?.windowSeconds ?? null),
      });
    }
  }

  /** After a 429: nothing left in `bucket` until `retryAfterMs` from now. */
  exhausted(bucket: string, retryAfterMs: number, now: number): void {
    const prev = this.buckets.get(bucket);
    this.buckets.set(bucket, { remaining: 0, resetAt: now + retryAfterMs, quota: prev?.quota ?? null, windowSeconds: prev?.windowSeconds ?? null });
  }

  /** The wait before sending one request of `bucket`; the request is counted against the budget at once. */
  take(bucket: string, now: number): number {
    const state = this.buckets.get(bucket);
    const delay = paceDelay(state, now);
    if (state && now < state.resetAt && state.remaining > 0) state.remaining--;
    return delay;
  }

  snapshot(): Record<string, BucketState> {
    return Object.fromEntries([...this.buckets].map(([k, v]) => [k, { ...v }]));
  }
}
