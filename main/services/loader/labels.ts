/**
 * Cells columns that can label a batch's cells (cell_type, donor, clusters …): strings, categories and booleans,
 * and integers with few distinct values. On tables up to LABEL_SCAN_MAX_ROWS cells every candidate is scanned
 * once per open dataset and kept only with at most MAX_LABEL_VALUES distinct values (so a barcode column is not
 * offered); on larger tables strings and booleans are offered by type (except SLAF's own cell_id) and integers
 * are not. A chosen column is read once per loader into one code per cell_integer_id.
 */
import type * as lancedb from "@lancedb/lancedb";
import type { ColumnInfo } from "../../../shared/ipc/contract";
import { fail } from "../errors";
import type { OpenDataset } from "../datasets/open-dataset";
import { scanColumns } from "./gene-symbols";

export const MAX_LABEL_VALUES = 1000;
export const LABEL_SCAN_MAX_ROWS = 1_000_000;
const SLAF_COLUMNS = new Set(["cell_id", "cell_integer_id", "cell_start_index"]);

function labelText(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  return typeof v === "string" ? v : String(v);
}

/** Per cell_integer_id, an index into `values` (0 = no value). */
export class LabelColumn {
  constructor(
    readonly column: string,
    readonly codes: Uint16Array,
    /** values[0] is null. */
    readonly values: (string | null)[],
  ) {}

  of(cellId: number): string | null {
    return cellId < this.codes.length ? this.values[this.codes[cellId]] : null;
  }
}

async function distinctAtMost(table: lancedb.Table, column: string, limit: number): Promise<boolean> {
  const seen = new Set<string | null>();
  for await (const batch of scanColumns(table, [column])) {
    const v = batch.getChild(column);
    for (let i = 0; i < batch.numRows; i++) {
      seen.add(labelText(v?.get(i)));
      if (seen.size > limit) return false;
    }
  }
  return true;
}

function candidate(c: ColumnInfo): boolean {
  return !SLAF_COLUMNS.has(c.name) && (c.kind === "string" || c.kind === "bool" || c.kind === "int");
}

async function findLabelColumns(ds: OpenDataset): Promise<string[]> {
  const info = ds.summary.tables.find((t) => t.name === "cells");
  const table = ds.tables.get("cells");
  if (!info || !table || !info.columns.some((c) => c.name === "cell_integer_id")) return [];
  const candidates = info.columns.filter(candidate);
  if (info.rows > LABEL_SCAN_MAX_ROWS) return candidates.filter((c) => c.kind !== "int").map((c) => c.name);
  const out: string[] = [];
  for (const c of candidates) if (await distinctAtMost(table, c.name, MAX_LABEL_VALUES)) out.push(c.name);
  return out;
}

const cache = new WeakMap<OpenDataset, Promise<string[]>>();

/** The dataset's label columns, found on first use and kept while it is open. */
export function labelColumns(ds: OpenDataset): Promise<string[]> {
  let pending = cache.get(ds);
  if (!pending) {
    pending = findLabelColumns(ds);
    pending.catch(() => cache.delete(ds));
    cache.set(ds, pending);
  }
  return pending;
}

/** Reads `column` for every cell (LOADER_OPTIONS_INVALID when it has more distinct values than codes can hold). */
export async function readLabelColumn(ds: OpenDataset, column: string): Promise<LabelColumn> {
  const table = ds.tables.get("cells") as lancedb.Table;
  const rows = ds.summary.tables.find((t) => t.name === "cells")?.rows ?? 0;
  let codes = new Uint16Array(rows);
  const values: (string | null)[] = [null];
  const index = new Map<string, number>();
  for await (const batch of scanColumns(table, ["cell_integer_id", column])) {
    const ids = batch.getChild("cell_integer_id");
    const v = batch.getChild(column);
    for (let i = 0; i < batch.numRows; i++) {
      const id = Number(ids?.get(i));
      const text = labelText(v?.get(i));
      if (text === null || !Number.isInteger(id) || id < 0) continue;
      let code = index.get(text);
      if (code === undefined) {
        if (values.length > 0xffff)
          fail("LOADER_OPTIONS_INVALID", `Option labelColumn: cells column "${column}" has more than ${0xffff} distinct values`, {
            detail: "field: options.labelColumn",
          });
        code = values.length;
        values.push(text);
        index.set(text, code);
      }
      if (id >= codes.length) {
        const grown = new Uint16Array(Math.max(id + 1, codes.length * 2));
        grown.set(codes);
        codes = grown;
      }
      codes[id] = code;
    }
  }
  return new LabelColumn(column, codes, values);
}
