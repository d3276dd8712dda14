/**
 * The S3 side of the gateway: datasets opened with `pin` (each open is a session with its own local key pair,
 * which routes Lance's requests to the right upstream and bucket), object ETags and sizes learned once per open,
 * listings fetched once per open, and object bytes through the same block cache as the Hub's.
 *
 * On disk (the Hub's layout of disk-cache.ts, with the bucket as owner, "objects" as repo and the object's ETag
 * as the revision, so a rewritten object never mixes with its old blocks):
 *
 *   <root>/s3/<source>/<bucket>/objects/<etag-hash>/files/<key>/@file.json     {size, etag, blockBytes}
 *   <root>/s3/<source>/<bucket>/objects/<etag-hash>/files/<key>/@<start>.blk   bytes of that version
 *   <root>/s3/<source>/<bucket>/objects/@current/@docs/<hash>.json              last HEAD of a key (offline opens)
 *   <root>/s3/<source>/<bucket>/objects/@listings/@docs/<hash>.json             last answer to a listing query
 *
 * `<etag-hash>` is 40 hex characters of sha256(ETag). Online, every open learns each object's ETag anew (from a
 * listing or a HEAD) and reads carry `If-Match`; offline, the last ETag seen online is used.
 */
import { createHash, randomBytes } from "node:crypto";
import { AppFailure } from "../../../shared/result";
import { HubDiskCache, type CachedDoc, type FileMeta } from "./disk-cache";
import { GatewayError } from "./errors";
import type { RepoId } from "./hub-routes";
import { RemoteFiles, type FileRef } from "./remote-files";
import type { S3Counters } from "./s3-counters";
import { uriEncode, type S3Credentials } from "./s3-sigv4";
import { S3Upstream, s3Uri, type ObjectHead } from "./s3-upstream";
import { isTruncated, keyCount, listedObjects } from "./s3-xml";
import type { RetryPolicy } from "./upstream";

/** How to reach a bucket: the user's settings. */
export interface S3Access {
  accessKeyId?: string;
  secretAccessKey?: string;
  sessionToken?: string;
  /** The bucket's region; default us-east-1. */
  region?: string;
  /** An S3-compatible endpoint (MinIO, Ceph, R2, Tigris...); default AWS. */
  endpoint?: string;
  /** Default: path-style for a custom endpoint, virtual-hosted for AWS. */
  pathStyle?: boolean;
  /** Unsigned requests, for public buckets (also when no key is given). */
  anonymous?: boolean;
}

export interface PinnedS3Dataset {
  source: "s3";
  /** What Lance opens: `s3://<bucket>[/<prefix>]`. */
  uri: string;
  bucket: string;
  /** The folder inside the bucket ("" for the whole bucket), no trailing slash. */
  prefix: string;
  /** ETag of `<prefix>/config.json` at open (null when there is none or it was never read): changes when the dataset is rewritten. */
  version: string | null;
  /** Storage options for `lancedb.connect` / `openTable`: the gateway as endpoint, with this open's local key pair. */
  storageOptions: Record<string, string>;
}

export interface S3CachePlace {
  cache: HubDiskCache;
  repo: RepoId;
  versionOf(key: string): string | null;
}

export interface S3ObjectsOptions {
  cacheDir: string;
  blockBytes: number;
  maxFetchBytes: number;
  touchIntervalMs?: number;
  retry: RetryPolicy;
  idleTimeoutMs: number;
  maxSlowDownWaitMs: number;
  maxSockets: number;
  isOffline: () => boolean;
  counters: S3Counters;
}

interface Mount {
  upstream: S3Upstream;
  cache: HubDiskCache;
  files: RemoteFiles;
  region: string;
  /** The cache root its blocks go to: the user's cache, or a cold scope's scratch folder (index.ts `coldScope`). */
  cacheDir: string;
}

interface ObjectEntry {
  head: ObjectHead;
  /** Written to disk (current HEAD and file meta) for this open. */
  recorded: boolean;
}

export interface S3Session {
  accessKeyId: string;
  secret: string;
  mount: Mount;
  bucket: string;
  prefix: string;
  objects: Map<string, ObjectEntry>;
  resolving: Map<string, Promise<ObjectEntry>>;
  lists: Map<string, Promise<string>>;
  /** Folder (ending in "/") → what the open's own folder listings hold of it (s3-objects.ts `listAround`). */
  folders: Map<string, FolderReach>;
}

