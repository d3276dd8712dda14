/**
 * Watches notebook files for changes made by someone else: one fs.watch per folder, refcounted per file,
 * debounced (editors write in several steps). Our own writes are recorded per watched file and never reported.
 * Nothing is kept for a file once its last watcher goes.
 */
import fs from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";
import { fail } from "../errors";
import type { FileStamp } from "./notebook-file-io";

interface FileState {
  refs: number;
  timer: NodeJS.Timeout | null;
  /** The last state of the file we know the renderer knows: written by us, or already reported. */
  known: FileStamp | null;
  /** What our own last write left on disk, to tell it from someone else's (replaced by each write). */
  ours: FileStamp | null;
}

interface FolderWatch {
  watcher: fs.FSWatcher;
  files: Map<string, FileState>;
}

export interface FolderWatcherOptions {
  /** Quiet period before a change on disk is reported. */
  debounceMs: number;
  /** Called with a file's new mtime (null: gone) when someone else changed it. */
  onChange: (file: string, mtimeMs: number | null) => void;
  /** Resolves when our own writes to `file` in flight are done, so their rename is not taken for someone else's. */
  writesSettled: (file: string) => Promise<unknown>;
}

function sameStamp(a: FileStamp | null, b: FileStamp | null): boolean {
  return a === b || (!!a && !!b && a.mtimeMs === b.mtimeMs && a.size === b.size);
}

export class FolderWatcher {
  private readonly folders = new Map<string, FolderWatch>();
  private disposed = false;

  constructor(private readonly options: FolderWatcherOptions) {}

  async watch(file: string): Promise<void> {
    const dir = path.dirname(file);
    const base = path.basename(file);
    let folder = this.folders.get(dir);
    if (!folder) {
      const st = await fsp.stat(dir).catch(() => null);
      if (!st?.isDirectory()) fail("NOTEBOOK_NOT_FOUND", `Cannot watch ${file}: its folder ${dir} does not exist`, { path: file });
      // Re-check after the await: a concurrent watch() may have created it.
      folder = this.folders.get(dir);
      if (!folder) {
        const watcher = fs.watch(dir, { persistent: false }, (_event, name) => this.onFolderEvent(dir, name));
        watcher.on("error", () => this.onWatcherError(dir));
        folder = { watcher, files: new Map() };
        this.folders.set(dir, folder);
      }
    }
    let state = folder.files.get(base);
    if (state) {
      state.refs += 1;
      return;
    }
    state = { refs: 1, timer: null, known: null, ours: null };
    folder.files.set(base, state);
    const st = await fsp.stat(file).catch(() => null);
    if (st && state.known === null) state.known = { mtimeMs: st.mtimeMs, size: st.size };
  }

  unwatch(file: string): void {
    const dir = path.dirname(file);
    const base = path.basename(file);
    const folder = this.folders.get(dir);
    const state = folder?.files.get(base);
    if (!folder || !state) return;
    state.refs -= 1;
    if (state.refs > 0) return;
    if (state.timer) clearTimeout(state.timer);
    folder.files.delete(base);
    if (folder.files.size === 0) {
      folder.watcher.close();
      this.folders.delete(dir);
    }
  }

  /** Notes a write of ours: the renderer knows this state, and the change events it causes are not reported. */
  recordOwnWrite(file: string, stamp: FileStamp): void {
    const state = this.state(file);
    if (!state) return;
    state.known = stamp;
    state.ours = stamp;
  }

  /** How many files are watched (each holds one small state; nothing is kept for unwatched files). */
  get watchedFiles(): number {
    let n = 0;
    for (const folder of this.folders.values()) n += folder.files.size;
    return n;
  }

  dispose(): void {
    this.disposed = true;
    for (const folder of this.folders.values()) {
      for (const state of folder.files.values()) if (state.timer) clearTimeout(state.timer);
      folder.watcher.close();
    }
    this.folders.clear();
  }

  private state(file: string): FileState | undefined {
    return this.folders.get(path.dirname(file))?.files.get(path.basename(file));
  }

  private onFolderEvent(dir: string, name: string | Buffer | null): void {
    const folder = this.folders.get(dir);
    if (!folder || this.disposed) return;
    const names = name === null ? [...folder.files.keys()] : [String(name)];
    for (const base of names) {
      const state = folder.files.get(base);
      if (!state) continue;
      if (state.timer) clearTimeout(state.timer);
      state.timer = setTimeout(() => {
        state.timer = null;
        void this.settle(dir, base, state);
      }, this.options.debounceMs);
    }
  }

  private onWatcherError(dir: string): void {
    // The folder went away (or the watch broke): report every watched file as changed/gone once.
    const folder = this.folders.get(dir);
    if (!folder) return;
    folder.watcher.close();
    this.folders.delete(dir);
    for (const [base, state] of folder.files) {
      if (state.timer) clearTimeout(state.timer);
      if (state.known !== null) this.options.onChange(path.join(dir, base), null);
    }
  }

  /** After the quiet period: report the file's state if it is neither ours nor already reported. */
  private async settle(dir: string, base: string, state: FileState): Promise<void> {
    const file = path.join(dir, base);
    const current = () => !this.disposed && this.folders.get(dir)?.files.get(base) === state;
    await this.options.writesSettled(file);
    if (!current()) return;
    const st = await fsp.stat(file).catch(() => null);
    if (!current()) return;
    const now = st?.isFile() ? { mtimeMs: st.mtimeMs, size: st.size } : null;
    if (sameStamp(state.known, now)) return;
    state.known = now;
    if (state.ours !== null && sameStamp(state.ours, now)) return;
    this.options.onChange(file, now?.mtimeMs ?? null);
  }
}
