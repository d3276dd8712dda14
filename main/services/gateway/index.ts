/**
 * The gateway: a loopback HTTP server in main that Lance reads `hf://` datasets through. It speaks the Hub's read
 * API to Lance, forwards to ONE upstream Hub endpoint, pins every read to a commit sha, keeps what it fetched in a
 * byte-range disk cache (so a repeated query sends nothing upstream and works offline), counts every upstream
 * request, and is polite to the Hub (CDN URLs reused, 429s waited out, pacing before the budget runs out).
 *
 * Use (the lead wires this into the datasets service, CLI and settings):
 *
 *   const gw = await startGateway({ cacheDir: path.join(userData, "cache"), hubEndpoint, hfToken, offline });
 *   Object.assign(process.env, gw.lanceEnv());          // BEFORE the first hf:// connect in this process:
 *                                                       // HF_ENDPOINT is read once; it names the gateway
 *   const ds = await gw.pin("hf://datasets/acme/atlas/pbmc.slaf@main");   // → sha; throws a named AppFailure
 *   const config = await gw.readFile(ds, "config.json", { maxBytes: 1 << 20 });
 *   const db = await lancedb.connect(ds.uri, { storageOptions: ds.storageOptions });  // hf_revision = the sha
 *   try { await db.openTable("cells") ... } catch (e) { throw appFailureFromLanceError(e, { table }) ?? e; }
 *   gw.counters().hf  → requests by kind, bytes, latency p50/p95, cache hits, rate-limit budget
 *   gw.setOffline(true)                                 // cache only; misses fail fast with OFFLINE_NOT_CACHED
 *   await gw.close()
 *
 * S3 (any number of upstreams at once; nothing process-global):
 *
 *   const s3 = await gw.pinS3("s3://bucket/atlas.slaf", { accessKeyId, secretAccessKey, region, endpoint, pathStyle });
 *   const db = await lancedb.connect(s3.uri, { storageOptions: s3.storageOptions });   // through the gateway
 *   const config = await gw.readFile(s3, "config.json", { maxBytes: 1 << 20 });
 *   gw.counters().s3 → requests by kind (list, get, head), bytes, latency p50/p95, cache hits, retries, SlowDowns
 *
 * - `pinS3(uri, access)`: opens `s3://<bucket>[/<prefix>]` with the user's S3 settings (`anonymous`, or no key,
 *   for public buckets; `endpoint` for S3-compatible stores, path-style by default there). It checks the prefix
 *   holds objects (offline: that it was opened online before) and returns `storageOptions` that point Lance at
 *   the gateway with a local key pair made for this open, plus `version`, the ETag of config.json. Each open reads
 *   a consistent view: object ETags are learned once per open and every upstream read carries If-Match, so an
 *   object rewritten meanwhile fails the read (SOURCE_UNREACHABLE, "open it again") instead of mixing versions;
 *   listings are fetched once per open. Open again to see changes. Errors: missing bucket or empty prefix →
 *   DATASET_NOT_FOUND; credentials refused → AUTH_INVALID; private bucket without credentials → AUTH_REQUIRED;
 *   wrong region → INVALID_ARGUMENT; SlowDown past `maxRateLimitWaitMs` → RATE_LIMITED; offline miss →
 *   OFFLINE_NOT_CACHED naming the s3:// object (through `appFailureFromLanceError` for Lance's errors); as on
 *   the Hub side, an offline miss of a listing (a table never opened online) takes ~3 s of Lance's own retries.
 * - Security: Lance's S3 requests must be signed (SigV4) with the local secret of an open; they are served only
 *   inside that open's bucket and prefix, and only reads (GET/HEAD of objects, ListObjectsV2). Anything else gets
 *   403 and causes no upstream request. The user's credentials stay in main: the gateway re-signs each request.
 * - Cache: `<cacheDir>/s3/<endpoint>/<bucket>/objects/<etag-hash>/files/<key>/...` (see s3-objects.ts).
 *
 * - `pin(uri, revision?)`: `hf://datasets/<owner>/<repo>[/<path>][@<revision>]` (also `<repo>@<revision>/<path>`);
 *   the revision (branch, tag or sha; default main) is resolved to a commit sha now (offline: the sha it last
 *   resolved to). Give Lance `uri` and `storageOptions` (`{hf_revision: sha}`), never `@rev` in the URI. A branch
 *   that moves later does not change what this dataset reads; pin again to see the new commit.
 * - Errors: `pin`/`readFile` throw AppFailures; Lance errors caused by the gateway become AppFailures through
 *   `appFailureFromLanceError(e, {table})` (null for other errors: chain it before datasets/lance-errors.ts):
 *   offline miss → OFFLINE_NOT_CACHED naming table and file; full cache disk → DISK_FULL; Hub still 429 after
 *   `maxRateLimitWaitMs` → RATE_LIMITED; Hub down, stalled or 5xx after retries → SOURCE_UNREACHABLE; repo
 *   missing → DATASET_NOT_FOUND; revision missing → REVISION_NOT_FOUND; gated repo, or private repo without a
 *   token (the Hub's 401 RepoNotFound) → AUTH_REQUIRED; token refused → AUTH_INVALID. An offline miss of a data
 *   file fails in milliseconds; one of a listing (a table never opened online) takes ~2 s, because Lance retries
 *   failed listings five times with backoff whatever the status (observed with LanceDB 0.39).
 * - The upstream: the caller resolves it (HF_ENDPOINT from the environment as huggingface_hub does, else the
 *   setting, else https://huggingface.co) BEFORE putting `lanceEnv()` into process.env, which replaces
 *   HF_ENDPOINT with the gateway; a gateway whose upstream is itself refuses to start.
 * - Security: 127.0.0.1 only, Host checked, every path starts with a per-launch secret (in `hfEndpoint`);
 *   requests without it get 403 and cause no upstream request. Only Hub reads are served (repo/revision info,
 *   tree, paths-info, resolve); every write (PUT, DELETE, commit and preupload APIs, xet tokens, LFS batch...)
 *   gets 403. The token goes only to the upstream's origin, never to Lance, a CDN or a log.
 * - Cache: `<cacheDir>/hf/<endpoint>/<owner>/<repo>/<sha>/...` (see disk-cache.ts). Safe to share between
 *   processes (app and CLI): every entry is written to a temp name and renamed, and verified by length on read.
 *   Size cap, LRU eviction, pins, listing and removal: cache-manager.ts.
 * - Cold reads (the benchmark's "cold"): `coldScope()` opens datasets whose reads neither read nor write the
 *   user's cache. Its opens go through their own Hub face and S3 mounts (own connections, CDN URLs, listings and
 *   ETags) backed by a private scratch cache that `close()` removes, so what they cost is what a first read
 *   costs; counters and the Hub budget stay shared. Lance names a cold Hub open by the scope's token (`hf_token`,
 *   sent as `Authorization: Bearer`); a cold S3 open is its own session, as every open is.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { AppFailure, isAppFailure } from "../../../shared/result";
import { CacheKeeper } from "./cache-keeper";
import { Counters, type SourceCounters } from "./counters";
import { HubDiskCache } from "./disk-cache";
import { gatewayFailure, isGatewayError } from "./errors";
import { cleanRepoPath, repoKey, SHA, type RepoId } from "./hub-routes";
import { HubService } from "./hub-service";
import { RateBudget } from "./rate-budget";
import { RemoteFiles } from "./remote-files";
import { S3Counters, type S3SourceCounters } from "./s3-counters";
import { S3Handler } from "./s3-handler";
import { S3Objects, type PinnedS3Dataset, type S3Access, type S3CachePlace } from "./s3-objects";
import { startGatewayServer } from "./server";
import { Upstream, type RetryPolicy } from "./upstream";
// Read AWS_* (at its load) before pointLanceAt takes them out of the environment.
import "../sources/s3-environment";

export { appFailureFromLanceError } from "./errors";
export type { SourceCounters } from "./counters";
export type { S3SourceCounters } from "./s3-counters";
export { parseS3Uri, type PinnedS3Dataset, type S3Access } from "./s3-objects";

export interface GatewayOptions {
  /** Root folder of the disk cache (shared by the app and every CLI command). */
  cacheDir: string;
  /** The upstream Hub, e.g. https://huggingface.co (resolve HF_ENDPOINT / settings before Lance's env is set). */
  hubEndpoint?: string;
  hfToken?: string | null;
  offline?: boolean;
  /** Cache block size: the smallest upstream read and the grid ranges are stored on. Default 1 MiB. */
  blockBytes?: number;
  /** Largest single upstream range request. Default 64 MiB. */
  maxFetchBytes?: number;
  /** A read records a block's last use (its mtime) at most this often per process. Default 10 s. */
  touchIntervalMs?: number;
  /** Retries of 5xx, resets, cut bodies and stalls. Default 5 tries, backoff 500 ms doubling to 8 s. */
  retry?: Partial<RetryPolicy>;
  /** An upstream connection silent this long is dropped and retried. Default 30 s. */
  idleTimeoutMs?: number;
  /** Longest a request waits out 429s and pacing (S3: SlowDown) before failing with RATE_LIMITED. Default 5 min (one Hub window). */
  maxRateLimitWaitMs?: number;
  /** Upstream connections per host: a scan's first reads of every data file go out at once, as Lance's own would. Default 64. */
  maxConnections?: number;
}