interface FolderReach {
  /** Key spans (after, upTo] whose every existing object was learned from a listing; null: unbounded. */
  spans: { after: string | null; upTo: string | null }[];
  /** The listing under way (one at a time per folder: concurrent misses mostly fall in its page). */
  busy: Promise<void>;
}

/** Objects per listing page the gateway asks for to learn ETags (S3's maximum). */
const FOLDER_PAGE_KEYS = "1000";

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const LIST_PARAMS = new Set(["list-type", "prefix", "delimiter", "continuation-token", "start-after", "max-keys", "encoding-type", "fetch-owner"]);
const DEFAULT_REGION = "us-east-1";

function badUri(uri: string, why: string): AppFailure {
  return new AppFailure("INVALID_ARGUMENT", `Not an S3 dataset URI (${why}): ${uri}. Expected s3://<bucket>[/<prefix>]`);
}

/** `s3://bucket/some/prefix/` → { bucket, prefix: "some/prefix" } */
export function parseS3Uri(uri: string): { bucket: string; prefix: string } {
  const m = /^s3:\/\/([^/]*)(?:\/(.*))?$/.exec(uri.trim());
  if (!m) throw badUri(uri, "it does not start with s3://");
  if (!BUCKET.test(m[1]) || m[1].includes("..")) throw badUri(uri, "the bucket name is not valid");
  const segments = (m[2] ?? "").replace(/\/+$/, "").split("/");
  const prefix = segments.join("/");
  if (prefix !== "" && segments.some((s) => s === "" || s === "." || s === ".." || s.includes("\0")))
    throw badUri(uri, "the path inside the bucket is not valid");
  return { bucket: m[1], prefix };
}

export function etagHash(etag: string): string {
  return createHash("sha256").update(etag).digest("hex").slice(0, 40);
}

function offline(what: string, key?: string): GatewayError {
  return new GatewayError("OfflineNotCached", `Offline, and ${what} is not in the local cache`, key === undefined ? {} : { path: key });
}

export class S3Objects {
  private readonly mounts = new Map<string, Mount>();
  private readonly sessions = new Map<string, S3Session>();

  constructor(private readonly opts: S3ObjectsOptions) {}

  private mount(access: S3Access, cacheDir: string): Mount {
    const endpoint = (access.endpoint ?? "").replace(/\/+$/, "");
    const region = access.region || DEFAULT_REGION;
    const anonymous = access.anonymous === true || !access.accessKeyId;
    if (!anonymous && !access.secretAccessKey) throw new AppFailure("INVALID_ARGUMENT", "An S3 access key needs its secret");
    const credentials: S3Credentials | null = anonymous
      ? null
      : { accessKeyId: access.accessKeyId!, secretAccessKey: access.secretAccessKey!, ...(access.sessionToken ? { sessionToken: access.sessionToken } : {}) };
    const upstreamEndpoint = endpoint || `https://s3.${region}.amazonaws.com`;
    try {
      if (!["http:", "https:"].includes(new URL(upstreamEndpoint).protocol)) throw new Error("not http(s)");
    } catch {
      throw new AppFailure("INVALID_ARGUMENT", `The S3 endpoint is not an http(s) URL: ${endpoint}`);
    }
    const pathStyle = access.pathStyle ?? endpoint !== "";
    const id = createHash("sha256")
      .update(JSON.stringify([upstreamEndpoint, region, pathStyle, credentials, cacheDir]))
      .digest("hex");
    const known = this.mounts.get(id);
    if (known) return known;
    const upstream = new S3Upstream({
      endpoint: upstreamEndpoint,
      region,
      pathStyle,
      credentials,
      retry: this.opts.retry,
      idleTimeoutMs: this.opts.idleTimeoutMs,
      maxSlowDownWaitMs: this.opts.maxSlowDownWaitMs,
      counters: this.opts.counters,
      maxSockets: this.opts.maxSockets,
    });
    // Buckets are named per endpoint (globally on AWS, whatever the region), so the cache is too.
    const cache = new HubDiskCache(cacheDir, endpoint || "https://s3.amazonaws.com", "s3", this.opts.touchIntervalMs);
    const files = new RemoteFiles(cache, upstream, {
      blockBytes: this.opts.blockBytes,
      maxFetchBytes: this.opts.maxFetchBytes,
      isOffline: this.opts.isOffline,
    });
    const mount = { upstream, cache, files, region, cacheDir };
    this.mounts.set(id, mount);
    return mount;
  }

  session(accessKeyId: string): S3Session | null {
    return this.sessions.get(accessKeyId) ?? null;
  }

