/**
 * The gateway's disk cache for one Hub endpoint. Everything under a commit sha is immutable, so entries never
 * go stale; only refs (branch → sha, as last resolved online) and repo info change.
 *
 *   <root>/hf/<source>/@source.json                              {endpoint}: the upstream (for the cache listing)
 *   <root>/hf/<source>/<owner>/<repo>/@refs/<rev>.json           last sha a revision resolved to (for offline open)
 *   <root>/hf/<source>/<owner>/<repo>/@repo-info.json            GET /api/datasets/<repo>
 *   <root>/hf/<source>/<owner>/<repo>/<sha>/@docs/<hash>.json    repo info, tree listings, paths-info of that commit
 *   <root>/hf/<source>/<owner>/<repo>/<sha>/files/<path>/@file.json   {size, etag, blockBytes}
 *   <root>/hf/<source>/<owner>/<repo>/<sha>/files/<path>/@<start>.blk bytes [start, start + blockBytes) of the file
 *   <root>/hf/<source>/<owner>/<repo>/<sha>/@pins/<id>.json      blocks a pin keeps (cache-pins.ts)
 *
 * Byte ranges live on a grid of fixed blocks (the last one short), so overlapping and adjacent ranges share
 * blocks and merge by construction, and a read of any range is a lookup of the blocks it spans. Each file is
 * written to a temp name and renamed into place, so an entry is whole or absent; blocks are checked against
 * their expected length when read, and anything else is discarded. Names starting with "@" cannot collide with
 * repo paths, whose segments are percent-encoded.
 *
 * A block's mtime is its last use: set when it is written and when it is read (at most once per
 * `touchIntervalMs` per process, cache-keeper.ts), so every process sharing the folder sees one LRU order. Writes are counted towards the size cap; reads are reported to
 * pins being recorded.
 */
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import { isDiskFull } from "../errors";
import { BlockHandles } from "./block-handles";
import { CacheKeeper, touchFile, useStamp } from "./cache-keeper";
import { GatewayError } from "./errors";
import type { RepoId } from "./hub-routes";

export interface FileMeta {
  size: number;
  /** The Hub's ETag of the file (LFS sha256 or git oid), unquoted; null when the Hub sent none. */
  etag: string | null;
  /** ETag of the CDN's answers (may differ from the Hub's), learned on the first CDN read. */
  cdnEtag: string | null;
  blockBytes: number;
}

/** A cached Hub answer: status, the headers worth keeping, and the body text. */
export interface CachedDoc {
  status: number;
  headers: Record<string, string>;
  body: string;
}

const TEMP_MAX_AGE_MS = 60 * 60 * 1000;
/** A block write checks its file's @file.json at most this often (and whenever it had to make the folder again). */
const META_CHECK_INTERVAL_MS = 10_000;
/** Default granularity of a block's last use as reads record it. */
export const TOUCH_INTERVAL_MS = 10_000;

export function segment(s: string): string {
  // encodeURIComponent leaves "*" (not allowed on Windows) and never yields "@", ".", ".." for valid segments.
  return encodeURIComponent(s).replace(/\*/g, "%2A");
}

export function sourceKey(endpoint: string): string {
  const url = new URL(endpoint);
  const host = `${url.hostname}${url.port ? `_${url.port}` : ""}`.replace(/[^A-Za-z0-9._-]/g, "_");
  return `${host}-${createHash("sha256").update(endpoint).digest("hex").slice(0, 8)}`;
}

/** Writes all of `parts` through `handle`, however short each write comes back. */
async function writeParts(handle: fs.FileHandle, parts: readonly Uint8Array[]): Promise<void> {
  let rest = parts.filter((p) => p.length > 0);
  while (rest.length) {
    let { bytesWritten } = await handle.writev(rest);
    let i = 0;
    while (i < rest.length && bytesWritten >= rest[i].length) bytesWritten -= rest[i++].length;
    rest = rest.slice(i);
    if (rest.length && bytesWritten > 0) rest[0] = rest[0].subarray(bytesWritten);
  }
}

