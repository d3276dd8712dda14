/** Reads a written SLAF dataset back with LanceDB directly, for assertions. */
import fs from "node:fs/promises";
import path from "node:path";
import * as lancedb from "@lancedb/lancedb";
import { SCAN_BATCH_ROWS } from "../../../main/services/arrow";

export interface ReadBack {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- config.json is checked field by field in the tests
  config: Record<string, any>;
  expression: { cell: number[]; gene: number[]; value: number[]; types: Record<string, string> };
  cells: Record<string, unknown[]>;
  genes: Record<string, unknown[]>;
  cellTypes: Record<string, string>;
  geneTypes: Record<string, string>;
  fragments: number;
  layers: Record<string, unknown[]> | null;
}

async function readTable(db: lancedb.Connection, name: string) {
  const t = await db.openTable(name);
  const arrowTable = await t.query().toArrow({ maxBatchLength: SCAN_BATCH_ROWS });
  const stats = await t.stats();
  t.close();
  const columns: Record<string, unknown[]> = {};
  const types: Record<string, string> = {};
  for (const f of arrowTable.schema.fields) {
    types[f.name] = String(f.type);
    const col = arrowTable.getChild(f.name)!;
    columns[f.name] = Array.from({ length: arrowTable.numRows }, (_, i) => {
      const v = col.get(i);
      if (v && typeof v === "object" && "toArray" in v) return Array.from((v as { toArray(): ArrayLike<number> }).toArray());
      return typeof v === "bigint" ? Number(v) : v;
    });
  }
  return { columns, types, fragments: stats.fragmentStats.numFragments };
}

export async function readBack(root: string): Promise<ReadBack> {
  const config = JSON.parse(await fs.readFile(path.join(root, "config.json"), "utf8"));
  const db = await lancedb.connect(root);
  try {
    const expr = await readTable(db, "expression");
    const cells = await readTable(db, "cells");
    const genes = await readTable(db, "genes");
    const layers = config.tables.layers ? (await readTable(db, "layers")).columns : null;
    return {
      config,
      expression: {
        cell: expr.columns.cell_integer_id as number[],
        gene: expr.columns.gene_integer_id as number[],
        value: expr.columns.value as number[],
        types: expr.types,
      },
      cells: cells.columns,
      genes: genes.columns,
      cellTypes: cells.types,
      geneTypes: genes.types,
      fragments: expr.fragments,
      layers,
    };
  } finally {
    db.close();
  }
}

/** Every triple as "cell:gene=value", in stored order. */
export function triples(r: ReadBack): string[] {
  return r.expression.cell.map((c, i) => `${c}:${r.expression.gene[i]}=${r.expression.value[i]}`);
}
