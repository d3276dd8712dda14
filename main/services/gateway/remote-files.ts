/**
 * Reads of files of a pinned commit through the block cache: a client range is widened to whole blocks, blocks
 * on disk are used as they are, missing ones are fetched in runs of consecutive blocks (one upstream request per
 * run, however many small client reads asked for them), and concurrent reads of the same blocks share one fetch.
 * A body that is cut or stalls is retried from the first block not yet written; each block is written only once
 * it is complete, so the cache never holds part of a block. Blocks are kept as the parts the upstream sent them
 * in (written with one writev, never joined), and a read that fetched them is served those parts from memory
 * (`FreshBlocks`) instead of reading back what it just wrote.
 */
import type http from "node:http";
import { blockLength, type FileMeta, type HubDiskCache } from "./disk-cache";
import { GatewayError, type GatewayErrorCode } from "./errors";
import { giveReadBuffer, takeReadBuffer } from "./read-buffers";
import { repoKey, type RepoId } from "./hub-routes";
import { header, RetryableError, unquote, type Upstream } from "./upstream";

/** What file reads need of an upstream: the Hub's Upstream, or an S3 bucket (s3-upstream.ts, which reads `f`). */
export type FileFetcher = Pick<Upstream, "retrying" | "chunks"> & {
  readonly cdnUrls: { delete(key: string): void };
  openFile(cacheKey: string, resolvePath: string, rangeHeader: string | null, f: FileRef): ReturnType<Upstream["openFile"]>;
};

export interface FileRef {
  repo: RepoId;
  sha: string;
  path: string;
}

/** A client's Range: bounded (`bytes=a-b`), open (`bytes=a-`) or suffix (`bytes=-n`); null = the whole file. */
export type ClientRange = { start: number; end: number | null } | { suffix: number } | null;

/** Block index → the parts of that block a read's own fetches brought (ensure fills it, read serves from it). */
export type FreshBlocks = Map<number, Buffer[]>;

/** A file's first read keeps at most this much of what it fetched in memory for its answer (it may fetch more). */
const MAX_FRESH_FIRST_READ = 8 * 1024 * 1024;

/** Bytes [from, to) of a block held in parts, as views of those parts (no copy). */
function sliceParts(parts: readonly Buffer[], from: number, to: number): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  for (const p of parts) {
    const a = Math.max(from, at);
    const b = Math.min(to, at + p.length);
    if (a < b) out.push(a === at && b === at + p.length ? p : p.subarray(a - at, b - at));
    at += p.length;
    if (at >= to) break;
  }
  return out;
}

export interface RemoteFilesOptions {
  blockBytes: number;
  maxFetchBytes: number;
  isOffline: () => boolean;
}

/** A block being fetched: resolves to its parts once it is written (null: the fetch ended without it). */
interface Deferred {
  promise: Promise<Buffer[] | null>;
  resolve: (parts: Buffer[] | null) => void;
  reject: (e: unknown) => void;
}

function deferred(): Deferred {
  let resolve!: (parts: Buffer[] | null) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<Buffer[] | null>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined); // waiters see the rejection; nobody waiting is fine too
  return { promise, resolve, reject };
}

export function parseClientRange(value: string | undefined): ClientRange | "invalid" {
  if (value === undefined) return null;
  const m = /^\s*bytes=(\d*)-(\d*)\s*$/.exec(value);
  if (!m || (m[1] === "" && m[2] === "")) return "invalid";
  if (m[1] === "") return { suffix: Number(m[2]) };
  const start = Number(m[1]);
  const end = m[2] === "" ? null : Number(m[2]);
  return end !== null && end < start ? "invalid" : { start, end };
}

/** The inclusive byte span a range covers in a file of `size` bytes, or null when it is not satisfiable. */
export function spanOf(range: ClientRange, size: number): { start: number; end: number } | null {
  if (range === null) return size === 0 ? { start: 0, end: -1 } : { start: 0, end: size - 1 };
  if ("suffix" in range) return range.suffix === 0 || size === 0 ? null : { start: Math.max(0, size - range.suffix), end: size - 1 };
  if (range.start >= size) return null;
  return { start: range.start, end: range.end === null ? size - 1 : Math.min(range.end, size - 1) };
}

const PASSED_ON: Set<string> = new Set(["RepoNotFound", "RevisionNotFound", "EntryNotFound", "GatedRepo"]);