/**
 * Writes `data` (a string, bytes, or bytes in parts, written as they are without joining them) to `file`
 * atomically (temp + rename); ENOSPC becomes CacheDiskFull and leaves nothing behind. `mtimeMs` sets the
 * entry's last use. The folder is made when the write finds it missing (also when an eviction or clear in
 * another process removed it meanwhile, once more). Resolves to whether the folder had to be made. `adopt`:
 * takes the written file's handle (open for reading too) instead of it being closed, once the file is in place.
 */
export async function writeAtomic(
  file: string,
  data: Uint8Array | string | readonly Uint8Array[],
  opts: { mtimeMs?: number; adopt?: (handle: fs.FileHandle) => void } = {},
): Promise<boolean> {
  let made = false;
  for (let attempt = 0; ; attempt++) {
    const temp = `${file}.tmp-${process.pid}-${randomBytes(6).toString("hex")}`;
    try {
      const handle = await fs.open(temp, opts.adopt ? "wx+" : "wx");
      let placed = false;
      try {
        if (typeof data === "string" || data instanceof Uint8Array) await handle.writeFile(data);
        else await writeParts(handle, data);
        if (opts.mtimeMs !== undefined) await handle.utimes(opts.mtimeMs / 1000, opts.mtimeMs / 1000);
        await fs.rename(temp, file);
        placed = true;
      } finally {
        if (placed && opts.adopt) opts.adopt(handle);
        else await handle.close();
      }
      return made;
    } catch (e) {
      await fs.rm(temp, { force: true }).catch(() => undefined);
      if (isDiskFull(e))
        throw new GatewayError("CacheDiskFull", `No space left on the disk of the cache (${path.dirname(file)}): free space or move the cache`, { path: file });
      if ((e as NodeJS.ErrnoException).code !== "ENOENT" || attempt >= 2) throw e;
      if ((await fs.mkdir(path.dirname(file), { recursive: true }).catch(mkdirFailed(file))) !== undefined) made = true;
    }
  }
}

/** A folder that cannot be made: a full disk is CacheDiskFull, anything else goes out as it is. */
function mkdirFailed(file: string): (e: unknown) => never {
  return (e) => {
    if (isDiskFull(e))
      throw new GatewayError("CacheDiskFull", `No space left on the disk of the cache (${path.dirname(file)}): free space or move the cache`, { path: file });
    throw e;
  };
}