  /**
   * Opens `s3://bucket/prefix`: checks it exists and can be read (online), or was read before (offline).
   * `cacheDir`: where this open's blocks go (default the user's cache; a cold scope passes its scratch folder).
   */
  async pin(uri: string, access: S3Access, gatewayEndpoint: string, cacheDir = this.opts.cacheDir): Promise<PinnedS3Dataset> {
    const { bucket, prefix } = parseS3Uri(uri);
    const mount = this.mount(access, cacheDir);
    const accessKeyId = `SLAF${randomBytes(8).toString("hex").toUpperCase()}`;
    const session: S3Session = {
      accessKeyId,
      secret: randomBytes(30).toString("base64url"),
      mount,
      bucket,
      prefix,
      objects: new Map(),
      resolving: new Map(),
      lists: new Map(),
      folders: new Map(),
    };
    this.sessions.set(accessKeyId, session);
    try {
      const probe = new Map([
        ["list-type", ["2"]],
        ["max-keys", ["1"]],
        ["prefix", [prefix ? `${prefix}/` : ""]],
      ]);
      const { body } = await this.list(session, probe);
      if (keyCount(body) === 0) throw new GatewayError("EntryNotFound", `There is nothing at ${s3Uri(bucket, prefix)} (no object under it)`);
      let version: string | null = null;
      try {
        version = (await this.object(session, prefix ? `${prefix}/config.json` : "config.json")).head.etag;
      } catch (e) {
        if (!(e instanceof GatewayError) || (e.code !== "EntryNotFound" && e.code !== "OfflineNotCached")) throw e;
      }
      return {
        source: "s3",
        uri: s3Uri(bucket, prefix),
        bucket,
        prefix,
        version,
        storageOptions: {
          endpoint: gatewayEndpoint,
          allow_http: "true",
          region: mount.region,
          aws_access_key_id: accessKeyId,
          aws_secret_access_key: session.secret,
          aws_virtual_hosted_style_request: "false",
        },
      };
    } catch (e) {
      this.sessions.delete(accessKeyId);
      throw e;
    }
  }

  private repo(session: S3Session): RepoId {
    return { owner: session.bucket, name: "objects" };
  }

  /**
   * An object's ETag, size and last change for this open: learned from a listing or a HEAD (online, once per
   * open), or the last HEAD seen online (offline). `fromCache`: no upstream request was needed.
   */
  async object(session: S3Session, key: string): Promise<{ head: ObjectHead; fromCache: boolean }> {
    const known = session.objects.get(key);
    if (known) {
      if (!known.recorded) await this.record(session, key, known);
      return { head: known.head, fromCache: true };
    }
    let pending = session.resolving.get(key);
    const fromCache = this.opts.isOffline();
    if (!pending) {
      pending = this.resolve(session, key).finally(() => session.resolving.delete(key));
      session.resolving.set(key, pending);
    }
    const entry = await pending;
    return { head: entry.head, fromCache };
  }

  private async resolve(session: S3Session, key: string): Promise<ObjectEntry> {
    const { cache, upstream } = session.mount;
    let entry: ObjectEntry;
    if (this.opts.isOffline()) {
      const doc = await cache.readDoc(this.repo(session), "@current", `head\n${key}`);
      const head = doc ? (JSON.parse(doc.body) as ObjectHead) : null;
      if (!head) throw offline(s3Uri(session.bucket, key), key);
      entry = { head, recorded: true };
      upstream.rememberEtag(etagHash(head.etag), head.etag);
    } else {
      await this.listAround(session, key);
      entry = session.objects.get(key) ?? { head: await upstream.head(session.bucket, key), recorded: false };
      await this.record(session, key, entry);
    }
    session.objects.set(key, entry);
    return entry;
  }

