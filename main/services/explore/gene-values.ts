/** One gene's stored values per cell, read with `gene_integer_id = <id>` pushed down into Lance. */
import type * as lancedb from "@lancedb/lancedb";
import type { arrow } from "../arrow";
import { columnNumbers } from "./arrow-read";
import { batchBytes, scanBatches } from "./lance-scan";

type Vector = InstanceType<typeof arrow.Vector>;

export interface GeneRead {
  /** By cell_integer_id, 0 where nothing is stored. */
  values: Float32Array;
  rowsRead: number;
  bytesRead: number;
}

export async function readGene(table: lancedb.Table, geneIntegerId: number, nCells: number, signal?: AbortSignal): Promise<GeneRead> {
  const values = new Float32Array(nCells);
  let rowsRead = 0;
  let bytesRead = 0;
  const where = `gene_integer_id = ${Math.trunc(geneIntegerId)}`;
  for await (const batch of scanBatches(table, ["cell_integer_id", "value"], { where, signal })) {
    const cells = columnNumbers(batch.getChild("cell_integer_id") as Vector);
    const v = columnNumbers(batch.getChild("value") as Vector);
    for (let r = 0; r < cells.length; r++) {
      const c = cells[r];
      if (c >= 0 && c < nCells) values[c] += v[r];
    }
    rowsRead += cells.length;
    bytesRead += batchBytes(batch);
  }
  return { values, rowsRead, bytesRead };
}

/** ln(1 + value / total × 10,000) per cell (0 where the cell's total is 0). */
export function log1pCp10k(raw: Float32Array, totals: Float64Array): Float32Array {
  const out = new Float32Array(raw.length);
  for (let i = 0; i < raw.length; i++) {
    const t = totals[i];
    out[i] = raw[i] !== 0 && t > 0 ? Math.log1p((raw[i] / t) * 10_000) : 0;
  }
  return out;
}
