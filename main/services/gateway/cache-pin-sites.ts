/**
 * Where a pin lives and how it reads, per source: a Hub dataset pins blocks of one commit and keeps its records
 * in that commit's folder; an S3 dataset pins blocks of the object versions the pin read and keeps its records
 * in the bucket's folder (cache-pins.ts). Both read through this process's gateway.
 */
import path from "node:path";
import { AppFailure } from "../../../shared/result";
import { HubDiskCache } from "./disk-cache";
import { gatewayFailure, type GatewayErrorCode } from "./errors";
import { withinFolder, type RepoId } from "./hub-routes";
import { parseHfUri, type Gateway, type PinnedDataset, type PinnedS3Dataset } from "./index";
import type { S3CachePlace } from "./s3-objects";
import { signRequest, uriEncode } from "./s3-sigv4";

/** A block a pin scope saw, placed in its repo or bucket. */
export interface PlacedBlock {
  /** Folder under the repo of the file's version: the commit sha (Hub) or the object version's ETag hash (S3). */
  folder: string;
  /** S3: the version to record with the file (absent for the Hub, whose record names the commit). */
  version?: string;
  repoPath: string;
  start: number;
}

export interface PinSite {
  readonly pinned: PinnedDataset | PinnedS3Dataset;
  /** "s3" for a bucket's dataset; absent for the Hub (as pin records say it). */
  readonly source?: "s3";
  /** `owner/repo` or the bucket, and the commit ("" for S3), as records name them. */
  readonly repo: string;
  readonly sha: string;
  /** The dataset's folder in the repo or bucket. */
  readonly datasetPath: string;
  readonly cache: HubDiskCache;
  readonly repoId: RepoId;
  /** The folder whose `@pins` holds this dataset's records. */
  readonly recordsDir: string;
  /** What Lance opens for a folder of the repo or bucket (a table's). */
  lanceUri(repoPath: string): string;
  /** Absolute folder prefixes whose served blocks a scope over these repo folders records. */
  scopeDirs(repoPaths: string[]): string[];
  /** A served block file's place, or null when it is not under one of these repo folders of this dataset. */
  place(blockFile: string, repoPaths: string[]): PlacedBlock | null;
  /** Reads bytes [start, end] of a file through the gateway again (a block that left the cache while pinning). */
  fetchAgain(block: PlacedBlock, end: number): Promise<void>;
}

/** `<folder>/files/<segments>/@<start>.blk` under `base` → its parts; null for anything else. */
function parseBlockFile(base: string, blockFile: string): { folder: string; repoPath: string; start: number } | null {
  const rel = path.relative(base, blockFile).split(path.sep);
  const start = Number(/^@(\d+)\.blk$/.exec(rel.at(-1) ?? "")?.[1]);
  if (rel.length < 4 || rel[1] !== "files" || !Number.isSafeInteger(start)) return null;
  try {
    return { folder: rel[0], repoPath: rel.slice(2, -1).map(decodeURIComponent).join("/"), start };
  } catch {
    return null;
  }
}

async function checkAnswer(res: Response, repoPath: string): Promise<void> {
  await res.arrayBuffer();
  if (res.status === 206 || res.status === 200) return;
  const code = res.headers.get("x-error-code") as GatewayErrorCode | null;
  const message = res.headers.get("x-error-message") ?? `HTTP ${res.status}`;
  throw code ? gatewayFailure(code, message, { status: res.status, path: repoPath }) : new AppFailure("SOURCE_UNREACHABLE", message, { path: repoPath });
}

const encodePath = (p: string): string => p.split("/").map(encodeURIComponent).join("/");

export class HubPinSite implements PinSite {
  readonly cache: HubDiskCache;
  readonly repoId: RepoId;
  readonly recordsDir: string;

