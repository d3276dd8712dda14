import { isAppFailure } from "../../../shared/result";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";
import type { NotebookFile, NotebooksApi } from "../../../shared/ipc/contract";
import { NOTEBOOK_EXTENSION, parseNotebook } from "../../../shared/notebook/format";
import type { DatasetService } from "../datasets/service";
import { fail, guard } from "../errors";
import type { EmitEvent } from "../events";
import { starterText } from "./starter";

export interface NotebookServiceOptions {
  /** Where starter notebooks go (`<userDataDir>/notebooks/`). Without it, `starter` is unavailable. */
  userDataDir?: string;
  /** Quiet period before a change on disk is reported (editors write in several steps). */
  debounceMs?: number;
}

interface FileState {
  refs: number;
  timer: NodeJS.Timeout | null;
  /** The last state of the file we know the renderer knows: written by us, or already reported. */
  known: { mtimeMs: number; size: number } | null;
}

interface FolderWatch {
  watcher: fs.FSWatcher;
  files: Map<string, FileState>;
}

function isErrno(e: unknown, ...codes: string[]): boolean {
  return typeof e === "object" && e !== null && codes.includes((e as NodeJS.ErrnoException).code ?? "");
}

/** A file name for a dataset's starter notebook: the dataset name without characters file systems refuse. */
export function starterFileName(datasetName: string, n = 1): string {
  const base = Array.from(datasetName, (ch) => (ch.charCodeAt(0) < 0x20 || '\\/:*?"<>|'.includes(ch) ? "_" : ch))
    .join("").replace(/^[.\s]+|[.\s]+$/g, "") || "notebook";
  return `${base}${n > 1 ? `-${n}` : ""}${NOTEBOOK_EXTENSION}`;
}

/** Notebook files on disk: atomic writes, conflict detection, watching, the starter notebook. */
export class NotebookService implements NotebooksApi {
  private readonly folders = new Map<string, FolderWatch>();
  /** Per path, the tail of the queue of our own writes (so two saves never interleave). */
  private readonly writing = new Map<string, Promise<unknown>>();
  /** What our own last write left on disk, per path, so the watcher can tell it from someone else's. */
  private readonly ours = new Map<string, { mtimeMs: number; size: number }>();
  private readonly debounceMs: number;
  private disposed = false;

  constructor(
    readonly emit: EmitEvent,
    readonly datasets: DatasetService,
    readonly options: NotebookServiceOptions = {},
  ) {
    this.debounceMs = options.debounceMs ?? 150;
  }

  read(req: { path: string }) {
    return guard(async (): Promise<NotebookFile> => readFile(checkPath(req?.path)));
  }

  write(req: { path: string; text: string; expectedMtimeMs: number | null; overwrite?: boolean }) {
    return guard(async () => {
      const file = checkPath(req?.path);
      if (!file.endsWith(".md")) fail("INVALID_ARGUMENT", `A notebook is saved as Markdown: ${file} should end in ${NOTEBOOK_EXTENSION}`, { path: file });
      await this.datasets.refuseWriteInside(req.path, "Cannot save the notebook there");
      if (typeof req.text !== "string") fail("INVALID_ARGUMENT", `No text to write to ${file}`, { path: file });
      const expected = req.expectedMtimeMs ?? null;
      if (expected !== null && typeof expected !== "number") fail("INVALID_ARGUMENT", `expectedMtimeMs must be a number or null (writing ${file})`);
      return this.serialized(file, () => this.writeAtomic(file, req.text, expected, !!req.overwrite));
    });
  }

