/**
 * Cost estimates for the preview: rows from Lance (exact `countRows(filter)` on small local tables, else
 * selectivity rules), bytes from column widths (strings measured on a sample). Bytes are Arrow bytes as Lance
 * delivers them, the same unit as ScanReport.bytesScanned.
 */
import type * as lancedb from "@lancedb/lancedb";
import { arrowTypeInfo, fixedWidth } from "../arrow-types";
import type { CatalogTable } from "./catalog";
import type { Pred } from "./pushdown";

const SAMPLE_ROWS = 4096;

/** Per-table Arrow bytes per row of each column (strings sampled once). */
export class ColumnWidths {
  private readonly cache = new Map<string, Promise<Map<string, number>>>();

  widths(key: string, lance: lancedb.Table, table: CatalogTable): Promise<Map<string, number>> {
    let p = this.cache.get(key);
    if (!p) {
      p = measure(lance, table);
      this.cache.set(key, p);
      p.catch(() => this.cache.delete(key));
    }
    return p;
  }
}

async function measure(lance: lancedb.Table, table: CatalogTable): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const variable: string[] = [];
  for (const c of table.columns) {
    const w = fixedWidth(arrowTypeInfo(c.type));
    if (w === null) variable.push(c.name);
    else out.set(c.name, w);
  }
  if (variable.length) {
    const sample = await lance.query().select(variable).limit(SAMPLE_ROWS).toArrow({ maxBatchLength: SAMPLE_ROWS });
    for (const name of variable) {
      const col = sample.getChild(name);
      let bytes = 0;
      for (const d of col?.data ?? []) bytes += (d.valueOffsets?.byteLength ?? 0) + (d.values?.byteLength ?? 0);
      out.set(name, sample.numRows > 0 ? bytes / sample.numRows : 16);
    }
  }
  return out;
}

export function rowBytes(widths: Map<string, number>, columns: Iterable<string>): number {
  let sum = 0;
  for (const c of columns) sum += widths.get(c) ?? 16;
  return sum;
}

/** A rough fraction of rows a predicate keeps, when counting is too costly. */
export function selectivity(pred: Pred | null, idRanges: Map<string, number>): number {
  if (!pred) return 1;
  switch (pred.op) {
    case "and":
      return pred.children.reduce((s, p) => s * selectivity(p, idRanges), 1);
    case "or":
      return Math.min(
        1,
        pred.children.reduce((s, p) => s + selectivity(p, idRanges), 0),
      );
    case "cmp": {
      const n = idRanges.get(pred.column);
      if (pred.cmp === "=") return n ? 1 / n : 0.1;
      if (pred.cmp === "<>") return 0.9;
      if (n && pred.value.kind === "number") {
        const v = pred.value.value;
        const frac = pred.cmp === "<" || pred.cmp === "<=" ? v / n : 1 - v / n;
        return Math.min(1, Math.max(0, frac));
      }
      return 1 / 3;
    }
    case "in": {
      const n = idRanges.get(pred.column);
      return Math.min(1, pred.values.length * (n ? 1 / n : 0.1));
    }
    case "between": {
      const n = idRanges.get(pred.column);
      if (n && pred.low.kind === "number" && pred.high.kind === "number") return Math.min(1, Math.max(0, (pred.high.value - pred.low.value + 1) / n));
      return 0.25;
    }
    case "null":
      return pred.negated ? 0.95 : 0.05;
  }
}
