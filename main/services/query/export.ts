/**
 * Exports a result table to CSV or Parquet. DuckDB writes only inside the engine's staging folder (the database
 * is locked against every other path, see sandbox.ts); Node then moves the file next to the target and into
 * place. An existing target is replaced only with `overwrite`, else EXPORT_TARGET_EXISTS names it (the app asks
 * "Replace?", the CLI needs --force). The staged file never outlives the call.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import type { DuckDBConnection } from "@duckdb/node-api";
import type { ExportFormat } from "../../../shared/ipc/contract";
import { fail } from "../errors";
import { stringLiteral } from "../sql-text";

export interface ExportTarget {
  format: ExportFormat;
  /** Absolute path the user chose. */
  path: string;
  overwrite: boolean;
}

/** Checks format and target before anything is written; fails naming the path. */
export async function checkExportTarget(target: ExportTarget): Promise<void> {
  const { format, path: file } = target;
  if (format !== "csv" && format !== "parquet") fail("INVALID_ARGUMENT", `Unknown export format "${String(format)}"; use csv or parquet`);
  if (!path.isAbsolute(file)) fail("INVALID_ARGUMENT", `Export needs an absolute path, got "${file}"`, { path: file });
  const dir = path.dirname(file);
  const stat = await fs.stat(dir).catch(() => null);
  if (!stat?.isDirectory()) fail("INVALID_ARGUMENT", `Cannot export to ${file}: folder ${dir} does not exist`, { path: file });
  const existing = await fs.lstat(file).catch(() => null);
  if (existing?.isDirectory()) fail("INVALID_ARGUMENT", `Cannot export to ${file}: it is a folder`, { path: file });
  if (existing && !target.overwrite) refuseExisting(file);
}

function refuseExisting(file: string): never {
  fail("EXPORT_TARGET_EXISTS", `${file} already exists; replace it or choose another name`, { path: file });
}

export async function exportTable(
  conn: DuckDBConnection,
  qualifiedTable: string,
  target: ExportTarget,
  stagingDir: string,
): Promise<{ path: string; bytes: number }> {
  await checkExportTarget(target);
  const file = target.path;
  const token = randomBytes(8).toString("hex");
  const staged = path.join(stagingDir, `${token}.${target.format}`);
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${token}.tmp`);
  const options = target.format === "csv" ? "FORMAT csv, HEADER true" : "FORMAT parquet, COMPRESSION zstd";
  try {
    await conn.run(`COPY (SELECT * FROM ${qualifiedTable}) TO ${stringLiteral(staged)} (${options})`);
    await moveFile(staged, temp);
    if (target.overwrite) await fs.rename(temp, file);
    else await placeNew(temp, file);
  } finally {
    await fs.rm(staged, { force: true });
    await fs.rm(temp, { force: true });
  }
  return { path: file, bytes: (await fs.stat(file)).size };
}

/** Renames, or copies when the staging folder is on another file system. */
async function moveFile(from: string, to: string): Promise<void> {
  try {
    await fs.rename(from, to);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EXDEV") throw e;
    await fs.copyFile(from, to, fs.constants.COPYFILE_EXCL);
  }
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
