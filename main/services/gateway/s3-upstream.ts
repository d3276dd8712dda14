/**
 * HTTP to one S3 upstream (an endpoint with one set of credentials, or anonymous): HEAD, ranged GET and
 * ListObjectsV2, signed for the upstream with SigV4, path-style or virtual-hosted. 5xx answers, resets, cut
 * bodies and stalled connections are retried with exponential backoff; a 503 SlowDown is waited out (bounded
 * by time, not tries) and never reaches Lance. Answers that are not the data become named GatewayErrors.
 * Every request is counted. Reads of object bytes carry `If-Match` with the ETag the dataset was opened with,
 * so bytes of a newer version can never land in the old version's cache entry.
 */
import http from "node:http";
import https from "node:https";
import { GatewayError } from "./errors";
import type { FileRef } from "./remote-files";
import type { S3Counters, S3RequestKind } from "./s3-counters";
import { signRequest, uriEncode, type S3Credentials } from "./s3-sigv4";
import { s3Error } from "./s3-xml";
import { drain, header, RetryableError, unquote, type Exchange, type RetryPolicy } from "./upstream";

export interface S3UpstreamConfig {
  /** e.g. http://127.0.0.1:7480 or https://s3.us-east-1.amazonaws.com */
  endpoint: string;
  region: string;
  /** Path-style (`<endpoint>/<bucket>/<key>`) or virtual-hosted (`<bucket>.<endpoint host>/<key>`). */
  pathStyle: boolean;
  /** null: anonymous (unsigned) requests, for public buckets. */
  credentials: S3Credentials | null;
  retry: RetryPolicy;
  idleTimeoutMs: number;
  /** Longest a request waits out SlowDown answers before failing with RATE_LIMITED. */
  maxSlowDownWaitMs: number;
  counters: S3Counters;
  /** Connections to the endpoint (per bucket host when virtual-hosted). */
  maxSockets: number;
}

export interface ObjectHead {
  /** Unquoted ETag. */
  etag: string;
  size: number;
  /** As the upstream wrote it (HTTP date or ISO 8601). */
  lastModified: string;
}

class SlowDownError extends Error {
  constructor(readonly waitMs: number | null) {
    super("SlowDown");
  }
}

const MAX_LIST_BYTES = 64 * 1024 * 1024;
const AUTH_CODES = new Set(["InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken", "TokenRefreshRequired", "InvalidSecurity"]);
const REGION_CODES = new Set(["AuthorizationHeaderMalformed", "PermanentRedirect", "IllegalLocationConstraintException", "AuthorizationQueryParametersError"]);

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function s3Uri(bucket: string, key: string): string {
  return `s3://${bucket}${key ? `/${key}` : ""}`;
}

export class S3Upstream {
  readonly endpoint: URL;
  /** S3 has no CDN redirects; RemoteFiles forgets CDN URLs when an ETag changes. */
  readonly cdnUrls = { delete: (_key: string): void => undefined };
  /** ETag hash (the cache's version folder) → the ETag, for `If-Match` on reads. */
  private readonly etags = new Map<string, string>();
  private readonly agents: { http: http.Agent; https: https.Agent };
  private closed = false;

  constructor(private readonly cfg: S3UpstreamConfig) {
    this.agents = {
      http: new http.Agent({ keepAlive: true, maxSockets: cfg.maxSockets }),
      https: new https.Agent({ keepAlive: true, maxSockets: cfg.maxSockets }),
    };
    this.endpoint = new URL(cfg.endpoint.replace(/\/+$/, ""));
    if (this.endpoint.protocol !== "https:" && this.endpoint.protocol !== "http:") throw new Error(`The S3 endpoint must be http(s): ${cfg.endpoint}`);
    cfg.counters.endpoints.add(this.endpoint.origin);
  }

  get anonymous(): boolean {
    return this.cfg.credentials === null;
  }

  /** The upstream URL of a bucket (key "") or an object, with the query given. */
  url(bucket: string, key: string, query?: Map<string, string[]>): URL {
    const base = this.endpoint.pathname.replace(/\/+$/, "");
    const keyPath = key === "" ? "" : `/${key.split("/").map(uriEncode).join("/")}`;
    // Bucket names with dots break TLS names of virtual hosts; those go path-style.
    const virtual = !this.cfg.pathStyle && !bucket.includes(".");
    const url = new URL(this.endpoint.origin);
    if (virtual) url.hostname = `${bucket}.${this.endpoint.hostname}`;
    url.pathname = virtual ? `${base}${keyPath || "/"}` : `${base}/${bucket}${keyPath}`;
    if (query && query.size) {
      const parts: string[] = [];
      for (const [k, vs] of query) for (const v of vs) parts.push(`${uriEncode(k)}=${uriEncode(v)}`);
      url.search = parts.join("&");
    }
    return url;
  }

