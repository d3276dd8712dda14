/**
 * HTTP to the one configured Hub endpoint (and the CDN it redirects to), with Hub etiquette: requests are paced
 * when the budget runs low, a 429 is waited out (Retry-After) and retried here instead of reaching Lance, 5xx
 * answers, resets, cut bodies and stalled connections are retried with exponential backoff. The token goes only
 * to the endpoint's origin, never to a CDN. Every request is counted.
 */
import http from "node:http";
import https from "node:https";
import { CdnUrls } from "./cdn-urls";
import type { Counters, UpstreamKind } from "./counters";
import { GatewayError } from "./errors";
import { parseRateLimit, parseRetryAfter, type RateBudget } from "./rate-budget";

export interface RetryPolicy {
  /** Tries per request for 5xx, resets, cut bodies and stalls (429 waits are bounded by time instead). */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

/** A failure worth another try after a backoff. */
export class RetryableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RetryableError";
  }
}

class RateLimitedError extends Error {
  constructor(
    readonly waitMs: number,
    readonly bucket: string,
  ) {
    super(`rate limited (${bucket})`);
  }
}

export interface Exchange {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: http.IncomingMessage;
  url: URL;
}

export interface UpstreamOptions {
  endpoint: string;
  token: string | null;
  retry: RetryPolicy;
  idleTimeoutMs: number;
  maxRateLimitWaitMs: number;
  counters: Counters;
  budget: RateBudget;
  /** Connections per upstream host (the Hub, its CDN). */
  maxSockets: number;
}

const BUCKET: Record<UpstreamKind, string> = { api: "api", tree: "api", resolve: "resolvers", cdn: "cdn" };
const MAX_DOC_BYTES = 256 * 1024 * 1024;
const MAX_REDIRECTS = 4;