async function readJson<T>(file: string, valid: (v: unknown) => v is T): Promise<T | null> {
  let text: string;
  try {
    text = await fs.readFile(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw e;
  }
  try {
    const value: unknown = JSON.parse(text);
    if (valid(value)) return value;
  } catch {
    // fall through: a damaged entry is dropped and fetched again
  }
  await fs.rm(file, { force: true });
  return null;
}

function isDoc(v: unknown): v is CachedDoc & { bodyLength: number } {
  const d = v as { status?: unknown; headers?: unknown; body?: unknown; bodyLength?: unknown };
  return typeof d?.status === "number" && typeof d.headers === "object" && d.headers !== null && typeof d.body === "string" && d.bodyLength === d.body.length;
}

function isMeta(v: unknown): v is FileMeta {
  const m = v as Partial<FileMeta>;
  return (
    Number.isSafeInteger(m?.size) &&
    m.size! >= 0 &&
    Number.isSafeInteger(m.blockBytes) &&
    m.blockBytes! > 0 &&
    (m.etag === null || typeof m.etag === "string") &&
    (m.cdnEtag === null || typeof m.cdnEtag === "string")
  );
}

function isRef(v: unknown): v is { sha: string } {
  return typeof (v as { sha?: unknown })?.sha === "string" && /^[0-9a-f]{40}$/.test((v as { sha: string }).sha);
}

export class HubDiskCache {
  readonly dir: string;
  readonly keeper: CacheKeeper;
  /** Open handles of the blocks read last (block-handles.ts). */
  private readonly handles = new BlockHandles();
  /** File folder → when a block write last found (or put) its @file.json there. */
  private readonly metaChecked = new Map<string, number>();

  /**
   * `kind` "s3": the same layout for an S3 endpoint (s3-objects.ts maps buckets, ETags and keys onto it).
   * `touchIntervalMs`: a read sets a block's mtime only if this process has not set it for that long.
   */
  constructor(
    readonly root: string,
    private readonly endpoint: string,
    readonly kind: "hf" | "s3" = "hf",
    private readonly touchIntervalMs = TOUCH_INTERVAL_MS,
  ) {
    this.dir = path.join(root, kind, sourceKey(endpoint));
    this.keeper = CacheKeeper.for(root);
  }

  /** Records the upstream of this source folder (again after a clear), for the cache listing: the URL only, never a token. */
  private async noteSource(): Promise<void> {
    const file = path.join(this.dir, "@source.json");
    if (await fs.stat(file).catch(() => null)) return;
    const url = new URL(this.endpoint);
    url.username = "";
    url.password = "";
    await writeAtomic(file, JSON.stringify({ endpoint: url.toString().replace(/\/+$/, "") })).catch(() => undefined);
  }

  repoDir(repo: RepoId): string {
    return path.join(this.dir, segment(repo.owner), segment(repo.name));
  }

  revisionDir(repo: RepoId, sha: string): string {
    return path.join(this.repoDir(repo), sha);
  }

  /** The folder of a file's meta and blocks (or, for a folder's path, the prefix of its files' folders). */
  fileDir(repo: RepoId, sha: string, repoPath: string): string {
    return path.join(this.repoDir(repo), sha, "files", ...repoPath.split("/").filter(Boolean).map(segment));
  }

  async readRef(repo: RepoId, rev: string): Promise<string | null> {
    return (await readJson(path.join(this.repoDir(repo), "@refs", `${segment(rev)}.json`), isRef))?.sha ?? null;
  }

  async writeRef(repo: RepoId, rev: string, sha: string): Promise<void> {
    await this.noteSource();
    await writeAtomic(path.join(this.repoDir(repo), "@refs", `${segment(rev)}.json`), JSON.stringify({ sha, resolvedAt: new Date().toISOString() }));
  }

  private docFile(repo: RepoId, sha: string | null, key: string): string {
    const name = `${createHash("sha256").update(key).digest("hex").slice(0, 32)}.json`;
    return sha === null ? path.join(this.repoDir(repo), `@${key}.json`) : path.join(this.repoDir(repo), sha, "@docs", name);
  }

  /** A cached answer of the Hub: per commit (`sha`), or per repo (`sha` null, `key` a plain word). */
  async readDoc(repo: RepoId, sha: string | null, key: string): Promise<CachedDoc | null> {
    const doc = await readJson(this.docFile(repo, sha, key), isDoc);
    return doc ? { status: doc.status, headers: doc.headers, body: doc.body } : null;
  }

  async writeDoc(repo: RepoId, sha: string | null, key: string, doc: CachedDoc): Promise<void> {
    await writeAtomic(this.docFile(repo, sha, key), JSON.stringify({ ...doc, key, bodyLength: doc.body.length }));
  }

  async readFileMeta(repo: RepoId, sha: string, repoPath: string): Promise<FileMeta | null> {
    return readJson(path.join(this.fileDir(repo, sha, repoPath), "@file.json"), isMeta);
  }

  async writeFileMeta(repo: RepoId, sha: string, repoPath: string, meta: FileMeta): Promise<void> {
    await this.noteSource();
    await writeAtomic(path.join(this.fileDir(repo, sha, repoPath), "@file.json"), JSON.stringify(meta));
  }

  blockFile(repo: RepoId, sha: string, repoPath: string, start: number): string {
    return path.join(this.fileDir(repo, sha, repoPath), `@${start}.blk`);
  }

  /** Whether block `index` is on disk with its full length; a block of any other length is removed. */
  async hasBlock(repo: RepoId, sha: string, repoPath: string, meta: FileMeta, index: number): Promise<boolean> {
    const file = this.blockFile(repo, sha, repoPath, index * meta.blockBytes);
    try {
      const stat = await fs.stat(file);
      if (stat.isFile() && stat.size === blockLength(meta, index)) return true;
      await fs.rm(file, { force: true });
      return false;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return false;
      throw e;
    }
  }

  /** Writes block `index`: its bytes in one piece or in parts (as they came from upstream). */
  async writeBlock(repo: RepoId, sha: string, repoPath: string, meta: FileMeta, index: number, bytes: Uint8Array | readonly Uint8Array[]): Promise<void> {
    const length = bytes instanceof Uint8Array ? bytes.length : bytes.reduce((n, p) => n + p.length, 0);
    if (length !== blockLength(meta, index)) throw new Error(`block ${index} of ${repoPath} has ${length} bytes, expected ${blockLength(meta, index)}`);
    const file = this.blockFile(repo, sha, repoPath, index * meta.blockBytes);
    const stamp = useStamp();
    // The written file's handle serves the reads that follow (a scan reads a block again right after fetching it).
    const madeFolder = await writeAtomic(file, bytes, { mtimeMs: stamp, adopt: (handle) => this.handles.adopt(file, handle) });
    this.keeper.noteStamp(file, stamp);
    this.keeper.noteWrite(length);
    // The file's meta may have been removed with its folder (an evict or clear) while this process kept it in memory:
    // certainly when the folder had to be made again; otherwise checked at most once per interval per file.
    const dir = this.fileDir(repo, sha, repoPath);
    const now = Date.now();
    const checked = this.metaChecked.get(dir);
    if (!madeFolder && checked !== undefined && now - checked < META_CHECK_INTERVAL_MS) return;
    if (this.metaChecked.size >= 10_000) this.metaChecked.clear();
    this.metaChecked.set(dir, now);
    if (madeFolder || !(await fs.stat(path.join(dir, "@file.json")).catch(() => null))) await this.writeFileMeta(repo, sha, repoPath, meta);
  }

  /** Keeps blocks first..last of a file from this process's eviction while they are served; call the result to release. */
  hold(repo: RepoId, sha: string, repoPath: string, meta: FileMeta, first: number, last: number): () => void {
    return this.keeper.hold(this.fileDir(repo, sha, repoPath), first * meta.blockBytes, last * meta.blockBytes);
  }

  /**
   * Bytes [from, to) of block `index` (offsets within the block); null when the block is gone or damaged. `into`:
   * read into that buffer at `offset` (the result is a view of it) instead of a new one.
   */
  async readBlockSlice(
    repo: RepoId,
    sha: string,
    repoPath: string,
    meta: FileMeta,
    index: number,
    from: number,
    to: number,
    into?: { buffer: Buffer; offset: number },
  ): Promise<Buffer | null> {
    const file = this.blockFile(repo, sha, repoPath, index * meta.blockBytes);
    const lease = await this.handles.acquire(file, blockLength(meta, index));
    if (!lease) return null;
    try {
      const out = into ? into.buffer.subarray(into.offset, into.offset + to - from) : Buffer.allocUnsafe(to - from);
      const { bytesRead } = await lease.handle.read(out, 0, out.length, from);
      if (bytesRead !== out.length) return null;
      if (this.keeper.dueForTouch(file, Date.now(), this.touchIntervalMs)) {
        const stamp = useStamp();
        await touchFile(lease.handle, stamp);
        this.keeper.noteStamp(file, stamp);
      }
      this.keeper.used(file, blockLength(meta, index));
      return out;
    } finally {
      lease.release();
    }
  }

  /** Block `index` was served from memory (just fetched): report it to the pins being recorded, as a disk read does. */
  used(repo: RepoId, sha: string, repoPath: string, meta: FileMeta, index: number): void {
    this.keeper.used(this.blockFile(repo, sha, repoPath, index * meta.blockBytes), blockLength(meta, index));
  }

  /** Closes the block files this cache keeps open for reads (the gateway's close). */
  close(): Promise<void> {
    return this.handles.closeAll();
  }

  /** Removes temp files older than an hour under a file's folder (left by a crash; other processes' recent ones stay). */
  async sweepTemps(repo: RepoId, sha: string, repoPath: string): Promise<void> {
    const dir = this.fileDir(repo, sha, repoPath);
    let names: string[];
    try {
      names = await fs.readdir(dir);
    } catch {
      return;
    }
    const now = Date.now();
    for (const name of names) {
      if (!name.includes(".tmp-")) continue;
      const file = path.join(dir, name);
      const stat = await fs.stat(file).catch(() => null);
      if (stat && now - stat.mtimeMs > TEMP_MAX_AGE_MS) await fs.rm(file, { force: true });
    }
  }
}

export function blockLength(meta: FileMeta, index: number): number {
  return Math.max(0, Math.min(meta.blockBytes, meta.size - index * meta.blockBytes));
}

export function blockCount(meta: FileMeta): number {
  return Math.ceil(meta.size / meta.blockBytes);
}
