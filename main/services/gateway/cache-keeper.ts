/**
 * One keeper per cache folder per process: it decides when the size cap needs an eviction pass, runs those passes
 * one at a time, and knows what this process is using right now (blocks being served, pins being recorded), which
 * a pass must not remove. What other processes use is on disk: last use is each block's mtime, which every read
 * sets (a shared LRU clock that survives restarts), and pins are records under `@pins/` (cache-pins.ts).
 *
 * A process counts the bytes it wrote since its last pass; a pass walks the folder, so it also sees what other
 * processes wrote. With several processes writing at once, the cache may exceed the cap by what each wrote since
 * its last pass (at most cap minus the low-water mark each) until one of them runs a pass.
 */
import fs from "node:fs/promises";
import path from "node:path";
import { readCap } from "./cache-cap";
import { evictToCap, type EvictionResult } from "./cache-evict";

/** Passes bring the cache down to this fraction of the cap, so the next one is not due at the next write. */
export const LOW_WATER = 0.9;

let lastStamp = 0;

/**
 * A use time for a block, strictly increasing within the process (µs steps when calls come within one ms), so
 * the order of uses is the order of mtimes even on a fast machine.
 */
export function useStamp(): number {
  lastStamp = Math.max(Date.now(), lastStamp + 0.001);
  return lastStamp;
}

/** Sets a block's last use (its mtime; atime along, since mounts often do not keep it). */
export async function touchFile(target: string | fs.FileHandle, stamp = useStamp()): Promise<void> {
  const seconds = stamp / 1000;
  try {
    if (typeof target === "string") await fs.utimes(target, seconds, seconds);
    else await target.utimes(seconds, seconds);
  } catch {
    // Gone meanwhile (evicted) or a read-only cache: the use is simply not recorded.
  }
}

/** Remembered last uses at most; past this the memory is dropped (the next reads just touch again). */
const MAX_REMEMBERED_USES = 100_000;

/** Blocks used while a pin is being recorded: the table's (or file's) folders it covers, and what was read there. */
export interface PinScope {
  /** Absolute folder prefixes (ending in a path separator) whose blocks belong to the pin. */
  readonly prefixes: string[];
  /** Block file → its length, for every block of those folders served while the scope was open. */
  readonly blocks: Map<string, number>;
  close(): void;
}

const keepers = new Map<string, CacheKeeper>();

export class CacheKeeper {
  /** fileDir → spans [first, last] of block start offsets being served now (a span may repeat: counted). */
  private readonly holds = new Map<string, [number, number][]>();
  private readonly scopes = new Set<PinScope>();
  /** Block file → the last use this process stamped on it (written or touched). */
  private readonly stamped = new Map<string, number>();
  private written = 0;
  /** Size found by the last pass; null before the first. */
  private lastTotal: number | null = null;
  /** The estimated size above which a pass is due. */
  private threshold = 0;
  private running: Promise<EvictionResult> | null = null;
  private lastError: unknown = null;
  /** Blocks and bytes this process's passes removed since it started. */
  readonly evicted = { blocks: 0, bytes: 0 };

  private constructor(readonly root: string) {}

  /** The keeper of a cache folder in this process (the gateway's cache and the cache manager share it). */
  static for(root: string): CacheKeeper {
    const key = path.resolve(root);
    let keeper = keepers.get(key);
    if (!keeper) {
      keeper = new CacheKeeper(key);
      keepers.set(key, keeper);
    }
    return keeper;
  }

  /** Forgets the keeper of a cache folder that is gone for good (a cold scope's scratch cache, removed at its close). */
  static forget(root: string): void {
    keepers.delete(path.resolve(root));
  }

