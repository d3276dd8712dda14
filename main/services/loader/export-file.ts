/**
 * Writes an exported batch where the user chose: an absolute path in an existing folder, never inside a dataset
 * (the caller's guard), never over an existing file unless `overwrite` (EXPORT_TARGET_EXISTS otherwise, as the
 * query export). The bytes go to a temp file beside the target first, so a failed write leaves nothing half-done.
 */
import { randomBytes } from "node:crypto";
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

export async function writeExport(file: string, data: Uint8Array | string, overwrite: boolean): Promise<{ path: string; bytes: number }> {
  await checkTarget(file, overwrite);
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    await fs.writeFile(temp, data, { flag: "wx", mode: 0o644 });
    if (overwrite) await fs.rename(temp, file);
    else await placeNew(temp, file);
  } finally {
    await fs.rm(temp, { force: true });
  }
  return { path: file, bytes: (await fs.stat(file)).size };
}

/** A hard link fails on an existing name, unlike rename; file systems without links get check-then-rename. */
async function placeNew(temp: string, file: string): Promise<void> {
  try {
    await fs.link(temp, file);
    return;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EEXIST") refuseExisting(file);
    if (code !== "EPERM" && code !== "ENOTSUP" && code !== "EOPNOTSUPP" && code !== "EXDEV") throw e;
  }
  if (await fs.lstat(file).catch(() => null)) refuseExisting(file);
  await fs.rename(temp, file);
}