export function header(headers: http.IncomingHttpHeaders, name: string): string | null {
  const v = headers[name];
  return Array.isArray(v) ? (v[0] ?? null) : (v ?? null);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Reads and drops a body (so the connection can be reused), ignoring errors. */
export async function drain(res: http.IncomingMessage): Promise<void> {
  try {
    for await (const _ of res) void _;
  } catch {
    // the connection is gone; nothing to reuse
  }
}

/** The chunks of an upstream body, counted into `counters.bytesDown` as they arrive. */
export async function* counted(res: http.IncomingMessage, counters: Counters): AsyncGenerator<Buffer> {
  for await (const chunk of res) {
    counters.bytesDown += (chunk as Buffer).length;
    yield chunk as Buffer;
  }
}

export class Upstream {
  readonly endpoint: URL;
  readonly cdnUrls = new CdnUrls();
  /** Files whose resolve is under way: reads of the same file wait for its CDN URL instead of resolving too. */
  private readonly resolving = new Map<string, Promise<void>>();
  private readonly agents: { http: http.Agent; https: https.Agent };
  private closed = false;

  constructor(private readonly opts: UpstreamOptions) {
    this.agents = {
      http: new http.Agent({ keepAlive: true, maxSockets: opts.maxSockets }),
      https: new https.Agent({ keepAlive: true, maxSockets: opts.maxSockets }),
    };
    this.endpoint = new URL(opts.endpoint.replace(/\/+$/, ""));
    if (this.endpoint.protocol !== "https:" && this.endpoint.protocol !== "http:") throw new Error(`The Hub endpoint must be http(s): ${opts.endpoint}`);
  }

  /** The upstream URL of a Hub path ("/api/datasets/..."), under the endpoint's own path prefix if it has one. */
  url(pathAndQuery: string): URL {
    const base = this.endpoint.href.replace(/\/+$/, "");
    return new URL(base + pathAndQuery);
  }

  setToken(token: string | null): void {
    this.opts.token = token;
  }

  private sameOrigin(url: URL): boolean {
    return url.origin === this.endpoint.origin;
  }

  /** One HTTP exchange. 429 → RateLimitedError, 5xx/408/network/stall → RetryableError; other statuses return. */
  async send(kind: UpstreamKind, url: URL, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Exchange> {
    if (this.closed) throw new GatewayError("SourceUnreachable", "The gateway is closing");
    const counters = this.opts.counters;
    const pace = this.opts.budget.take(BUCKET[kind], Date.now());
    if (pace > 0) {
      if (pace > this.opts.maxRateLimitWaitMs) throw new RateLimitedError(pace, BUCKET[kind]);
      counters.waitedMs += pace;
      await sleep(pace);
    }
    const headers: Record<string, string> = { "user-agent": "slaf-workbench-gateway", "accept-encoding": "identity", ...init.headers };
    if (this.opts.token && this.sameOrigin(url)) headers.authorization = `Bearer ${this.opts.token}`;
    if (init.body !== undefined) headers["content-length"] = String(Buffer.byteLength(init.body));
    counters.requests[kind]++;
    const started = Date.now();
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const lib = url.protocol === "https:" ? https : http;
      const req = lib.request(url, { method: init.method ?? "GET", headers, agent: url.protocol === "https:" ? this.agents.https : this.agents.http }, resolve);
      req.setTimeout(this.opts.idleTimeoutMs, () => req.destroy(new RetryableError(`no data from ${url.host} for ${this.opts.idleTimeoutMs} ms`)));
      req.on("error", (e) => reject(e instanceof RetryableError ? e : new RetryableError(`${url.host}: ${(e as NodeJS.ErrnoException).code ?? e.message}`)));
      req.end(init.body);
    });
    counters.latency(Date.now() - started);
    const now = Date.now();
    this.opts.budget.observe({ get: (n) => header(res.headers, n) }, now);
    const status = res.statusCode ?? 0;
    if (status === 429) {
      await drain(res);
      counters.rateLimited++;
      const fromHeader = parseRateLimit(header(res.headers, "ratelimit"));
      const wait = parseRetryAfter(header(res.headers, "retry-after"), now) ?? (fromHeader ? fromHeader.resetSeconds * 1000 : 1000);
      const bucket = fromHeader?.bucket ?? BUCKET[kind];
      this.opts.budget.exhausted(bucket, wait, now);
      throw new RateLimitedError(wait, bucket);
    }
    if (status >= 500 || status === 408) {
      await drain(res);
      throw new RetryableError(`${url.host} answered HTTP ${status}`);
    }
    return { status, headers: res.headers, body: res, url };
  }

  /** Runs `attempt` until it succeeds: backoff on RetryableError, waits on 429; fails with a named GatewayError. */
  async retrying<T>(what: string, attempt: () => Promise<T>): Promise<T> {
    const { attempts, baseDelayMs, maxDelayMs } = this.opts.retry;
    let failures = 0;
    let waited = 0;
    for (;;) {
      try {
        return await attempt();
      } catch (e) {
        if (e instanceof RateLimitedError) {
          if (waited + e.waitMs > this.opts.maxRateLimitWaitMs) {
            throw new GatewayError(
              "RateLimited",
              `The Hub is rate limiting ${what}; its ${e.bucket} budget resets in ${Math.ceil(e.waitMs / 1000)} s. Try again then, or sign in with a token for a larger budget.`,
            );
          }
          waited += e.waitMs;
          this.opts.counters.waitedMs += e.waitMs;
          this.opts.counters.retries++;
          await sleep(e.waitMs);
          continue;
        }
        if (!(e instanceof RetryableError) || this.closed) throw e;
        failures++;
        if (failures >= attempts)
          throw new GatewayError("SourceUnreachable", `The Hub at ${this.endpoint.host} did not answer ${what} after ${failures} tries: ${e.message}`);
        this.opts.counters.retries++;
        const delay = Math.min(maxDelayMs, baseDelayMs * 2 ** (failures - 1));
        await sleep(delay / 2 + Math.random() * (delay / 2));
      }
    }
  }

  /** A JSON API exchange read whole: GET (following same-origin redirects) or POST; non-2xx answers are returned. */
  async document(
    kind: "api" | "tree",
    pathOrUrl: string | URL,
    init: { method?: "GET" | "POST"; body?: string; contentType?: string } = {},
  ): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string; url: URL }> {
    let url = typeof pathOrUrl === "string" ? this.url(pathOrUrl) : pathOrUrl;
    for (let hop = 0; ; hop++) {
      const headers: Record<string, string> = { accept: "application/json" };
      if (init.contentType) headers["content-type"] = init.contentType;
      const res = await this.send(kind, url, { method: init.method ?? "GET", headers, body: init.body });
      const location = header(res.headers, "location");
      if (res.status >= 300 && res.status < 400 && location && (init.method ?? "GET") === "GET") {
        await drain(res.body);
        const next = new URL(location, url);
        if (!this.sameOrigin(next) || hop >= MAX_REDIRECTS)
          throw new GatewayError("UpstreamInvalid", `The Hub redirected ${url.pathname} to ${next.origin}, which the gateway does not follow for API calls`);
        url = next;
        continue;
      }
      return { status: res.status, headers: res.headers, body: await readText(res.body, this.opts.counters), url };
    }
  }

  /**
   * Marks a file as being resolved (unless another read already is at it), so reads of it that come meanwhile
   * wait; call the result once its CDN URL is known or the resolve ended (more than once is harmless).
   */
  private resolvingFile(cacheKey: string): () => void {
    if (this.resolving.has(cacheKey)) return () => undefined;
    let done = (): void => undefined;
    const signal = new Promise<void>((resolve) => (done = resolve));
    this.resolving.set(cacheKey, signal);
    return () => {
      if (this.resolving.get(cacheKey) === signal) this.resolving.delete(cacheKey);
      done();
    };
  }

  /** Follows a file read's redirects (resolve → CDN), remembering the CDN URL; the final exchange has the bytes. */
  async openFile(
    cacheKey: string,
    resolvePath: string,
    rangeHeader: string | null,
  ): Promise<{ res: Exchange; linked: { size: number | null; etag: string | null; commit: string | null }; viaCdn: boolean }> {
    const headers: Record<string, string> = rangeHeader ? { range: rangeHeader } : {};
    const linked = { size: null as number | null, etag: null as string | null, commit: null as string | null };
    // A scan's first reads of a file come together: one resolves it, the others wait for its CDN URL.
    const pending = this.resolving.get(cacheKey);
    if (pending) await pending;
    const cached = this.cdnUrls.get(cacheKey, Date.now());
    if (cached) {
      const res = await this.send("cdn", cached, { headers });
      // An expired or revoked signature: forget it and resolve again.
      if (![401, 403, 404, 410].includes(res.status)) return { res, linked, viaCdn: true };
      await drain(res.body);
      this.cdnUrls.delete(cacheKey);
    }
    const learned = this.resolvingFile(cacheKey);
    let viaCdn = false;
    let res: Exchange;
    try {
      res = await this.send("resolve", this.url(resolvePath), { headers });
      for (let hop = 0; res.status >= 300 && res.status < 400; hop++) {
        const location = header(res.headers, "location");
        await drain(res.body);
        if (!location || hop >= MAX_REDIRECTS)
          throw new GatewayError("UpstreamInvalid", `The Hub answered HTTP ${res.status} without a usable redirect for ${resolvePath}`);
        const next = new URL(location, res.url);
        if (next.protocol !== "https:" && next.protocol !== "http:")
          throw new GatewayError("UpstreamInvalid", `The Hub redirected ${resolvePath} to a ${next.protocol} URL`);
        const size = header(res.headers, "x-linked-size");
        if (size && /^\d+$/.test(size)) linked.size = Number(size);
        linked.etag = unquote(header(res.headers, "x-linked-etag") ?? header(res.headers, "etag")) ?? linked.etag;
        linked.commit = header(res.headers, "x-repo-commit") ?? linked.commit;
        const toResolve = this.sameOrigin(next) && next.pathname.includes("/resolve/");
        if (!toResolve) {
          this.cdnUrls.set(cacheKey, next, Date.now());
          viaCdn = true;
          learned();
        }
        res = await this.send(toResolve ? "resolve" : "cdn", next, { headers });
      }
    } finally {
      learned();
    }
    if (!viaCdn) {
      linked.etag = unquote(header(res.headers, "etag"));
      linked.commit = header(res.headers, "x-repo-commit");
    }
    return { res, linked, viaCdn };
  }

  /** The body of an exchange, counted as it arrives. */
  chunks(res: http.IncomingMessage): AsyncGenerator<Buffer> {
    return counted(res, this.opts.counters);
  }

  close(): void {
    this.closed = true;
    this.agents.http.destroy();
    this.agents.https.destroy();
  }
}

export function unquote(etag: string | null): string | null {
  return etag ? etag.replace(/^W\//, "").replace(/^"|"$/g, "") : null;
}

async function readText(res: http.IncomingMessage, counters: Counters): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const c of counted(res, counters)) {
      size += (c as Buffer).length;
      if (size > MAX_DOC_BYTES) throw new GatewayError("UpstreamInvalid", `A Hub answer was larger than ${MAX_DOC_BYTES} bytes`);
      chunks.push(c as Buffer);
    }
  } catch (e) {
    if (e instanceof GatewayError) throw e;
    throw new RetryableError(`the answer was cut: ${(e as Error).message}`);
  }
  const expected = header(res.headers, "content-length");
  if (expected !== null && Number(expected) !== size) throw new RetryableError(`the answer was cut at ${size} of ${expected} bytes`);
  return Buffer.concat(chunks).toString("utf8");
}