  /**
   * Learns `key` and its neighbours from one listing page of its folder (a data folder of N files then costs one
   * request instead of N HEADs), unless a page this open listed already covers it. A key a page covers but does
   * not hold, or a failed listing, is left to the HEAD, which names what is wrong.
   */
  private async listAround(session: S3Session, key: string): Promise<void> {
    const slash = key.lastIndexOf("/");
    const folder = slash < 0 ? "" : key.slice(0, slash + 1);
    if (session.prefix !== "" && !folder.startsWith(`${session.prefix}/`)) return;
    let reach = session.folders.get(folder);
    if (!reach) {
      reach = { spans: [], busy: Promise.resolve() };
      session.folders.set(folder, reach);
    }
    const folderReach = reach;
    const covered = (): boolean => folderReach.spans.some((s) => (s.after === null || key > s.after) && (s.upTo === null || key <= s.upTo));
    const run = folderReach.busy.then(async () => {
      if (session.objects.has(key) || covered()) return;
      // The first page starts at the folder's start; later ones just before the key (a truncated folder).
      const after = folderReach.spans.length === 0 ? null : key.slice(0, -1);
      const query = new Map([
        ["list-type", ["2"]],
        ["prefix", [folder]],
        ["delimiter", ["/"]],
        ["max-keys", [FOLDER_PAGE_KEYS]],
        ...(after !== null ? ([["start-after", [after]]] as [string, string[]][]) : []),
      ]);
      const body = await session.mount.upstream.list(session.bucket, query);
      let last: string | null = null;
      for (const o of listedObjects(body, false)) {
        if (!session.objects.has(o.key)) session.objects.set(o.key, { head: { etag: o.etag, size: o.size, lastModified: o.lastModified }, recorded: false });
        if (last === null || o.key > last) last = o.key;
      }
      const truncated = isTruncated(body);
      if (!truncated || last !== null) folderReach.spans.push({ after, upTo: truncated ? last : null });
    });
    folderReach.busy = run.catch(() => undefined);
    await folderReach.busy;
  }

  /** Writes what this open learned of an object: its current HEAD (for offline opens) and its file meta. */
  private async record(session: S3Session, key: string, entry: ObjectEntry): Promise<void> {
    const { cache, upstream } = session.mount;
    const repo = this.repo(session);
    const hash = etagHash(entry.head.etag);
    upstream.rememberEtag(hash, entry.head.etag);
    const doc: CachedDoc = { status: 200, headers: {}, body: JSON.stringify(entry.head) };
    await cache.writeDoc(repo, "@current", `head\n${key}`, doc);
    if (!(await cache.readFileMeta(repo, hash, key)))
      await cache.writeFileMeta(repo, hash, key, { size: entry.head.size, etag: entry.head.etag, cdnEtag: null, blockBytes: this.opts.blockBytes });
    entry.recorded = true;
  }

  /** The block cache's handle of an object version. */
  fileRef(session: S3Session, key: string, head: ObjectHead): FileRef {
    return { repo: this.repo(session), sha: etagHash(head.etag), path: key };
  }