/** A named error for a Hub answer that is not the data (404, 401, 403...). */
export function hubAnswerError(status: number, headers: http.IncomingHttpHeaders, what: string, body = ""): GatewayError {
  const given = header(headers, "x-error-code");
  let hubMessage = header(headers, "x-error-message");
  if (!hubMessage) {
    try {
      hubMessage = (JSON.parse(body) as { error?: string }).error ?? null;
    } catch {
      hubMessage = null;
    }
  }
  const code: GatewayErrorCode =
    given && PASSED_ON.has(given)
      ? (given as GatewayErrorCode)
      : status === 401 || status === 403
        ? "Unauthorized"
        : status === 404
          ? "EntryNotFound"
          : "UpstreamInvalid";
  const hint =
    code === "GatedRepo"
      ? " Accept its conditions on the Hub and set an HF token with access."
      : code === "RepoNotFound" && status === 401
        ? " It does not exist, or it is private and needs an HF token with access."
        : code === "Unauthorized"
          ? " Check the HF token."
          : "";
  return new GatewayError(code, `${what}: ${hubMessage ?? `HTTP ${status}`}${hint}`, { status: code === "UpstreamInvalid" ? 502 : status });
}

export class RemoteFiles {
  /** Sizes and ETags of files whose first read is complete (or that were on disk). */
  private readonly metas = new Map<string, FileMeta>();
  /** Learned by a first read still under way (its retries need it); reads wait for that first read to end. */
  private readonly learned = new Map<string, FileMeta>();
  private readonly metaLoads = new Map<string, Promise<{ meta: FileMeta; fetched: boolean }>>();
  private readonly inflight = new Map<string, Promise<Buffer[] | null>>();

  constructor(
    private readonly cache: HubDiskCache,
    private readonly upstream: FileFetcher,
    private readonly opts: RemoteFilesOptions,
  ) {}

  private key(f: FileRef): string {
    return `${repoKey(f.repo)}@${f.sha}:${f.path}`;
  }

  private resolvePath(f: FileRef): string {
    const enc = encodeURIComponent;
    return `/datasets/${enc(f.repo.owner)}/${enc(f.repo.name)}/resolve/${f.sha}/${f.path.split("/").map(enc).join("/")}`;
  }

  private describe(f: FileRef, start?: number, end?: number): string {
    return `${repoKey(f.repo)}@${f.sha.slice(0, 8)} ${f.path}${start !== undefined ? ` (bytes ${start}-${end})` : ""}`;
  }

  private offlineError(f: FileRef, part?: string): GatewayError {
    return new GatewayError(
      "OfflineNotCached",
      `Offline, and ${f.path} (${part ? `${part} ` : ""}of ${repoKey(f.repo)} at ${f.sha.slice(0, 8)}) is not in the local cache`,
      { path: f.path },
    );
  }

  /**
   * The file's size and ETag: from memory, the disk cache, or a first read (which also caches `range`'s blocks;
   * `fetched` then says the upstream was asked, and `fresh`, if given, receives up to 8 MiB of those blocks).
   */
  async meta(f: FileRef, range: ClientRange, fresh?: FreshBlocks): Promise<{ meta: FileMeta; fetched: boolean }> {
    const key = this.key(f);
    const known = this.metas.get(key);
    if (known) return { meta: known, fetched: false };
    let loading = this.metaLoads.get(key);
    if (!loading) {
      loading = this.loadMeta(f, range, fresh).finally(() => this.metaLoads.delete(key));
      this.metaLoads.set(key, loading);
    }
    return loading;
  }

  private async loadMeta(f: FileRef, range: ClientRange, fresh?: FreshBlocks): Promise<{ meta: FileMeta; fetched: boolean }> {
    const key = this.key(f);
    const onDisk = await this.cache.readFileMeta(f.repo, f.sha, f.path);
    if (onDisk) {
      this.metas.set(key, onDisk);
      await this.cache.sweepTemps(f.repo, f.sha, f.path);
      return { meta: onDisk, fetched: false };
    }
    if (this.opts.isOffline()) {
      if (range === null) throw this.offlineError(f);
      if ("suffix" in range) throw this.offlineError(f, `the last ${range.suffix} bytes`);
      throw this.offlineError(f, `bytes ${range.start}-${range.end ?? ""}`);
    }
    const B = this.opts.blockBytes;
    // Fetch the blocks the client wants now (their size is not known yet, so whole blocks from the aligned start).
    let start = 0;
    let end: number | null = null;
    if (range !== null && "start" in range) {
      start = Math.floor(range.start / B) * B;
      const wanted = range.end === null ? start + this.opts.maxFetchBytes - 1 : (Math.floor(range.end / B) + 1) * B - 1;
      end = Math.min(wanted, start + Math.max(this.opts.maxFetchBytes, B) - 1);
    } else if (range !== null) end = B - 1;
    let kept = 0;
    const keep = (i: number, parts: Buffer[]): void => {
      const bytes = parts.reduce((n, p) => n + p.length, 0);
      if (!fresh || kept + bytes > MAX_FRESH_FIRST_READ) return;
      kept += bytes;
      fresh.set(i, parts);
    };
    try {
      const meta = await this.upstream.retrying(`reading ${this.describe(f)}`, () => this.fetchAttempt(f, this.learned.get(key) ?? null, start, end, keep));
      this.metas.set(key, meta);
      return { meta, fetched: true };
    } finally {
      this.learned.delete(key);
    }
  }

