/**
 * Writes an exported batch where the user chose: an absolute path in an existing folder, never inside a dataset
 * (the caller's guard), never over an existing file unless `overwrite` (EXPORT_TARGET_EXISTS otherwise, as the
 * query export). The bytes go to a temp file beside the target first, so a failed write leaves nothing half-done.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import { checkTarget, placeTemp } from "../fs/export-target";

export async function writeExport(file: string, data: Uint8Array | string, overwrite: boolean): Promise<{ path: string; bytes: number }> {
  await checkTarget(file, overwrite);
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    await fs.writeFile(temp, data, { flag: "wx", mode: 0o644 });
    await placeTemp(temp, file, overwrite);
  } finally {
    await fs.rm(temp, { force: true });
  }
  return { path: file, bytes: (await fs.stat(file)).size };
}
