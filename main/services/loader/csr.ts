/** Builds a CsrBatch from per-cell typed arrays (one copy per batch, nothing per element). */
import { invalid, type CsrBatch } from "./tokens";

export interface CellArrays {
  cellId: number;
  genes: ArrayLike<number>;
  values: ArrayLike<number>;
}

export function csrFromCells(cells: readonly CellArrays[], valueType: "integer" | "float"): CsrBatch {
  const offsets = new Uint32Array(cells.length + 1);
  for (let i = 0; i < cells.length; i++) offsets[i + 1] = offsets[i] + cells[i].genes.length;
  const nnz = offsets[cells.length];
  const genes = new Uint32Array(nnz);
  const values = new Float32Array(nnz);
  const cellIds = new Uint32Array(cells.length);
  for (let i = 0; i < cells.length; i++) {
    const c = cells[i];
    cellIds[i] = c.cellId;
    genes.set(c.genes, offsets[i]);
    if (c.values.length !== c.genes.length) throw invalid(`Cell ${c.cellId} has ${c.genes.length} genes but ${c.values.length} values`);
    values.set(c.values, offsets[i]);
  }
  return { cellIds, offsets, genes, values, valueType };
}
