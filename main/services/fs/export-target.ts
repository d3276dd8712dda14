/**
 * The target checks and the no-overwrite placement every export shares (query results, loader batches, bench
 * reports): an absolute path in an existing folder, not a folder itself, and never over an existing file unless
 * `overwrite` (EXPORT_TARGET_EXISTS otherwise; the app asks "Replace?", the CLI needs --force).
 */
import fs from "node:fs/promises";
import path from "node:path";
import { fail } from "../errors";

function refuseExisting(file: string): never {
  fail("EXPORT_TARGET_EXISTS", `${file} already exists; replace it or choose another name`, { path: file });
}

export async function checkTarget(file: string, overwrite: boolean): Promise<void> {
  if (!path.isAbsolute(file)) fail("INVALID_ARGUMENT", `Export needs an absolute path, got "${file}"`, { path: file });
  const dir = path.dirname(file);
  const stat = await fs.stat(dir).catch(() => null);
  if (!stat?.isDirectory()) fail("INVALID_ARGUMENT", `Cannot export to ${file}: folder ${dir} does not exist`, { path: file });
  const existing = await fs.lstat(file).catch(() => null);
  if (existing?.isDirectory()) fail("INVALID_ARGUMENT", `Cannot export to ${file}: it is a folder`, { path: file });
  if (existing && !overwrite) refuseExisting(file);
}

/** Moves `temp` to `file`, replacing only with `overwrite`. */
export async function placeTemp(temp: string, file: string, overwrite: boolean): Promise<void> {
  if (overwrite) await fs.rename(temp, file);
  else await placeNew(temp, file);
}

/** Puts `temp` at `file` only if nothing is there yet (a hard link fails on an existing name, unlike rename). */
async function placeNew(temp: string, file: string): Promise<void> {
  try {
    await fs.link(temp, file);
    return;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EEXIST") refuseExisting(file);
    // File systems without hard links: check, then rename (a file appearing in between would be replaced).
    if (code !== "EPERM" && code !== "ENOTSUP" && code !== "EOPNOTSUPP" && code !== "EXDEV") throw e;
  }
  if (await fs.lstat(file).catch(() => null)) refuseExisting(file);
  await fs.rename(temp, file);
}
