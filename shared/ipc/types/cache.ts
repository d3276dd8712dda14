import type { Result } from "../../result";
import type { Empty } from "./common";

/** Bytes cached for one table (or the files outside any table) of one dataset at one revision. */
export interface CacheEntry {
  source: "hf" | "s3";
  /** The upstream (e.g. https://huggingface.co); null when the cache did not record it. */
  endpoint: string | null;
  /** `owner/repo`, or the S3 bucket. */
  repo: string;
  /** The dataset's folder in the repo or bucket ("" for the root). */
  dataset: string;
  /** The commit (null for S3, cached per object ETag). */
  sha: string | null;
  /** Branches and tags that last resolved to this sha here. */
  refs: string[];
  /** null: files of the dataset outside any table (config.json...). */
  table: string | null;
  /** `hf://datasets/<repo>[/<dataset>]@<sha>`, or `s3://<bucket>[/<dataset>]`: what `evict` and `unpin` take. */
  uri: string;
  bytes: number;
  pinnedBytes: number;
  blocks: number;
  /** Most recent use of a block (ISO time); null without blocks. */
  lastUsed: string | null;
}

/** Tables (or columns of a table) kept local for offline use; never evicted. */
export interface CachePin {
  id: string;
  source: "hf" | "s3";
  /** `hf://datasets/<repo>[/<dataset>]@<sha>` or `s3://<bucket>[/<dataset>]`: what `unpin` takes. */
  uri: string;
  /** `owner/repo`, or the S3 bucket. */
  repo: string;
  /** The commit pinned (null for S3: the object versions read when the pin ran). */
  sha: string | null;
  dataset: string;
  table: string;
  /** null: every column. */
  columns: string[] | null;
  /** "running": being recorded now (by this or another process). */
  state: "running" | "complete";
  createdAt: string;
  /** Bytes the pin keeps, and how many of them are on disk now (less after an explicit evict or clear). */
  bytes: number;
  presentBytes: number;
  rows: number;
}

export interface CacheUsage {
  /** The cache folder (`<user data>/cache`, shared by the app and the command line). */
  dir: string;
  /** Everything on disk under the cache folder. */
  totalBytes: number;
  pinnedBytes: number;
  capBytes: number;
  entries: CacheEntry[];
  pins: CachePin[];
  /** Gene indexes of local datasets (Explore builds them; `clear` removes them, a later open builds again). */
  geneIndexes: CacheGeneIndex[];
}

/** A gene-major copy of a local dataset's expression rows, kept for colouring by gene. */
export interface CacheGeneIndex {
  /** The expression table it was built from. */
  tablePath: string;
  /** The table version it was built at. */
  version: number;
  rows: number;
  bytes: number;
  /** ISO time; null when its record is unreadable (then `bytes` is what is on disk). */
  builtAt: string | null;
}

/** A dataset (`hf://datasets/<repo>[/<path>][@<revision>]` or `s3://<bucket>[/<prefix>]`), optionally one table. */
export interface CacheSelector {
  uri: string;
  table?: string;
}

export interface CacheRemoval {
  removedBytes: number;
  removedBlocks: number;
  pinsRemoved: number;
}

export interface CacheEviction {
  /** Size of the cache after the pass. */
  totalBytes: number;
  pinnedBytes: number;
  capBytes: number;
  evictedBytes: number;
  evictedBlocks: number;
}

export interface CachePinRequest {
  /**
   * `hf://datasets/<owner>/<repo>[/<path>][@<revision>]` (a branch or tag is resolved when the pin starts) or
   * `s3://<bucket>[/<prefix>]` (read with the S3 settings): the SLAF dataset.
   */
  uri: string;
  /** Tables to pin, as config.json names them; default every table. */
  tables?: string[];
  /** Columns to pin (one table only); default every column. */
  columns?: string[];
}

/** What a finished pin job yields. */
export interface CachePinSummary {
  pins: CachePin[];
}

/** The gateway's disk cache: what it holds, its size cap, pins (as jobs), evictions. */
export interface CacheApi {
  usage(req: Empty): Promise<Result<CacheUsage>>;
  /** Sets the cap (bytes) for every process using the cache and evicts down to it now. */
  setCap(req: { capBytes: number }): Promise<Result<CacheEviction>>;
  /** Starts a job of kind "pin" (progress in rows scanned; cancel with jobs.cancel). */
  pin(req: CachePinRequest): Promise<Result<{ jobId: string }>>;
  /** Removes pins; their data stays as ordinary cache (evictable again). */
  unpin(req: CacheSelector): Promise<Result<{ pinsRemoved: number }>>;
  /** Removes a dataset, a revision or a table from the cache, pins included. */
  evict(req: CacheSelector): Promise<Result<CacheRemoval>>;
  clear(req: Empty): Promise<Result<CacheRemoval>>;
}