  /**
   * Makes the blocks spanning [start, end] present on disk. `fromCache` is true when nothing had to be fetched
   * (not even by a concurrent read). `fresh` receives the blocks fetched for this call, by itself or by the
   * concurrent read it waited for, for `read`.
   */
  async ensure(f: FileRef, meta: FileMeta, start: number, end: number, fresh?: FreshBlocks): Promise<{ fromCache: boolean }> {
    if (end < start) return { fromCache: true };
    const B = meta.blockBytes;
    // Held from this process's eviction until the read that follows holds them itself (no await in between).
    const release = this.cache.hold(f.repo, f.sha, f.path, meta, Math.floor(start / B), Math.floor(end / B));
    try {
      const waits: Promise<unknown>[] = [];
      const wait = (i: number, pending: Promise<Buffer[] | null>): void => {
        waits.push(fresh ? pending.then((parts) => void (parts && fresh.set(i, parts))) : pending);
      };
      const absent: number[] = [];
      for (let i = Math.floor(start / B); i <= Math.floor(end / B); i++) {
        const pending = this.inflight.get(`${this.key(f)}#${i}`);
        if (pending) wait(i, pending);
        else if (!(await this.cache.hasBlock(f.repo, f.sha, f.path, meta, i))) absent.push(i);
      }
      // No await from here until the runs are registered: a concurrent read that found the same blocks missing
      // either started their fetch already (then wait for it) or sees ours.
      const missing: number[] = [];
      for (const i of absent) {
        const pending = this.inflight.get(`${this.key(f)}#${i}`);
        if (pending) wait(i, pending);
        else missing.push(i);
      }
      if (missing.length && this.opts.isOffline()) throw this.offlineError(f, `bytes ${start}-${end}`);
      const maxBlocks = Math.max(1, Math.floor(this.opts.maxFetchBytes / B));
      for (let k = 0; k < missing.length;) {
        let j = k;
        while (j + 1 < missing.length && missing[j + 1] === missing[j] + 1 && j + 1 - k < maxBlocks) j++;
        waits.push(this.fetchRun(f, meta, missing[k], missing[j], fresh));
        k = j + 1;
      }
      await Promise.all(waits);
      return { fromCache: waits.length === 0 };
    } finally {
      release();
    }
  }

  /** Fetches blocks first..last with one upstream request per attempt; each block's waiters hear as it lands. */
  private async fetchRun(f: FileRef, meta: FileMeta, first: number, last: number, fresh?: FreshBlocks): Promise<void> {
    const blocks = new Map<number, Deferred>();
    for (let i = first; i <= last; i++) {
      const d = deferred();
      blocks.set(i, d);
      this.inflight.set(`${this.key(f)}#${i}`, d.promise);
    }
    let next = first;
    const B = meta.blockBytes;
    try {
      await this.upstream.retrying(`reading ${this.describe(f, first * B, Math.min(meta.size, (last + 1) * B) - 1)}`, () =>
        this.fetchAttempt(f, meta, next * B, Math.min(meta.size, (last + 1) * B) - 1, (i, parts) => {
          fresh?.set(i, parts);
          blocks.get(i)?.resolve(parts);
          next = i + 1;
        }),
      );
      for (const d of blocks.values()) d.resolve(null);
    } catch (e) {
      for (const d of blocks.values()) d.reject(e);
      throw e;
    } finally {
      for (let i = first; i <= last; i++) this.inflight.delete(`${this.key(f)}#${i}`);
    }
  }

