/**
 * Read handles of recently read block files, kept open (least recently used closed first, idle ones closed after
 * a few seconds), so a scan's many small reads of one block cost one read on the thread pool instead of an open,
 * a stat, a read and a close each. Every use checks the handle with a stat: a block removed (evicted) or replaced since it
 * was opened is opened again by its path (gone: null), one damaged in place (wrong length) is removed.
 */
import { fstatSync } from "node:fs";
import fs from "node:fs/promises";

interface Entry {
  opening: Promise<fs.FileHandle>;
  users: number;
  /** Out of the map: closed when its last user releases it. */
  dropped: boolean;
  lastUse: number;
}

/** A handle lent to one read; `release` when done with it. */
export interface BlockLease {
  handle: fs.FileHandle;
  release(): void;
}

function closeEntry(e: Entry): Promise<void> {
  return e.opening.then((h) => h.close()).catch(() => undefined);
}

export class BlockHandles {
  /** Block file → its open handle, in order of last use (oldest first). */
  private readonly entries = new Map<string, Entry>();
  private sweeper: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    private readonly max = 64,
    private readonly idleMs = 3000,
  ) {}

  /** An open handle of `file` if it is on disk with `length` bytes; null when it is not (a damaged one is removed). */
  async acquire(file: string, length: number): Promise<BlockLease | null> {
    for (let attempt = 0; attempt < 2; attempt++) {
      let e = this.entries.get(file);
      const reused = e !== undefined;
      if (e) this.entries.delete(file);
      // Once closed, each read opens and closes its own handle.
      else e = { opening: fs.open(file, "r"), users: 0, dropped: this.closed, lastUse: 0 };
      if (!this.closed) this.entries.set(file, e);
      e.users++;
      e.lastUse = Date.now();
      this.trim();
      const entry = e;
      const release = (): void => {
        entry.users--;
        if (entry.dropped && entry.users === 0) void closeEntry(entry);
      };
      let handle: fs.FileHandle;
      let links: number;
      let size: number;
      try {
        handle = await entry.opening;
        // fstat of an open file touches no disk: done at once rather than as one more trip to the thread pool.
        ({ nlink: links, size } = fstatSync(handle.fd));
      } catch (err) {
        void this.drop(file, entry);
        release();
        if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
        throw err;
      }
      if (links > 0 && size === length) return { handle, release };
      void this.drop(file, entry);
      release();
      if (links > 0) {
        await fs.rm(file, { force: true });
        return null;
      }
      // Removed or replaced since this handle was opened: what is at the path now, if anything, once more.
      if (!reused) return null;
    }
    return null;
  }

  /** Keeps `handle` (open for reading, of the file now at `file`) as that file's handle, e.g. the one it was written with. */
  adopt(file: string, handle: fs.FileHandle): void {
    const e: Entry = { opening: Promise.resolve(handle), users: 0, dropped: false, lastUse: Date.now() };
    if (this.closed) {
      void closeEntry(e);
      return;
    }
    const old = this.entries.get(file);
    if (old) void this.drop(file, old);
    this.entries.set(file, e);
    this.trim();
  }

  private drop(file: string, e: Entry): Promise<void> {
    if (this.entries.get(file) === e) this.entries.delete(file);
    if (e.dropped) return Promise.resolve();
    e.dropped = true;
    return e.users === 0 ? closeEntry(e) : Promise.resolve();
  }

  private trim(): void {
    for (const [file, e] of this.entries) {
      if (this.entries.size <= this.max) break;
      void this.drop(file, e);
    }
    if (!this.sweeper && this.entries.size > 0) {
      this.sweeper = setInterval(() => this.sweep(), this.idleMs);
      this.sweeper.unref();
    }
  }

  /** Closes handles unused for `idleMs` (a block file is not held open long after its reads). */
  private sweep(): void {
    const now = Date.now();
    for (const [file, e] of this.entries) if (e.users === 0 && now - e.lastUse >= this.idleMs) void this.drop(file, e);
    if (this.entries.size === 0 && this.sweeper) {
      clearInterval(this.sweeper);
      this.sweeper = null;
    }
  }

  /** Closes every handle (those lent out when released), e.g. before the cache's disk is unmounted. */
  async closeAll(): Promise<void> {
    this.closed = true;
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = null;
    await Promise.all([...this.entries].map(([file, e]) => this.drop(file, e)));
  }
}
