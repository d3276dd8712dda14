/**
 * The counting pass: one streaming read of `expression` (cell_integer_id, gene_integer_id, value) giving, per
 * gene, the cells with a stored value > 0 and, per cell, the sum of its stored values (the CP10k denominator).
 * Memory ∝ genes + cells, never rows.
 */
import type * as lancedb from "@lancedb/lancedb";
import type { arrow } from "../arrow";
import { fail } from "../errors";
import { columnNumbers } from "./arrow-read";
import { scanBatches } from "./lance-scan";

type Vector = InstanceType<typeof arrow.Vector>;

export interface ExpressionStats {
  /** By gene_integer_id. */
  geneCells: Int32Array;
  /** By cell_integer_id. */
  cellTotals: Float64Array;
  rows: number;
}

export async function expressionPass(
  table: lancedb.Table,
  nCells: number,
  nGenes: number,
  opts: { signal?: AbortSignal; onRows?: (rows: number) => void } = {},
): Promise<ExpressionStats> {
  const geneCells = new Int32Array(nGenes);
  const cellTotals = new Float64Array(nCells);
  let rows = 0;
  for await (const batch of scanBatches(table, ["cell_integer_id", "gene_integer_id", "value"], { signal: opts.signal })) {
    const cells = columnNumbers(batch.getChild("cell_integer_id") as Vector);
    const genes = columnNumbers(batch.getChild("gene_integer_id") as Vector);
    const values = columnNumbers(batch.getChild("value") as Vector);
    for (let r = 0; r < cells.length; r++) {
      const c = cells[r];
      const g = genes[r];
      const v = values[r];
      if (!(c >= 0 && c < nCells && g >= 0 && g < nGenes))
        fail("EXPLORE_DATASET_UNSUPPORTED", `Expression row (cell ${c}, gene ${g}) is outside the cells or genes table`);
      if (v > 0) {
        geneCells[g]++;
        cellTotals[c] += v;
      }
    }
    rows += cells.length;
    opts.onRows?.(rows);
  }
  return { geneCells, cellTotals, rows };
}