  /** Keeps blocks [firstStart..lastStart] (start offsets) of a file's folder from eviction by this process until released. */
  hold(fileDir: string, firstStart: number, lastStart: number): () => void {
    const span: [number, number] = [firstStart, lastStart];
    const spans = this.holds.get(fileDir) ?? [];
    spans.push(span);
    this.holds.set(fileDir, spans);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const list = this.holds.get(fileDir);
      if (!list) return;
      list.splice(list.indexOf(span), 1);
      if (list.length === 0) this.holds.delete(fileDir);
    };
  }

  isHeld(blockFile: string): boolean {
    const spans = this.holds.get(path.dirname(blockFile));
    if (!spans) return false;
    const start = Number(/^@(\d+)\.blk$/.exec(path.basename(blockFile))?.[1]);
    return spans.some(([a, b]) => start >= a && start <= b);
  }

  /** A block's mtime was set to `stamp` by this process (it was written or touched). */
  noteStamp(blockFile: string, stamp: number): void {
    if (this.stamped.size >= MAX_REMEMBERED_USES) this.stamped.clear();
    this.stamped.set(blockFile, stamp);
  }

  /**
   * Whether a read of a block should set its mtime again: not when this process stamped it less than
   * `intervalMs` ago. The LRU order across processes then has that granularity, and a scan does not pay a
   * utimes per read (a block is usually read right after it was written, or many times in a row).
   */
  dueForTouch(blockFile: string, now: number, intervalMs: number): boolean {
    const last = this.stamped.get(blockFile);
    return last === undefined || now - last >= intervalMs;
  }

  /** Opens a pin scope over folder prefixes: every block served under them is recorded until `close`. */
  openScope(prefixes: string[]): PinScope {
    const scope: PinScope = {
      prefixes: prefixes.map((p) => (p.endsWith(path.sep) ? p : `${p}${path.sep}`)),
      blocks: new Map(),
      close: () => void this.scopes.delete(scope),
    };
    this.scopes.add(scope);
    return scope;
  }

  /** Prefixes of the pin scopes open in this process: a pass keeps their blocks. */
  scopePrefixes(): string[] {
    return [...this.scopes].flatMap((s) => s.prefixes);
  }

  /** A block was served (read from disk): record it in the pin scopes that cover it. */
  used(blockFile: string, bytes: number): void {
    for (const scope of this.scopes) if (scope.prefixes.some((p) => blockFile.startsWith(p))) scope.blocks.set(blockFile, bytes);
  }

  /** Bytes were written to the cache: starts a pass in the background when the estimate passes the threshold. */
  noteWrite(bytes: number): void {
    this.written += bytes;
    if (this.lastTotal === null || this.lastTotal + this.written > this.threshold) void this.schedule();
  }

  /** Runs a pass that starts after this call (once the one under way, if any, is done): when the cap changes, and `cache size`. */
  async evictNow(): Promise<EvictionResult> {
    while (this.running) await this.running.catch(() => undefined);
    return this.schedule();
  }

  /** Resolves once no pass is running (tests; a CLI command before it exits). */
  async idle(): Promise<void> {
    while (this.running) await this.running.catch(() => undefined);
  }

  /** The error of the last pass that failed (a pass never throws into the read that triggered it). */
  get passError(): unknown {
    return this.lastError;
  }

  /** Starts a pass unless one is under way (then that one is the answer). */
  private schedule(): Promise<EvictionResult> {
    if (this.running) return this.running;
    const run = (async () => {
      const writtenBefore = this.written;
      const capBytes = await readCap(this.root);
      const gap = capBytes - Math.floor(capBytes * LOW_WATER);
      try {
        const result = await evictToCap(this.root, {
          capBytes,
          targetBytes: Math.floor(capBytes * LOW_WATER),
          keep: (file) => this.isHeld(file),
          protectedPrefixes: this.scopePrefixes(),
        });
        this.lastTotal = result.totalBytes;
        this.evicted.blocks += result.evictedBlocks;
        this.evicted.bytes += result.evictedBytes;
        // When pinned or busy data keeps the cache above the low-water mark, wait for a low-water gap of new writes.
        this.threshold = Math.max(capBytes, result.totalBytes + gap);
        return result;
      } catch (e) {
        // An unreadable cache folder: try again after another gap of writes, not at every write.
        this.lastTotal ??= 0;
        this.threshold = this.lastTotal + writtenBefore + gap;
        throw e;
      } finally {
        this.written -= writtenBefore;
      }
    })();
    this.running = run;
    run.then(
      () => (this.lastError = null),
      (e: unknown) => (this.lastError = e),
    );
    void run
      .finally(() => {
        if (this.running === run) this.running = null;
        if (this.lastTotal !== null && this.lastTotal + this.written > this.threshold) void this.schedule().catch(() => undefined);
      })
      .catch(() => undefined);
    return run;
  }
}
