/** Raw mode (SLAF's `raw_mode=True`): no tokenizer, the batch's whole cells as COO rows in stored dtypes and order. */
import { validateBatch, type CsrBatch, type GeneIds, type StoredValues } from "./tokens";

export interface RawBatch {
  /** The batch's cells in batch order (SLAF leaves this order unspecified). */
  cellIds: Uint32Array;
  /** COO: one entry per stored value. */
  rowCellIds: Uint32Array;
  geneIds: GeneIds;
  values: StoredValues;
}

export function rawBatch(batch: CsrBatch): RawBatch {
  validateBatch(batch);
  const n = batch.cellIds.length;
  const first = n > 0 ? batch.offsets[0] : 0;
  const last = n > 0 ? batch.offsets[n] : 0;
  const rowCellIds = new Uint32Array(last - first);
  for (let i = 0; i < n; i++) rowCellIds.fill(batch.cellIds[i], batch.offsets[i] - first, batch.offsets[i + 1] - first);
  return { cellIds: Uint32Array.from(batch.cellIds), rowCellIds, geneIds: batch.genes.slice(first, last), values: batch.values.slice(first, last) };
}