  rememberEtag(hash: string, etag: string): void {
    this.etags.set(hash, etag);
  }

  /** One signed exchange. 503 SlowDown → SlowDownError; other 5xx, 408, network errors and stalls → RetryableError. */
  private async send(
    kind: S3RequestKind,
    method: "GET" | "HEAD",
    url: URL,
    query: Map<string, string[]>,
    extra: Record<string, string> = {},
  ): Promise<Exchange> {
    if (this.closed) throw new GatewayError("SourceUnreachable", "The gateway is closing");
    const base: Record<string, string> = { "user-agent": "slaf-workbench-gateway", "accept-encoding": "identity", ...extra };
    const headers = this.cfg.credentials ? await signRequest(url, method, base, query, this.cfg.credentials, this.cfg.region) : base;
    const counters = this.cfg.counters;
    counters.requests[kind]++;
    const started = Date.now();
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const lib = url.protocol === "https:" ? https : http;
      const req = lib.request(url, { method, headers, agent: url.protocol === "https:" ? this.agents.https : this.agents.http }, resolve);
      req.setTimeout(this.cfg.idleTimeoutMs, () => req.destroy(new RetryableError(`no data from ${url.host} for ${this.cfg.idleTimeoutMs} ms`)));
      req.on("error", (e) => reject(e instanceof RetryableError ? e : new RetryableError(`${url.host}: ${(e as NodeJS.ErrnoException).code ?? e.message}`)));
      req.end();
    });
    counters.latency(Date.now() - started);
    const status = res.statusCode ?? 0;
    if (status === 503 || status >= 500 || status === 408) {
      const body = method === "HEAD" ? "" : await this.text(res, 64 * 1024).catch(() => "");
      if (status === 503 && (method === "HEAD" || s3Error(body).code === "SlowDown" || /slow ?down/i.test(res.statusMessage ?? ""))) {
        counters.slowDowns++;
        const after = Number(header(res.headers, "retry-after"));
        throw new SlowDownError(Number.isFinite(after) && after >= 0 ? after * 1000 : null);
      }
      throw new RetryableError(`${url.host} answered HTTP ${status}`);
    }
    return { status, headers: res.headers, body: res, url };
  }

  /** Runs `attempt` until it succeeds: backoff on RetryableError, SlowDown waited out; fails with a named GatewayError. */
  async retrying<T>(what: string, attempt: () => Promise<T>): Promise<T> {
    const { attempts, baseDelayMs, maxDelayMs } = this.cfg.retry;
    const counters = this.cfg.counters;
    let failures = 0;
    let slowDowns = 0;
    let waited = 0;
    for (;;) {
      try {
        return await attempt();
      } catch (e) {
        if (e instanceof SlowDownError) {
          slowDowns++;
          const wait = e.waitMs ?? Math.min(maxDelayMs, baseDelayMs * 2 ** (slowDowns - 1));
          if (waited + wait > this.cfg.maxSlowDownWaitMs)
            throw new GatewayError(
              "RateLimited",
              `S3 at ${this.endpoint.host} kept answering SlowDown to ${what} for ${Math.ceil(waited / 1000)} s. Try again later.`,
            );
          waited += wait;
          counters.waitedMs += wait;
          counters.retries++;
          await sleep(wait);
          continue;
        }
        if (!(e instanceof RetryableError) || this.closed) throw e;
        failures++;
        if (failures >= attempts)
          throw new GatewayError("SourceUnreachable", `S3 at ${this.endpoint.host} did not answer ${what} after ${failures} tries: ${e.message}`);
        counters.retries++;
        const delay = Math.min(maxDelayMs, baseDelayMs * 2 ** (failures - 1));
        const jittered = delay / 2 + Math.random() * (delay / 2);
        counters.waitedMs += jittered;
        await sleep(jittered);
      }
    }
  }

  /** A named error for an S3 answer that is not the data. */
  answerError(status: number, body: string, bucket: string, key: string): GatewayError {
    const { code, message, region } = s3Error(body);
    const detail = `${code ?? `HTTP ${status}`}${message ? `: ${message}` : ""}`;
    const where = s3Uri(bucket, key);
    if (code === "NoSuchBucket") return new GatewayError("RepoNotFound", `The bucket ${bucket} does not exist at ${this.endpoint.host}`, { status: 404 });
    if (status === 404) return new GatewayError("EntryNotFound", `${where} does not exist (${detail})`, { path: key });
    if (code && REGION_CODES.has(code))
      return new GatewayError(
        "BadRequest",
        `S3 refused the region ${this.cfg.region} for ${where}${region ? `: the bucket is in ${region}` : ""}. Set the bucket's region in the S3 settings (${detail})`,
      );
    if (status === 401 || status === 403) {
      if (this.anonymous && !(code && AUTH_CODES.has(code)))
        return new GatewayError("AuthRequired", `${where} is not public: set an S3 access key and secret with access (${detail})`);
      if (code && AUTH_CODES.has(code))
        return new GatewayError("Unauthorized", `S3 at ${this.endpoint.host} refused the credentials (${detail}). Check the S3 access key and secret`);
      return new GatewayError("Unauthorized", `S3 denied access to ${where} with these credentials (${detail})`);
    }
    return new GatewayError("UpstreamInvalid", `S3 answered HTTP ${status} for ${where} (${detail})`, { status: 502 });
  }

  private async text(res: http.IncomingMessage, max: number): Promise<string> {
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const c of this.chunks(res)) {
        size += c.length;
        if (size > max) throw new GatewayError("UpstreamInvalid", `An S3 answer was larger than ${max} bytes`);
        chunks.push(c);
      }
    } catch (e) {
      if (e instanceof GatewayError) throw e;
      throw new RetryableError(`the answer was cut: ${(e as Error).message}`);
    }
    const expected = header(res.headers, "content-length");
    if (expected !== null && Number(expected) !== size) throw new RetryableError(`the answer was cut at ${size} of ${expected} bytes`);
    return Buffer.concat(chunks).toString("utf8");
  }

  /** HEAD of an object: its ETag, size and last change. A HEAD error has no body, so 404 and 403 say less. */
  async head(bucket: string, key: string): Promise<ObjectHead> {
    return this.retrying(`HEAD ${s3Uri(bucket, key)}`, async () => {
      const res = await this.send("head", "HEAD", this.url(bucket, key), new Map());
      await drain(res.body);
      if (res.status !== 200) throw this.answerError(res.status, "", bucket, key);
      const etag = unquote(header(res.headers, "etag"));
      const size = Number(header(res.headers, "content-length"));
      const lastModified = header(res.headers, "last-modified");
      if (!etag || !Number.isSafeInteger(size) || !lastModified)
        throw new GatewayError("UpstreamInvalid", `S3's answer for ${s3Uri(bucket, key)} has no ETag, Content-Length or Last-Modified`);
      return { etag, size, lastModified };
    });
  }

  /** One ListObjectsV2 page, as the upstream wrote it. */
  async list(bucket: string, query: Map<string, string[]>): Promise<string> {
    const prefix = query.get("prefix")?.[0] ?? "";
    return this.retrying(`the listing of ${s3Uri(bucket, prefix)}`, async () => {
      const res = await this.send("list", "GET", this.url(bucket, "", query), query);
      const body = await this.text(res.body, MAX_LIST_BYTES);
      if (res.status !== 200) throw this.answerError(res.status, body, bucket, prefix);
      return body;
    });
  }

  /** A read of object bytes for RemoteFiles: `f.repo.owner` is the bucket, `f.path` the key, `f.sha` the ETag's hash. */
  async openFile(
    _cacheKey: string,
    _resolvePath: string,
    rangeHeader: string | null,
    f: FileRef,
  ): Promise<{ res: Exchange; linked: { size: number | null; etag: string | null; commit: string | null }; viaCdn: boolean }> {
    const bucket = f.repo.owner;
    const etag = this.etags.get(f.sha);
    if (!etag) throw new GatewayError("UpstreamInvalid", `No ETag is known for ${s3Uri(bucket, f.path)}; open the dataset again`);
    const extra: Record<string, string> = { "if-match": `"${etag}"` };
    if (rangeHeader) extra.range = rangeHeader;
    const res = await this.send("get", "GET", this.url(bucket, f.path), new Map(), extra);
    if (res.status !== 200 && res.status !== 206) {
      const body = await this.text(res.body, 64 * 1024).catch(() => "");
      if (res.status === 412)
        throw new GatewayError(
          "UpstreamInvalid",
          `${s3Uri(bucket, f.path)} changed since the dataset was opened (its ETag is no longer ${etag}); open it again`,
          {
            path: f.path,
          },
        );
      throw this.answerError(res.status, body, bucket, f.path);
    }
    return { res, linked: { size: null, etag: unquote(header(res.headers, "etag")), commit: null }, viaCdn: false };
  }

  /** The body of an exchange, counted as it arrives. */
  async *chunks(res: http.IncomingMessage): AsyncGenerator<Buffer> {
    for await (const chunk of res) {
      this.cfg.counters.bytesDown += (chunk as Buffer).length;
      yield chunk as Buffer;
    }
  }

  close(): void {
    this.closed = true;
    this.agents.http.destroy();
    this.agents.https.destroy();
  }
}