  watch(req: { path: string }) {
    return guard(async () => {
      const file = checkPath(req?.path);
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
        return null;
      }
      state = { refs: 1, timer: null, known: null };
      folder.files.set(base, state);
      const st = await fsp.stat(file).catch(() => null);
      if (st && state.known === null) state.known = { mtimeMs: st.mtimeMs, size: st.size };
      return null;
    });
  }

  unwatch(req: { path: string }) {
    return guard(async () => {
      const file = checkPath(req?.path);
      const dir = path.dirname(file);
      const folder = this.folders.get(dir);
      const state = folder?.files.get(path.basename(file));
      if (!folder || !state) return null;
      state.refs -= 1;
      if (state.refs > 0) return null;
      if (state.timer) clearTimeout(state.timer);
      folder.files.delete(path.basename(file));
      if (folder.files.size === 0) {
        folder.watcher.close();
        this.folders.delete(dir);
      }
      return null;
    });
  }

  starter(req: { datasetId: string }) {
    return guard(async (): Promise<NotebookFile> => {
      const ds = this.datasets.get(req?.datasetId);
      if (!this.options.userDataDir) fail("UNSUPPORTED_IN_MODE", "Starter notebooks need a user data folder, and none is set");
      const dir = path.join(this.options.userDataDir, "notebooks");
      await fsp.mkdir(dir, { recursive: true });
      const { summary } = ds;
      // `<name>.slafnb.md`, unless that file belongs to another dataset of the same name: then `<name>-2...`.
      let races = 0;
      for (let n = 1; n < 100; n++) {
        const file = path.join(dir, starterFileName(summary.name, n));
        const existing = await readFile(file).catch((e) => {
          if (isAppFailure(e, "NOTEBOOK_NOT_FOUND")) return null;
          throw e;
        });
        if (existing) {
          const dataset = parseNotebook(existing.text).frontmatter.dataset;
          if (dataset === null || dataset === summary.uri) return existing;
          continue;
        }
        const created = await this.serialized(file, () => this.createExclusive(file, starterText(summary)));
        if (created) return created;
        // Lost a race with another writer: read what it wrote on the next turn of the loop.
        if (++races < 5) n -= 1;
      }
      fail("INTERNAL", `Could not find a free file name for the starter notebook of ${summary.name} in ${dir}`);
    });
  }

  dispose(): void {
    this.disposed = true;
    for (const folder of this.folders.values()) {
      for (const state of folder.files.values()) if (state.timer) clearTimeout(state.timer);
      folder.watcher.close();
    }
    this.folders.clear();
  }

  // ------------------------------------------------------------------ writing

  private serialized<T>(file: string, body: () => Promise<T>): Promise<T> {
    const previous = this.writing.get(file) ?? Promise.resolve();
    const run = previous.then(body, body);
    const tail = run.catch(() => undefined);
    this.writing.set(file, tail);
    void tail.then(() => {
      if (this.writing.get(file) === tail) this.writing.delete(file);
    });
    return run;
  }

  /** Writes `text` to a temp file beside `file`, checks for a conflict, then renames it over `file`. */
  private async writeAtomic(file: string, text: string, expected: number | null, overwrite: boolean): Promise<{ mtimeMs: number }> {
    const dir = path.dirname(file);
    await fsp.mkdir(dir, { recursive: true }).catch((e) => {
      if (isErrno(e, "ENOTDIR", "EEXIST")) fail("NOTEBOOK_NOT_FOUND", `Cannot write ${file}: ${dir} is not a folder`, { path: file });
      throw e;
    });
    const before = await fsp.stat(file).catch((e) => {
      if (isErrno(e, "ENOENT")) return null;
      throw e;
    });
    if (before?.isDirectory()) fail("INVALID_ARGUMENT", `Cannot write ${file}: it is a folder`, { path: file });
    const temp = await this.writeTemp(file, text, before?.mode);
    try {
      // The conflict check sits right before the rename, to keep the window for a lost update small.
      const now = await fsp.stat(file).catch((e) => {
        if (isErrno(e, "ENOENT")) return null;
        throw e;
      });
      if (!overwrite) checkConflict(file, now?.mtimeMs ?? null, expected);
      await fsp.rename(temp.path, file);
    } catch (e) {
      await fsp.rm(temp.path, { force: true }).catch(() => undefined);
      throw e;
    }
    await syncFolder(dir);
    this.ours.set(file, { mtimeMs: temp.mtimeMs, size: temp.size });
    this.markKnown(file, { mtimeMs: temp.mtimeMs, size: temp.size });
    return { mtimeMs: temp.mtimeMs };
  }

  /** Creates `file` with `text` only if it does not exist (link of a finished temp file); null if it exists. */
  private async createExclusive(file: string, text: string): Promise<NotebookFile | null> {
    const temp = await this.writeTemp(file, text, undefined);
    try {
      try {
        await fsp.link(temp.path, file);
      } catch (e) {
        if (isErrno(e, "EEXIST")) return null;
        if (!isErrno(e, "EPERM", "ENOTSUP", "EOPNOTSUPP", "EXDEV", "ENOSYS")) throw e;
        // No hard links on this file system: fall back to check-then-rename.
        if (await fsp.stat(file).then(() => true, () => false)) return null;
        await fsp.rename(temp.path, file);
      }
    } finally {
      await fsp.rm(temp.path, { force: true }).catch(() => undefined);
    }
    await syncFolder(path.dirname(file));
    this.ours.set(file, { mtimeMs: temp.mtimeMs, size: temp.size });
    this.markKnown(file, { mtimeMs: temp.mtimeMs, size: temp.size });
    return { path: file, text, mtimeMs: temp.mtimeMs };
  }

  private async writeTemp(file: string, text: string, mode: number | undefined): Promise<{ path: string; mtimeMs: number; size: number }> {
    const temp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
    let handle: fsp.FileHandle | null = null;
    try {
      handle = await fsp.open(temp, "wx", mode !== undefined ? mode & 0o7777 : 0o644);
      await handle.writeFile(text, "utf8");
      await handle.sync();
      const st = await handle.stat();
      await handle.close();
      handle = null;
      return { path: temp, mtimeMs: st.mtimeMs, size: st.size };
    } catch (e) {
      if (handle) await handle.close().catch(() => undefined);
      await fsp.rm(temp, { force: true }).catch(() => undefined);
      if (isErrno(e, "ENOENT")) fail("NOTEBOOK_NOT_FOUND", `Cannot write ${file}: its folder does not exist`, { path: file });
      if (isErrno(e, "EACCES", "EPERM", "EROFS")) fail("INVALID_ARGUMENT", `Cannot write ${file}: permission denied`, { path: file, detail: String(e) });
      throw e;
    }
  }

  // ------------------------------------------------------------------ watching

  private markKnown(file: string, known: { mtimeMs: number; size: number }): void {
    const state = this.folders.get(path.dirname(file))?.files.get(path.basename(file));
    if (state) state.known = known;
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
      }, this.debounceMs);
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
      if (state.known !== null) this.emit("notebook.changed", { path: path.join(dir, base), mtimeMs: null });
    }
  }

  /** After the quiet period: report the file's state if it is neither ours nor already reported. */
  private async settle(dir: string, base: string, state: FileState): Promise<void> {
    const file = path.join(dir, base);
    // Let a write of ours that is in flight finish first, so its rename is not taken for someone else's.
    await (this.writing.get(file) ?? Promise.resolve());
    if (this.disposed || this.folders.get(dir)?.files.get(base) !== state) return;
    const st = await fsp.stat(file).catch(() => null);
    if (this.disposed || this.folders.get(dir)?.files.get(base) !== state) return;
    const now = st?.isFile() ? { mtimeMs: st.mtimeMs, size: st.size } : null;
    const same = (a: { mtimeMs: number; size: number } | null | undefined, b: typeof now) =>
      a === b || (!!a && !!b && a.mtimeMs === b.mtimeMs && a.size === b.size);
    if (same(state.known, now)) return;
    state.known = now;
    if (same(this.ours.get(file), now)) return;
    this.emit("notebook.changed", { path: file, mtimeMs: now?.mtimeMs ?? null });
  }
}