  /**
   * One upstream read of bytes [start, end] (end null: to the end of the file; start 0 and end null: no Range).
   * Checks what comes back against the pinned commit and the known size and ETag, then writes whole blocks.
   */
  private async fetchAttempt(
    f: FileRef,
    known: FileMeta | null,
    start: number,
    end: number | null,
    onBlock: (i: number, parts: Buffer[]) => void,
  ): Promise<FileMeta> {
    const rangeHeader = start === 0 && end === null ? null : `bytes=${start}-${end ?? ""}`;
    const { res, linked, viaCdn } = await this.upstream.openFile(this.key(f), this.resolvePath(f), rangeHeader, f);
    let consumed = false;
    try {
      const status = res.status;
      if (status !== 200 && status !== 206) {
        if (status === 416 && known === null) {
          const total = /\/(\d+)$/.exec(header(res.headers, "content-range") ?? "")?.[1];
          if (total !== undefined) return this.learn(f, { size: Number(total), etag: linked.etag, cdnEtag: null, blockBytes: this.opts.blockBytes });
        }
        let body = "";
        for await (const c of this.upstream.chunks(res.body)) body += c.toString("utf8");
        consumed = true;
        throw hubAnswerError(status, res.headers, `Reading ${f.path} of ${repoKey(f.repo)}`, body);
      }
      if (linked.commit && linked.commit !== f.sha)
        throw new GatewayError("UpstreamInvalid", `The Hub served ${f.path} from commit ${linked.commit.slice(0, 8)} when ${f.sha.slice(0, 8)} was asked for`);
      let bodyStart = 0;
      let total: number;
      const length = Number(header(res.headers, "content-length") ?? NaN);
      if (status === 206) {
        const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(header(res.headers, "content-range") ?? "");
        if (!m) throw new GatewayError("UpstreamInvalid", `The Hub answered a range of ${f.path} without a valid Content-Range`);
        bodyStart = Number(m[1]);
        total = Number(m[3]);
        const expectedEnd = Math.min(end ?? total - 1, total - 1);
        if (bodyStart !== start || Number(m[2]) !== expectedEnd)
          throw new GatewayError("UpstreamInvalid", `The Hub answered bytes ${m[1]}-${m[2]} of ${f.path} when ${start}-${expectedEnd} were asked for`);
      } else {
        if (!Number.isFinite(length)) throw new GatewayError("UpstreamInvalid", `The Hub answered ${f.path} without a Content-Length`);
        total = length;
      }
      const cdnEtag = viaCdn ? unquote(header(res.headers, "etag")) : null;
      const meta = known ?? (await this.learn(f, { size: total, etag: linked.etag, cdnEtag, blockBytes: this.opts.blockBytes }));
      if (total !== meta.size)
        throw new GatewayError("UpstreamInvalid", `${f.path} is ${total} bytes on the Hub now but was ${meta.size} bytes in this commit`);
      const hubEtagChanged = linked.etag && meta.etag && linked.etag !== meta.etag;
      const cdnEtagChanged = cdnEtag && meta.cdnEtag && cdnEtag !== meta.cdnEtag;
      if (hubEtagChanged || cdnEtagChanged) {
        this.upstream.cdnUrls.delete(this.key(f));
        throw new GatewayError("UpstreamInvalid", `The ETag of ${f.path} changed within commit ${f.sha.slice(0, 8)}; not caching it`);
      }
      const expectedBytes = (status === 206 ? Math.min(end ?? total - 1, total - 1) : total - 1) - bodyStart + 1;
      await this.writeBlocks(f, meta, this.upstream.chunks(res.body), bodyStart, expectedBytes, onBlock);
      consumed = true;
      return meta;
    } finally {
      if (!consumed) res.body.destroy();
    }
  }

  private async learn(f: FileRef, meta: FileMeta): Promise<FileMeta> {
    await this.cache.writeFileMeta(f.repo, f.sha, f.path, meta);
    this.learned.set(this.key(f), meta);
    return meta;
  }