export interface PinnedDataset {
  /** What Lance opens: `hf://datasets/<owner>/<repo>[/<path>]`, no revision in it. */
  uri: string;
  /** `owner/repo` */
  repo: string;
  /** The folder inside the repo ("" for the root). */
  path: string;
  /** The revision asked for (branch, tag or sha). */
  revision: string;
  /** The commit every read of this dataset uses. */
  sha: string;
  /** Storage options for `lancedb.connect` / `openTable` (`hf_token` names a cold scope, never a Hub token). */
  storageOptions: { hf_revision: string; hf_token?: string };
}

/** Opens whose reads bypass the user's disk cache (see the header); close it when their tables are closed. */
export interface ColdScope {
  /** Where its scratch cache lives (removed by close). */
  readonly dir: string;
  pin(uri: string, revision?: string): Promise<PinnedDataset>;
  pinS3(uri: string, access: S3Access): Promise<PinnedS3Dataset>;
  close(): Promise<void>;
}

export interface GatewayCounters {
  hf: SourceCounters;
  s3: S3SourceCounters;
}

export interface Gateway {
  /** `http://127.0.0.1:<port>/<secret>`: the HF_ENDPOINT Lance must use. */
  readonly hfEndpoint: string;
  readonly offline: boolean;
  /** The cache folder and the upstream Hub this gateway uses (for the cache manager: pins find their blocks by them). */
  readonly cacheDir: string;
  readonly hubUpstream: string;
  /** Environment for the Lance process: HF_ENDPOINT plus no implicit token and no Xet. */
  lanceEnv(): Record<string, string>;
  pin(uri: string, revision?: string): Promise<PinnedDataset>;
  /** Opens an S3 dataset for Lance through the gateway (see the header); throws a named AppFailure. */
  pinS3(uri: string, access: S3Access): Promise<PinnedS3Dataset>;
  /** The block cache an S3 dataset opened here reads into, and its bucket's place in it (for pins). */
  s3CacheOf(dataset: PinnedS3Dataset): S3CachePlace;
  /** A whole file of a pinned dataset (e.g. config.json), through the cache. */
  readFile(dataset: PinnedDataset | PinnedS3Dataset, relativePath: string, opts: { maxBytes: number }): Promise<Buffer>;
  counters(): GatewayCounters;
  /** Requests Lance has in flight at the gateway now (a benchmark waits for 0 before reading the counters). */
  activeRequests(): number;
  /** A cold scope with its scratch cache in a new folder under `parent` (default: the system temp folder). */
  coldScope(parent?: string): Promise<ColdScope>;
  setOffline(offline: boolean): void;
  /** A new HF token (or none) for every upstream request from now on; requests in flight keep the old one. */
  setHfToken(token: string | null): void;
  close(): Promise<void>;
}