// -------------------------------------------------------------------- helpers

function checkPath(p: unknown): string {
  if (typeof p !== "string" || p.trim() === "") fail("INVALID_ARGUMENT", "A notebook path is required");
  if (p.includes("\0")) fail("INVALID_ARGUMENT", `Invalid notebook path: ${JSON.stringify(p)}`);
  if (!path.isAbsolute(p)) fail("INVALID_ARGUMENT", `Notebook paths must be absolute: ${p}`, { path: p });
  return path.resolve(p);
}

function checkConflict(file: string, onDisk: number | null, expected: number | null): void {
  if (onDisk === expected) return;
  if (onDisk === null) {
    fail("NOTEBOOK_CONFLICT", `${file} was deleted on disk since it was opened; save again to recreate it`, { path: file });
  }
  if (expected === null) {
    fail("NOTEBOOK_CONFLICT", `${file} already exists; overwrite it or choose another name`, { path: file });
  }
  fail("NOTEBOOK_CONFLICT", `${file} was changed on disk since it was opened (modified ${new Date(onDisk).toISOString()})`, {
    path: file,
    detail: `expected mtime ${expected}, found ${onDisk}`,
  });
}

async function readFile(file: string): Promise<NotebookFile> {
  let handle: fsp.FileHandle;
  try {
    handle = await fsp.open(file, "r");
  } catch (e) {
    if (isErrno(e, "ENOENT", "ENOTDIR")) fail("NOTEBOOK_NOT_FOUND", `No notebook at ${file}`, { path: file });
    if (isErrno(e, "EACCES", "EPERM")) fail("INVALID_ARGUMENT", `Cannot read ${file}: permission denied`, { path: file, detail: String(e) });
    throw e;
  }
  try {
    // Stat and read the same open file, so the mtime matches the text even if the file is replaced meanwhile.
    const st = await handle.stat();
    if (st.isDirectory()) fail("NOTEBOOK_NOT_FOUND", `${file} is a folder, not a notebook`, { path: file });
    const bytes = await handle.readFile();
    let text: string;
    try {
      text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
    } catch {
      fail("NOTEBOOK_INVALID", `${file} is not UTF-8 text`, { path: file });
    }
    return { path: file, text, mtimeMs: st.mtimeMs };
  } catch (e) {
    if (isErrno(e, "EISDIR")) fail("NOTEBOOK_NOT_FOUND", `${file} is a folder, not a notebook`, { path: file });
    throw e;
  } finally {
    await handle.close().catch(() => undefined);
  }
}

async function syncFolder(dir: string): Promise<void> {
  // Makes the rename durable on Linux/macOS; not possible (nor needed) on every platform.
  const handle = await fsp.open(dir, "r").catch(() => null);
  if (!handle) return;
  await handle.sync().catch(() => undefined);
  await handle.close().catch(() => undefined);
}
