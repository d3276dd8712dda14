/**
 * The cache manager: size cap, least-recently-used eviction, pins, listing and removal of the gateway's disk
 * cache (`<user data>/cache`, shared by the app and every CLI command; layout in disk-cache.ts).
 *
 *   const cache = cacheManager(path.join(userData, "cache"));
 *   await cache.usage()          → { dir, totalBytes, pinnedBytes, capBytes, entries, pins }
 *                                  entries: bytes, pinned bytes, blocks and last use per source, dataset (repo +
 *                                  folder), revision (sha + the branches/tags that resolved to it) and table
 *   await cache.cap() / await cache.setCap(50 * 1024 ** 3)      // evicts down to a lower cap at once
 *   await cache.evict({ uri: "hf://datasets/acme/atlas/pbmc.slaf@<sha or branch>", table: "expression" })
 *                                  // no @: every revision; no table: the whole dataset; a repo URI: the repo
 *   await cache.unpin({ uri, table })                          // pins go, the data stays (evictable again)
 *   await cache.clear()
 *   await cache.pin(gateway, { uri, tables: ["cells"], columns: ["cell_type"], s3 }, { signal, onProgress })
 *                                  // a job: progress {phase, done, total (rows), table, message}; cancel with
 *                                  // the signal (rejects with signal.reason, or an AbortError); → PinInfo[]
 *                                  // uri: hf://datasets/... or s3://bucket/prefix (s3: the S3Access to read it with)
 *
 * - Cap: `<cacheDir>/cache.json` (`{"capBytes"}`, default 20 GB = 20 × 1024³), read by every process at each
 *   eviction pass. A process runs a pass when its writes since its last pass take the cache over the cap (the
 *   first write of a process measures), down to 90 % of the cap (cache-keeper.ts).
 * - LRU: a block's mtime is its last use (set on write and on every read by any process), so the order is shared
 *   between processes and survives restarts, with no index file to corrupt. Only blocks are evicted; listings,
 *   file sizes and refs (small, needed to open offline) stay until an explicit evict or clear.
 * - Never evicted: blocks of complete pins, blocks under a pin being recorded (any live process), and blocks this
 *   process is serving. A reader that finds a block gone (another process evicted it) fetches it again; offline,
 *   it fails with OFFLINE_NOT_CACHED naming the file.
 * - Crash safety: every file is written whole (temp + rename); pins are single files replaced in one rename; a
 *   running pin record of a dead process protects nothing and is removed by the next pass, as are temp files
 *   older than an hour. Evicting a dataset or table moves its folder out of the tree in one rename first.
 * - Errors: a URI that is not `hf://datasets/...` or `s3://...`, an unknown revision name, table or column →
 *   INVALID_ARGUMENT / TABLE_UNKNOWN naming it; pins fail like opens (OFFLINE_NOT_CACHED, AUTH_REQUIRED, ...).
 * - The Hub's (`hf/`) and S3's (`s3/`) caches are managed; other folders (gene indexes) count towards the total size.
 */
import { AppFailure } from "../../../shared/result";
import { readCap, writeCap } from "./cache-cap";
import { CacheKeeper } from "./cache-keeper";
import type { EvictionResult } from "./cache-evict";
import { pinDataset, type PinOptions, type PinRequest } from "./cache-pin";
import { cacheUsage, clearCache, removeFromCache, removePins, type CacheSelector, type CacheUsage, type PinInfo, type RemovalResult } from "./cache-usage";
import type { Gateway } from "./index";

export { DEFAULT_CAP_BYTES, parseSize } from "./cache-cap";
export type { EvictionResult } from "./cache-evict";
export type { PinOptions, PinProgress, PinRequest } from "./cache-pin";
export type { CacheEntry, CacheSelector, CacheUsage, PinInfo, RemovalResult } from "./cache-usage";

export interface CacheManager {
  readonly dir: string;
  usage(): Promise<CacheUsage>;
  cap(): Promise<number>;
  /** Sets the cap for every process using this folder and evicts down to it now. */
  setCap(capBytes: number): Promise<EvictionResult>;
  /** Runs an eviction pass now (what a write over the cap triggers). */
  enforceCap(): Promise<EvictionResult>;
  evict(selector: CacheSelector): Promise<RemovalResult>;
  unpin(selector: CacheSelector): Promise<number>;
  clear(): Promise<RemovalResult>;
  /** Pins through `gateway`, which must use this cache folder and be the one Lance reads through in this process. */
  pin(gateway: Gateway, request: PinRequest, opts?: PinOptions): Promise<PinInfo[]>;
}

export function cacheManager(cacheDir: string): CacheManager {
  const keeper = CacheKeeper.for(cacheDir);
  const dir = keeper.root;
  return {
    dir,
    usage: () => cacheUsage(dir),
    cap: () => readCap(dir),
    async setCap(capBytes) {
      await writeCap(dir, capBytes);
      return keeper.evictNow();
    },
    enforceCap: () => keeper.evictNow(),
    evict: (selector) => removeFromCache(dir, selector),
    unpin: (selector) => removePins(dir, selector),
    clear: () => clearCache(dir),
    async pin(gateway, request, opts) {
      if (CacheKeeper.for(gateway.cacheDir) !== keeper) throw new AppFailure("INVALID_ARGUMENT", `The gateway uses the cache ${gateway.cacheDir}, not ${dir}`);
      return pinDataset(gateway, request, opts);
    },
  };
}
