/**
 * One eviction pass: walk the cache, and when it is over the cap remove the least recently used blocks (oldest
 * mtime first) until it is down to the target, never a pinned block, a block under a pin being recorded, or a
 * block the caller keeps (being served in this process). Only blocks are evicted: listings, file sizes, refs
 * and pins are small and are what an offline open needs. A pass also removes temp files older than an hour
 * (left by a crash) and running pin records whose process is gone. Removing files one by one keeps every
 * state in between consistent for other processes: a reader that misses a block fetches it again.
 */
import fs from "node:fs/promises";
import path from "node:path";
import { ownerAlive } from "../convert/stale";
import { loadPins, protectedByPins } from "./cache-pins";
import { walkCache, walkedBytes } from "./cache-walk";

const TEMP_MAX_AGE_MS = 60 * 60 * 1000;

export interface EvictionResult {
  /** Size of the cache after the pass. */
  totalBytes: number;
  pinnedBytes: number;
  capBytes: number;
  evictedBytes: number;
  evictedBlocks: number;
}

export interface EvictionOptions {
  capBytes: number;
  /** Evict down to this size once over the cap. */
  targetBytes: number;
  /** Blocks this process is using. */
  keep?: (blockFile: string) => boolean;
  /** Folder prefixes this process is pinning (its open pin scopes). */
  protectedPrefixes?: string[];
}

async function remove(file: string): Promise<boolean> {
  try {
    await fs.rm(file);
    return true;
  } catch {
    // Gone already (another process), or open elsewhere on a system that refuses: nothing freed by us.
    return false;
  }
}

/** Folders an explicit removal moved out of the tree (`.trash-<pid>-<hex>`) and did not delete: its process died. */
async function removeDeadTrash(root: string): Promise<number> {
  let freed = 0;
  for (const name of await fs.readdir(root).catch(() => [] as string[])) {
    const m = /^\.trash-(\d+)-[0-9a-f]+$/.exec(name);
    if (!m || ownerAlive({ pid: Number(m[1]) })) continue;
    const dir = path.join(root, name);
    freed += await walkCache(dir)
      .then(walkedBytes)
      .catch(() => 0);
    await fs.rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }
  return freed;
}

export async function evictToCap(root: string, opts: EvictionOptions): Promise<EvictionResult> {
  const walked = await walkCache(root);
  const { pins, dead } = await loadPins(walked);
  const { blocks: pinned, prefixes } = protectedByPins(pins);
  prefixes.push(...(opts.protectedPrefixes ?? []));
  let total = walkedBytes(walked);
  const now = Date.now();
  for (const t of walked.temps) if (now - t.mtimeMs > TEMP_MAX_AGE_MS && (await remove(t.file))) total -= t.bytes;
  for (const file of dead) await remove(file);
  total -= await removeDeadTrash(root);

  let pinnedBytes = 0;
  const candidates: { file: string; bytes: number; mtimeMs: number }[] = [];
  for (const s of walked.sources)
    for (const r of s.repos)
      for (const v of r.revisions)
        for (const f of v.files)
          for (const b of f.blocks) {
            if (pinned.has(b.file)) pinnedBytes += b.bytes;
            else if (!prefixes.some((p) => b.file.startsWith(p)) && !opts.keep?.(b.file)) candidates.push(b);
          }

  let evictedBytes = 0;
  let evictedBlocks = 0;
  if (total > opts.capBytes) {
    candidates.sort((a, b) => a.mtimeMs - b.mtimeMs || (a.file < b.file ? -1 : 1));
    for (const c of candidates) {
      if (total <= opts.targetBytes) break;
      if (opts.keep?.(c.file)) continue;
      // Used since the walk (by this or another process): no longer the least recently used.
      const current = await fs.stat(c.file).catch(() => null);
      if (!current || current.mtimeMs !== c.mtimeMs) continue;
      if (!(await remove(c.file))) continue;
      total -= c.bytes;
      evictedBytes += c.bytes;
      evictedBlocks++;
    }
  }
  return { totalBytes: total, pinnedBytes, capBytes: opts.capBytes, evictedBytes, evictedBlocks };
}
