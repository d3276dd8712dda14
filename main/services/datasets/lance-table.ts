import fs from "node:fs/promises";
import path from "node:path";
import * as lancedb from "@lancedb/lancedb";
import type { ColumnInfo, TableInfo } from "../../../shared/ipc/contract";
import { columnInfo, type DataType } from "../arrow-types";
import { isAppFailure } from "../../../shared/result";
import { fail } from "../errors";
import { lanceTableFailure } from "./lance-errors";

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

/** Refuses a table folder that is (or lies behind) a link leading out of the dataset folder: tables must live inside it. */
export async function checkTableInsideDataset(root: string, fullPath: string, tableName: string): Promise<void> {
  const real = await fs.realpath(fullPath).catch(() => null);
  if (real === null) return; // Missing or unreadable: the open reports it.
  const realRoot = await fs.realpath(root).catch(() => root);
  if (real === realRoot || real.startsWith(`${realRoot}${path.sep}`)) return;
  fail(
    "TABLE_OUTSIDE_DATASET",
    `Table "${tableName}" at ${fullPath} is a link to ${real}, outside the dataset folder ${root}; tables must live inside the dataset folder`,
    {
      path: fullPath,
    },
  );
}

/** Names why a local table did not open: missing, unreadable, damaged (TABLE_CORRUPT) or not Lance at all. */
export async function explainLocalOpenFailure(fullPath: string, tableName: string, cause: unknown): Promise<never> {
  if (isAppFailure(cause)) throw cause;
  const where = { path: fullPath, detail: cause instanceof Error ? cause.message : String(cause) };
  const lstat = await fs.lstat(fullPath).catch((e: NodeJS.ErrnoException) => e);
  if (lstat instanceof Error) {
    if (lstat.code === "EACCES" || lstat.code === "EPERM") fail("PERMISSION_DENIED", `Permission denied reading table "${tableName}" at ${fullPath}`, where);
    fail("TABLE_MISSING", `config.json lists table "${tableName}" at ${fullPath}, but nothing is there`, where);
  }
  if (
    lstat.isSymbolicLink() &&
    !(await fs.stat(fullPath).then(
      () => true,
      () => false,
    ))
  ) {
    fail("TABLE_MISSING", `Table "${tableName}" at ${fullPath} is a link to ${await fs.readlink(fullPath).catch(() => "?")}, which does not exist`, where);
  }
  if (!(await fs.stat(fullPath)).isDirectory()) fail("TABLE_NOT_LANCE", `Table "${tableName}" at ${fullPath} is a file, not a Lance dataset folder`, where);
  const mapped = lanceTableFailure(cause, { table: tableName, tablePath: fullPath });
  if (mapped) throw mapped;
  fail("TABLE_NOT_LANCE", `Table "${tableName}" at ${fullPath} is not a readable Lance dataset`, where);
}

export function describeColumns(schema: { fields: { name: string; type: DataType; nullable: boolean }[] }): ColumnInfo[] {
  return schema.fields.map((f) => columnInfo(f.name, f.type, f.nullable));
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