  constructor(
    private readonly gateway: Gateway,
    readonly pinned: PinnedDataset,
  ) {
    this.cache = new HubDiskCache(gateway.cacheDir, gateway.hubUpstream);
    this.repoId = parseHfUri(pinned.uri).repo;
    this.recordsDir = this.cache.revisionDir(this.repoId, pinned.sha);
  }

  get repo(): string {
    return this.pinned.repo;
  }
  get sha(): string {
    return this.pinned.sha;
  }
  get datasetPath(): string {
    return this.pinned.path;
  }

  lanceUri(repoPath: string): string {
    return `hf://datasets/${this.pinned.repo}/${repoPath}`;
  }

  scopeDirs(repoPaths: string[]): string[] {
    return repoPaths.map((p) => this.cache.fileDir(this.repoId, this.pinned.sha, p));
  }

  place(blockFile: string, repoPaths: string[]): PlacedBlock | null {
    const parsed = parseBlockFile(this.cache.repoDir(this.repoId), blockFile);
    if (!parsed || parsed.folder !== this.pinned.sha || !repoPaths.some((p) => withinFolder(parsed.repoPath, p))) return null;
    return parsed;
  }

  async fetchAgain(block: PlacedBlock, end: number): Promise<void> {
    const res = await fetch(`${this.gateway.hfEndpoint}/datasets/${encodePath(this.pinned.repo)}/resolve/${this.pinned.sha}/${encodePath(block.repoPath)}`, {
      headers: { range: `bytes=${block.start}-${end}` },
    });
    await checkAnswer(res, block.repoPath);
  }
}

export class S3PinSite implements PinSite {
  readonly source = "s3";
  readonly sha = "";
  readonly cache: HubDiskCache;
  readonly repoId: RepoId;
  readonly recordsDir: string;
  private readonly objects: S3CachePlace;

  constructor(
    gateway: Gateway,
    readonly pinned: PinnedS3Dataset,
  ) {
    this.objects = gateway.s3CacheOf(pinned);
    this.cache = this.objects.cache;
    this.repoId = this.objects.repo;
    this.recordsDir = this.cache.repoDir(this.repoId);
  }

  get repo(): string {
    return this.pinned.bucket;
  }
  get datasetPath(): string {
    return this.pinned.prefix;
  }

  lanceUri(repoPath: string): string {
    return `s3://${this.pinned.bucket}/${repoPath}`;
  }

  /** The bucket's whole folder: which object versions the pin reads is learned as it reads them. */
  scopeDirs(): string[] {
    return [this.recordsDir];
  }

  /** Only the versions this open reads: another open of the bucket may be reading older ones meanwhile. */
  place(blockFile: string, repoPaths: string[]): PlacedBlock | null {
    const parsed = parseBlockFile(this.recordsDir, blockFile);
    if (!parsed || !repoPaths.some((p) => withinFolder(parsed.repoPath, p)) || this.objects.versionOf(parsed.repoPath) !== parsed.folder) return null;
    return { ...parsed, version: parsed.folder };
  }

  /** A signed GET of the gateway's S3 side, with this open's local key pair (the version read is this open's). */
  async fetchAgain(block: PlacedBlock, end: number): Promise<void> {
    const o = this.pinned.storageOptions;
    const url = new URL(`${o.endpoint}/${this.pinned.bucket}/${block.repoPath.split("/").map(uriEncode).join("/")}`);
    const headers = { range: `bytes=${block.start}-${end}` };
    const signed = await signRequest(url, "GET", headers, new Map(), { accessKeyId: o.aws_access_key_id, secretAccessKey: o.aws_secret_access_key }, o.region);
    // fetch sets Host from the URL, the same value that was signed.
    const { host: _host, ...sent } = signed;
    await checkAnswer(await fetch(url, { headers: sent }), block.repoPath);
  }
}

export function pinSite(gateway: Gateway, pinned: PinnedDataset | PinnedS3Dataset): PinSite {
  return "source" in pinned ? new S3PinSite(gateway, pinned) : new HubPinSite(gateway, pinned);
}