/**
 * Points this process's Lance at the gateway: `lanceEnv()` into process.env, and every AWS_* variable out of it
 * (read before, s3-environment.ts): Lance reads S3 only through the gateway, with the storage options `pinS3`
 * gives, and AWS_* would otherwise reach its S3 client too (a session token or endpoint the gateway never signed for).
 */
export function pointLanceAt(gateway: Gateway): void {
  Object.assign(process.env, gateway.lanceEnv());
  for (const name of Object.keys(process.env)) if (name.startsWith("AWS_")) delete process.env[name];
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$/;

export interface ParsedHfUri {
  repo: RepoId;
  path: string;
  revision: string | null;
}

function badUri(uri: string, why: string): AppFailure {
  return new AppFailure("INVALID_ARGUMENT", `Not a Hugging Face dataset URI (${why}): ${uri}. Expected hf://datasets/<owner>/<repo>[/<path>][@<revision>]`);
}

/** Splits an `hf://datasets/...` URI into repo, path and revision (`repo@rev/path` or `path@rev`). */
export function parseHfUri(uri: string): ParsedHfUri {
  const m = /^hf:\/\/datasets\/(.+)$/.exec(uri.trim());
  if (!m) throw badUri(uri, "only dataset repositories, hf://datasets/..., are supported");
  const parts = m[1].replace(/\/+$/, "").split("/");
  const [owner, repoPart = ""] = parts;
  let name = repoPart;
  let revision: string | null = null;
  let rest = parts.slice(2);
  const at = repoPart.indexOf("@");
  if (at >= 0) {
    name = repoPart.slice(0, at);
    revision = repoPart.slice(at + 1);
    // refs/pr/<n> and refs/convert/<name> span three segments.
    if (revision === "refs" && rest.length >= 2) {
      revision = `refs/${rest[0]}/${rest[1]}`;
      rest = rest.slice(2);
    }
  } else {
    const k = rest.findIndex((p) => p.includes("@"));
    if (k >= 0) {
      const split = rest[k].indexOf("@");
      revision = [rest[k].slice(split + 1), ...rest.slice(k + 1)].join("/");
      rest = [...rest.slice(0, k), rest[k].slice(0, split)];
    }
  }
  if (!NAME.test(owner ?? "") || !NAME.test(name)) throw badUri(uri, "the owner or repository name is not valid");
  let decoded: string | null;
  try {
    decoded = revision === null ? null : decodeURIComponent(revision);
  } catch {
    throw badUri(uri, "the revision is not valid percent-encoding");
  }
  if (decoded === "") throw badUri(uri, "the revision after @ is empty");
  const path = cleanRepoPath(rest);
  if (path === null) throw badUri(uri, "the path inside the repository is not valid");
  return { repo: { owner: owner!, name }, path, revision: decoded };
}

function asFailure(e: unknown): unknown {
  if (isAppFailure(e)) return e;
  if (isGatewayError(e)) return gatewayFailure(e.code, e.message, { status: e.status, path: e.path });
  return e;
}

export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const endpoint = (options.hubEndpoint ?? "https://huggingface.co").replace(/\/+$/, "");
  let offline = options.offline ?? false;
  const counters = new Counters(endpoint);
  const budget = new RateBudget();
  const retry: RetryPolicy = { attempts: 5, baseDelayMs: 500, maxDelayMs: 8000, ...options.retry };
  let token = options.hfToken ?? null;
  const isOffline = (): boolean => offline;
  /** A Hub face over the cache in `cacheDir`, with its own upstream connections; counters and budget shared. */
  const hubFace = (cacheDir: string): HubService => {
    const upstream = new Upstream({
      endpoint,
      token,
      retry,
      idleTimeoutMs: options.idleTimeoutMs ?? 30_000,
      maxRateLimitWaitMs: options.maxRateLimitWaitMs ?? 5 * 60_000,
      counters,
      budget,
      maxSockets: options.maxConnections ?? 64,
    });
    const cache = new HubDiskCache(cacheDir, endpoint, "hf", options.touchIntervalMs);
    const files = new RemoteFiles(cache, upstream, {
      blockBytes: options.blockBytes ?? 1024 * 1024,
      maxFetchBytes: options.maxFetchBytes ?? 64 * 1024 * 1024,
      isOffline,
    });
    return new HubService(cache, upstream, files, counters, isOffline);
  };
  const hub = hubFace(options.cacheDir);
  /** Cold scopes' Hub faces by their token. */
  const coldHubs = new Map<string, HubService>();
  const hubFor = (authorization: string | undefined): HubService | null => {
    const m = /^Bearer\s+(cold-\S+)$/.exec(authorization ?? "");
    return m ? (coldHubs.get(m[1]) ?? null) : hub;
  };
  const s3Counters = new S3Counters();
  const s3 = new S3Objects({
    cacheDir: options.cacheDir,
    blockBytes: options.blockBytes ?? 1024 * 1024,
    maxFetchBytes: options.maxFetchBytes ?? 64 * 1024 * 1024,
    touchIntervalMs: options.touchIntervalMs,
    retry,
    idleTimeoutMs: options.idleTimeoutMs ?? 30_000,
    maxSlowDownWaitMs: options.maxRateLimitWaitMs ?? 5 * 60_000,
    maxSockets: options.maxConnections ?? 64,
    isOffline,
    counters: s3Counters,
  });
  const secret = randomBytes(24).toString("base64url");
  const server = await startGatewayServer(secret, hubFor, counters, new S3Handler(s3, s3Counters));
  const hfEndpoint = `http://127.0.0.1:${server.port}/${secret}`;
  const upstreamUrl = new URL(endpoint);
  if (["127.0.0.1", "localhost"].includes(upstreamUrl.hostname) && Number(upstreamUrl.port) === server.port) {
    await server.close();
    throw new Error("The gateway's upstream cannot be the gateway itself (was HF_ENDPOINT read after it was set for Lance?)");
  }

  return {
    hfEndpoint,
    cacheDir: options.cacheDir,
    hubUpstream: endpoint,
    get offline() {
      return offline;
    },
    lanceEnv() {
      return { HF_ENDPOINT: hfEndpoint, HF_HUB_DISABLE_IMPLICIT_TOKEN: "1", HF_HUB_DISABLE_XET: "1" };
    },
    pin(uri, revision) {
      return pinHf(hub, null, uri, revision);
    },
    async pinS3(uri, access) {
      try {
        return await s3.pin(uri, access, `http://127.0.0.1:${server.port}`);
      } catch (e) {
        throw asFailure(e);
      }
    },
    s3CacheOf(dataset) {
      return s3.cacheOf(dataset);
    },
    async readFile(dataset, relativePath, opts) {
      if ("source" in dataset) {
        try {
          return await s3.readFile(dataset, relativePath, opts.maxBytes);
        } catch (e) {
          throw asFailure(e);
        }
      }
      const parsed = parseHfUri(dataset.uri);
      const rel = cleanRepoPath(relativePath.split("/"));
      if (!rel) throw new AppFailure("INVALID_ARGUMENT", `Not a path inside the dataset: ${relativePath}`);
      const coldToken = dataset.storageOptions.hf_token;
      const files = (coldToken === undefined ? hub : coldHubs.get(coldToken))?.files;
      if (!files) throw new AppFailure("DATASET_NOT_OPEN", `${dataset.uri} was opened for a cold read that has ended; open it again`);
      const f = { repo: parsed.repo, sha: dataset.sha, path: parsed.path ? `${parsed.path}/${rel}` : rel };
      try {
        // Learning the size reads at most maxBytes: a file too large is refused before the rest is fetched.
        const { meta } = await files.meta(f, { start: 0, end: Math.max(0, opts.maxBytes - 1) });
        if (meta.size > opts.maxBytes)
          throw new AppFailure("INVALID_ARGUMENT", `${f.path} in ${dataset.repo} is ${meta.size} bytes, more than the ${opts.maxBytes} expected`, {
            path: f.path,
          });
        await files.ensure(f, meta, 0, meta.size - 1);
        return await files.readAll(f, meta, 0, meta.size - 1);
      } catch (e) {
        throw asFailure(e);
      }
    },
    counters() {
      return { hf: counters.snapshot(budget.snapshot()), s3: s3Counters.snapshot() };
    },
    activeRequests() {
      return server.active();
    },
    async coldScope(parent) {
      const dir = await fs.mkdtemp(path.join(parent ?? os.tmpdir(), "slafwb-cold-"));
      const coldToken = `cold-${randomBytes(18).toString("base64url")}`;
      const face = hubFace(dir);
      coldHubs.set(coldToken, face);
      let closed = false;
      const open = (): void => {
        if (closed) throw new AppFailure("INTERNAL", "This cold read has ended");
      };
      return {
        dir,
        pin(uri, revision) {
          open();
          return pinHf(face, coldToken, uri, revision);
        },
        async pinS3(uri, access) {
          open();
          try {
            return await s3.pin(uri, access, `http://127.0.0.1:${server.port}`, dir);
          } catch (e) {
            throw asFailure(e);
          }
        },
        async close() {
          if (closed) return;
          closed = true;
          coldHubs.delete(coldToken);
          face.upstream.close();
          await Promise.all([face.cache.close(), s3.forget(dir)]);
          await fs.rm(dir, { recursive: true, force: true });
          CacheKeeper.forget(dir);
        },
      };
    },
    setHfToken(value) {
      token = value;
      hub.upstream.setToken(value);
      for (const face of coldHubs.values()) face.upstream.setToken(value);
    },
    setOffline(value) {
      offline = value;
    },
    async close() {
      hub.upstream.close();
      for (const face of coldHubs.values()) face.upstream.close();
      const s3Closed = s3.close();
      await server.close();
      await Promise.all([hub.cache.close(), ...[...coldHubs.values()].map((face) => face.cache.close()), s3Closed]);
    },
  };
}

/** Resolves an hf:// dataset's revision to a commit through one Hub face; `coldToken` marks a cold scope's opens. */
async function pinHf(hub: HubService, coldToken: string | null, uri: string, revision?: string): Promise<PinnedDataset> {
  const parsed = parseHfUri(uri);
  const rev = revision ?? parsed.revision ?? "main";
  try {
    const sha = await hub.resolveSha(parsed.repo, rev, { refresh: true });
    // A sha given as such is checked too (and its description cached for offline use).
    if (SHA.test(rev)) await hub.revisionInfo(parsed.repo, sha);
    hub.pin(parsed.repo, rev, sha);
    return {
      uri: `hf://datasets/${repoKey(parsed.repo)}${parsed.path ? `/${parsed.path}` : ""}`,
      repo: repoKey(parsed.repo),
      path: parsed.path,
      revision: rev,
      sha,
      storageOptions: coldToken === null ? { hf_revision: sha } : { hf_revision: sha, hf_token: coldToken },
    };
  } catch (e) {
    throw asFailure(e);
  }
}
