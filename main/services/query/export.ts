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
import { checkTarget, placeTemp } from "../fs/export-target";
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
  await checkTarget(file, target.overwrite);
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
    await placeTemp(temp, file, target.overwrite);
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