  /**
   * A ListObjectsV2 answer for this open: fetched once per open (and kept on disk for offline opens); the
   * objects it lists are learned with their ETags, so reading them needs no HEAD.
   */
  async list(session: S3Session, query: Map<string, string[]>): Promise<{ body: string; fromCache: boolean }> {
    const params = new Map([...query].filter(([k]) => LIST_PARAMS.has(k)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    const canonical = [...params].map(([k, vs]) => vs.map((v) => `${uriEncode(k)}=${uriEncode(v)}`).join("&")).join("&");
    const cached = session.lists.get(canonical);
    if (cached) return { body: await cached, fromCache: true };
    const repo = this.repo(session);
    const docKey = `list\n${canonical}`;
    const fetch = async (): Promise<string> => {
      if (this.opts.isOffline()) {
        const doc = await session.mount.cache.readDoc(repo, "@listings", docKey);
        const prefix = params.get("prefix")?.[0] ?? "";
        if (!doc) throw offline(`the listing of ${s3Uri(session.bucket, prefix)}`, prefix);
        return doc.body;
      }
      const body = await session.mount.upstream.list(session.bucket, params);
      await session.mount.cache.writeDoc(repo, "@listings", docKey, { status: 200, headers: {}, body });
      for (const o of listedObjects(body, params.get("encoding-type")?.[0] === "url")) {
        if (!session.objects.has(o.key)) session.objects.set(o.key, { head: { etag: o.etag, size: o.size, lastModified: o.lastModified }, recorded: false });
      }
      return body;
    };
    const fromCache = this.opts.isOffline();
    const pending = fetch();
    session.lists.set(canonical, pending);
    try {
      return { body: await pending, fromCache };
    } catch (e) {
      session.lists.delete(canonical);
      throw e;
    }
  }

  /**
   * The block cache an opened dataset reads into, its bucket's place in it, and the version folder (ETag hash) of
   * a key as this open reads it (null: not learned by this open). Pins record there.
   */
  cacheOf(dataset: PinnedS3Dataset): S3CachePlace {
    const session = this.sessions.get(dataset.storageOptions.aws_access_key_id ?? "");
    if (!session) throw new AppFailure("DATASET_NOT_OPEN", `${dataset.uri} is not open in this gateway`);
    return {
      cache: session.mount.cache,
      repo: this.repo(session),
      versionOf: (key) => {
        const entry = session.objects.get(key);
        return entry ? etagHash(entry.head.etag) : null;
      },
    };
  }

  /** A whole file of an opened dataset (e.g. config.json), through the cache. */
  async readFile(dataset: PinnedS3Dataset, relativePath: string, maxBytes: number): Promise<Buffer> {
    const session = this.sessions.get(dataset.storageOptions.aws_access_key_id ?? "");
    if (!session) throw new AppFailure("DATASET_NOT_OPEN", `${dataset.uri} is not open in this gateway`);
    const segments = relativePath.split("/");
    if (segments.some((s) => s === "" || s === "." || s === "..")) throw new AppFailure("INVALID_ARGUMENT", `Not a path inside the dataset: ${relativePath}`);
    const key = session.prefix ? `${session.prefix}/${relativePath}` : relativePath;
    const { head } = await this.object(session, key);
    if (head.size > maxBytes)
      throw new AppFailure("INVALID_ARGUMENT", `${s3Uri(session.bucket, key)} is ${head.size} bytes, more than the ${maxBytes} expected`, { path: key });
    return this.read(session, key, head, 0, head.size - 1);
  }

  /** Bytes [start, end] of an object version, fetching what the cache lacks. */
  async read(session: S3Session, key: string, head: ObjectHead, start: number, end: number): Promise<Buffer> {
    if (end < start) return Buffer.alloc(0);
    const { parts, release } = await this.readSpan(session, key, head, start, end);
    const all = Buffer.concat(parts);
    release();
    return all;
  }

  /**
   * Makes bytes [start, end] of an object version present in the cache; an offline miss is named by its S3 URI.
   * `fromCache`: nothing was fetched.
   */
  async ensure(session: S3Session, key: string, head: ObjectHead, start: number, end: number): Promise<{ f: FileRef; meta: FileMeta; fromCache: boolean }> {
    return this.named(session, key, head, start, end, async (f, meta) => (await session.mount.files.ensure(f, meta, start, end)).fromCache);
  }

  /**
   * Bytes [start, end] of an object version in parts (RemoteFiles.readSpan: `release` once they are sent); an
   * offline miss is named by its S3 URI.
   */
  async readSpan(
    session: S3Session,
    key: string,
    head: ObjectHead,
    start: number,
    end: number,
  ): Promise<{ parts: Buffer[]; fromCache: boolean; release: () => void }> {
    let parts: Buffer[] = [];
    let release = (): void => undefined;
    const { fromCache } = await this.named(session, key, head, start, end, async (f, meta) => {
      const span = await session.mount.files.readSpan(f, meta, start, end);
      ({ parts, release } = span);
      return span.fromCache;
    });
    return { parts, fromCache, release };
  }

  /** Runs `use` on an object version's block cache handle and meta; `use` says whether nothing was fetched. */
  private async named(
    session: S3Session,
    key: string,
    head: ObjectHead,
    start: number,
    end: number,
    use: (f: FileRef, meta: FileMeta) => Promise<boolean>,
  ): Promise<{ f: FileRef; meta: FileMeta; fromCache: boolean }> {
    const f = this.fileRef(session, key, head);
    try {
      // The file's meta is on disk (recorded at open); if an eviction took it, only this span is fetched to learn it again.
      const { meta, fetched } = await session.mount.files.meta(f, { start, end });
      const fromCache = await use(f, meta);
      return { f, meta, fromCache: fromCache && !fetched };
    } catch (e) {
      if (e instanceof GatewayError && e.code === "OfflineNotCached")
        throw new GatewayError("OfflineNotCached", `Offline, and ${s3Uri(session.bucket, key)} (bytes ${start}-${end}) is not in the local cache`, {
          path: key,
        });
      throw e;
    }
  }

  /** Ends the opens reading into `cacheDir` (a cold scope's scratch folder) and closes their upstream connections and block files. */
  async forget(cacheDir: string): Promise<void> {
    const closing: Promise<void>[] = [];
    for (const [id, m] of this.mounts) {
      if (m.cacheDir !== cacheDir) continue;
      m.upstream.close();
      closing.push(m.cache.close());
      this.mounts.delete(id);
    }
    for (const [id, s] of this.sessions) if (s.mount.cacheDir === cacheDir) this.sessions.delete(id);
    await Promise.all(closing);
  }

  async close(): Promise<void> {
    for (const m of this.mounts.values()) m.upstream.close();
    this.sessions.clear();
    await Promise.all([...this.mounts.values()].map((m) => m.cache.close()));
  }
}
