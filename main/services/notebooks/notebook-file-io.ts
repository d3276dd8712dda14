/** Notebook files on disk: safe reads, atomic writes with a conflict check, exclusive creation. */
import { randomBytes } from "node:crypto";
import fsp from "node:fs/promises";
import path from "node:path";
import type { NotebookFile } from "../../../shared/ipc/contract";
import { NOTEBOOK_EXTENSION } from "../../../shared/notebook/format";
import { fail } from "../errors";
import { FileReadError, readRegularFile } from "../fs/read-regular-file";

/** A notebook is text a person edits; anything this large is not one (and is not read whole into memory). */
export const NOTEBOOK_MAX_BYTES = 16 * 1024 * 1024;

/** What a file looked like on disk, to tell our own writes from someone else's. */
export interface FileStamp {
  mtimeMs: number;
  size: number;
}

export function isErrno(e: unknown, ...codes: string[]): boolean {
  return typeof e === "object" && e !== null && codes.includes((e as NodeJS.ErrnoException).code ?? "");
}

/** The absolute, normalized notebook path of a request, or INVALID_ARGUMENT. */
export function checkNotebookPath(p: unknown): string {
  if (typeof p !== "string" || p.trim() === "") fail("INVALID_ARGUMENT", "A notebook path is required");
  if (p.includes("\0")) fail("INVALID_ARGUMENT", `Invalid notebook path: ${JSON.stringify(p)}`);
  if (!path.isAbsolute(p)) fail("INVALID_ARGUMENT", `Notebook paths must be absolute: ${p}`, { path: p });
  return path.resolve(p);
}

export function checkMarkdownName(file: string): void {
  if (!file.endsWith(".md")) fail("INVALID_ARGUMENT", `A notebook is saved as Markdown: ${file} should end in ${NOTEBOOK_EXTENSION}`, { path: file });
}

/** Reads a notebook: a regular UTF-8 file under NOTEBOOK_MAX_BYTES, with the mtime of the same open file. */
export async function readNotebookFile(file: string): Promise<NotebookFile> {
  let read;
  try {
    read = await readRegularFile(file, { maxBytes: NOTEBOOK_MAX_BYTES, what: "notebook" });
  } catch (e) {
    if (!(e instanceof FileReadError)) throw e;
    const extra = { path: file, detail: e.cause === undefined ? undefined : String(e.cause) };
    if (e.problem === "missing") fail("NOTEBOOK_NOT_FOUND", e.message, extra);
    if (e.problem === "directory") fail("NOTEBOOK_NOT_FOUND", `${file} is a folder, not a notebook`, extra);
    if (e.problem === "permission") fail("PERMISSION_DENIED", `Cannot read ${file}: permission denied`, extra);
    if (e.problem === "stalled") fail("SOURCE_UNREACHABLE", e.message, { ...extra, retryable: true });
    fail("NOTEBOOK_INVALID", e.message, extra);
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(read.bytes);
  } catch {
    fail("NOTEBOOK_INVALID", `${file} is not UTF-8 text`, { path: file });
  }
  return { path: file, text, mtimeMs: read.mtimeMs };
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

async function statOrNull(file: string) {
  return fsp.stat(file).catch((e) => {
    if (isErrno(e, "ENOENT")) return null;
    throw e;
  });
}

/** Writes `text` to a temp file beside `file`, checks for a conflict, then renames it over `file`. */
export async function writeNotebookAtomic(file: string, text: string, expected: number | null, overwrite: boolean): Promise<FileStamp> {
  const dir = path.dirname(file);
  await fsp.mkdir(dir, { recursive: true }).catch((e) => {
    if (isErrno(e, "ENOTDIR", "EEXIST")) fail("NOTEBOOK_NOT_FOUND", `Cannot write ${file}: ${dir} is not a folder`, { path: file });
    if (isErrno(e, "EACCES", "EPERM", "EROFS")) fail("PERMISSION_DENIED", `Cannot write ${file}: permission denied`, { path: file, detail: String(e) });
    throw e;
  });
  const before = await statOrNull(file);
  if (before?.isDirectory()) fail("INVALID_ARGUMENT", `Cannot write ${file}: it is a folder`, { path: file });
  const temp = await writeTemp(file, text, before?.mode);
  try {
    // The conflict check sits right before the rename, to keep the window for a lost update small.
    const now = await statOrNull(file);
    if (!overwrite) checkConflict(file, now?.mtimeMs ?? null, expected);
    await fsp.rename(temp.path, file);
  } catch (e) {
    await fsp.rm(temp.path, { force: true }).catch(() => undefined);
    throw e;
  }
  await syncFolder(dir);
  return { mtimeMs: temp.mtimeMs, size: temp.size };
}

/** Creates `file` with `text` only if it does not exist (link of a finished temp file); null if it exists. */
export async function createNotebookExclusive(file: string, text: string): Promise<FileStamp | null> {
  const temp = await writeTemp(file, text, undefined);
  try {
    try {
      await fsp.link(temp.path, file);
    } catch (e) {
      if (isErrno(e, "EEXIST")) return null;
      if (!isErrno(e, "EPERM", "ENOTSUP", "EOPNOTSUPP", "EXDEV", "ENOSYS")) throw e;
      // No hard links on this file system: fall back to check-then-rename.
      if (
        await fsp.stat(file).then(
          () => true,
          () => false,
        )
      )
        return null;
      await fsp.rename(temp.path, file);
    }
  } finally {
    await fsp.rm(temp.path, { force: true }).catch(() => undefined);
  }
  await syncFolder(path.dirname(file));
  return { mtimeMs: temp.mtimeMs, size: temp.size };
}

async function writeTemp(file: string, text: string, mode: number | undefined): Promise<FileStamp & { path: string }> {
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
    if (isErrno(e, "EACCES", "EPERM", "EROFS")) fail("PERMISSION_DENIED", `Cannot write ${file}: permission denied`, { path: file, detail: String(e) });
    throw e;
  }
}

async function syncFolder(dir: string): Promise<void> {
  // Makes the rename durable on Linux/macOS; not possible (nor needed) on every platform.
  const handle = await fsp.open(dir, "r").catch(() => null);
  if (!handle) return;
  await handle.sync().catch(() => undefined);
  await handle.close().catch(() => undefined);
}
