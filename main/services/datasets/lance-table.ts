import fs from "node:fs/promises";
import * as lancedb from "@lancedb/lancedb";
import type { ColumnInfo, TableInfo } from "../../../shared/ipc/contract";
import { fail } from "../errors";

/**
 * Opens a Lance dataset by its path. LanceDB has no open-by-path: connect to the parent folder and open the
 * table named by the folder without its `.lance` suffix. Connecting and opening read only.
 */
export async function openLanceTable(fullPath: string, storageOptions?: Record<string, string>): Promise<{ db: lancedb.Connection; table: lancedb.Table }> {
  const slash = fullPath.lastIndexOf("/");
  const dir = fullPath.slice(0, slash);
  const base = fullPath.slice(slash + 1);
  if (!base.endsWith(".lance")) fail("TABLE_NOT_LANCE", `${fullPath} is not a Lance dataset (its folder name must end in .lance)`, { path: fullPath });
  const db = await lancedb.connect(dir, storageOptions ? { storageOptions } : undefined);
  try {
    const table = await db.openTable(base.slice(0, -".lance".length));
    return { db, table };
  } catch (e) {
    db.close();
    throw e;
  }
}

/** Distinguishes "missing" from "present but not Lance" for a local table path. */
export async function explainLocalOpenFailure(fullPath: string, tableName: string, cause: unknown): Promise<never> {
  const stat = await fs.stat(fullPath).catch(() => null);
  if (!stat) fail("TABLE_MISSING", `config.json lists table "${tableName}" at ${fullPath}, but nothing is there`, { path: fullPath });
  const detail = cause instanceof Error ? cause.message : String(cause);
  fail("TABLE_NOT_LANCE", `Table "${tableName}" at ${fullPath} is not a readable Lance dataset`, { path: fullPath, detail });
}

export function describeColumns(schema: { fields: { name: string; type: { toString(): string }; nullable: boolean }[] }): ColumnInfo[] {
  return schema.fields.map((f) => ({ name: f.name, type: String(f.type), nullable: f.nullable }));
}

export async function describeTable(name: string, relPath: string, table: lancedb.Table): Promise<TableInfo> {
  const [schema, stats] = await Promise.all([table.schema(), table.stats()]);
  return {
    name,
    path: relPath,
    rows: stats.numRows,
    fragments: stats.fragmentStats.numFragments,
    bytes: stats.totalBytes,
    columns: describeColumns(schema),
  };
}