  /** Splits a body that starts at block boundary `bodyStart` into blocks and writes each complete one. */
  private async writeBlocks(
    f: FileRef,
    meta: FileMeta,
    body: AsyncIterable<Buffer>,
    bodyStart: number,
    expectedBytes: number,
    onBlock: (i: number, parts: Buffer[]) => void,
  ): Promise<void> {
    const B = meta.blockBytes;
    let index = bodyStart / B;
    let want = blockLength(meta, index);
    let parts: Buffer[] = [];
    let filled = 0;
    let received = 0;
    const chunks = body[Symbol.asyncIterator]();
    for (;;) {
      let next: IteratorResult<Buffer>;
      try {
        next = await chunks.next();
      } catch (e) {
        throw new RetryableError(`the body of ${f.path} was cut after ${received} of ${expectedBytes} bytes (${(e as Error).message})`);
      }
      if (next.done) break;
      const chunk = next.value;
      for (let at = 0; at < chunk.length;) {
        if (want === 0) throw new GatewayError("UpstreamInvalid", `The Hub sent more than ${meta.size} bytes of ${f.path}`);
        const n = Math.min(chunk.length - at, want - filled);
        parts.push(at === 0 && n === chunk.length ? chunk : chunk.subarray(at, at + n));
        filled += n;
        at += n;
        received += n;
        if (filled === want) {
          // Disk errors (a full disk is CacheDiskFull) are not the network's: they go out as they are, untried again.
          // A block another process wrote meanwhile is replaced by the same bytes (atomically), not checked for first.
          await this.cache.writeBlock(f.repo, f.sha, f.path, meta, index, parts);
          onBlock(index, parts);
          index++;
          want = blockLength(meta, index);
          parts = [];
          filled = 0;
        }
      }
    }
    if (received !== expectedBytes) throw new RetryableError(`the body of ${f.path} was cut after ${received} of ${expectedBytes} bytes`);
    if (filled > 0) throw new GatewayError("UpstreamInvalid", `The Hub's answer for ${f.path} ended inside a block`);
  }

  /**
   * Bytes [start, end] of a file whose blocks were ensured, block by block, held from this process's eviction
   * while they are read. A block that left the cache since (evicted by another process, or just before the hold)
   * is fetched again with the rest of the span that is missing, so long streamed reads survive eviction too.
   * Blocks in `fresh` (fetched by this read's `ensure`) are served from memory; `onFetch` hears when a missing
   * block had to be fetched.
   */
  async *read(f: FileRef, meta: FileMeta, start: number, end: number, fresh?: FreshBlocks, onFetch?: () => void, into?: Buffer): AsyncGenerator<Buffer> {
    if (end < start) return;
    const B = meta.blockBytes;
    const release = this.cache.hold(f.repo, f.sha, f.path, meta, Math.floor(start / B), Math.floor(end / B));
    try {
      for (let i = Math.floor(start / B); i <= Math.floor(end / B); i++) {
        const from = Math.max(start, i * B) - i * B;
        const to = Math.min(end + 1, (i + 1) * B) - i * B;
        const inMemory = fresh?.get(i);
        if (inMemory) {
          this.cache.used(f.repo, f.sha, f.path, meta, i);
          yield* sliceParts(inMemory, from, to);
          continue;
        }
        // Read from disk into `into` (the whole answer's buffer) where given.
        const target = into && { buffer: into, offset: i * B + from - start };
        let slice = await this.cache.readBlockSlice(f.repo, f.sha, f.path, meta, i, from, to, target);
        if (!slice) {
          if (!(await this.ensure(f, meta, Math.max(start, i * B), end, fresh)).fromCache) onFetch?.();
          const fetched = fresh?.get(i);
          if (fetched) {
            this.cache.used(f.repo, f.sha, f.path, meta, i);
            yield* sliceParts(fetched, from, to);
            continue;
          }
          slice = await this.cache.readBlockSlice(f.repo, f.sha, f.path, meta, i, from, to, target);
        }
        if (!slice) throw new GatewayError("SourceUnreachable", `Block ${i} of ${f.path} left the cache twice while it was being read`, { path: f.path });
        yield slice;
      }
    } finally {
      release();
    }
  }

  /**
   * Bytes [start, end] in parts (to be sent one after the other, not joined): blocks on disk are read as they are
   * (no check for them first) into one buffer of the read-buffer pool, the missing ones fetched in runs and served
   * from memory. `fromCache`: nothing was fetched. Call `release` once the parts are no longer used (sent).
   */
  async readSpan(
    f: FileRef,
    meta: FileMeta,
    start: number,
    end: number,
    fresh: FreshBlocks = new Map(),
  ): Promise<{ parts: Buffer[]; fromCache: boolean; release: () => void }> {
    const parts: Buffer[] = [];
    let fromCache = true;
    const pooled = end >= start ? takeReadBuffer(end - start + 1) : null;
    try {
      for await (const part of this.read(f, meta, start, end, fresh, () => (fromCache = false), pooled ?? undefined)) parts.push(part);
    } catch (e) {
      if (pooled) giveReadBuffer(pooled);
      throw e;
    }
    let released = false;
    const release = (): void => {
      if (pooled && !released) giveReadBuffer(pooled);
      released = true;
    };
    return { parts, fromCache, release };
  }

  /** Bytes [start, end] in one buffer. */
  async readAll(f: FileRef, meta: FileMeta, start: number, end: number): Promise<Buffer> {
    const { parts, release } = await this.readSpan(f, meta, start, end);
    const all = Buffer.concat(parts);
    release();
    return all;
  }
}
