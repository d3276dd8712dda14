/** Exports a result table to CSV or Parquet with DuckDB's COPY, atomically (temp file, then rename). */
import fs from "node:fs/promises";
import path from "node:path";
import type { DuckDBConnection } from "@duckdb/node-api";
import type { ExportFormat } from "../../../shared/ipc/contract";
import { fail } from "../errors";

function stringLiteral(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}

export async function exportTable(conn: DuckDBConnection, qualifiedTable: string, format: ExportFormat, target: string): Promise<{ path: string; bytes: number }> {
  if (format !== "csv" && format !== "parquet") fail("INVALID_ARGUMENT", `Unknown export format "${String(format)}"; use csv or parquet`);
  if (!path.isAbsolute(target)) fail("INVALID_ARGUMENT", `Export needs an absolute path, got "${target}"`, { path: target });
  const dir = path.dirname(target);
  const stat = await fs.stat(dir).catch(() => null);
  if (!stat?.isDirectory()) fail("INVALID_ARGUMENT", `Cannot export to ${target}: folder ${dir} does not exist`, { path: target });
  const temp = path.join(dir, `.${path.basename(target)}.${process.pid}.${Date.now()}.tmp`);
  const options = format === "csv" ? "FORMAT csv, HEADER true" : "FORMAT parquet, COMPRESSION zstd";
  try {
    await conn.run(`COPY (SELECT * FROM ${qualifiedTable}) TO ${stringLiteral(temp)} (${options})`);
    await fs.rename(temp, target);
  } catch (e) {
    await fs.rm(temp, { force: true });
    throw e;
  }
  return { path: target, bytes: (await fs.stat(target)).size };
}

