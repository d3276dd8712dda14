/**
 * Worker side: a step's rows → its batch parts. The step's cells are put in emission order (the seeded block
 * shuffle of plan.ts), cut where the epoch's batches end, and each part's whole cells are gathered into a CSR
 * batch, then tokenized (or turned into raw COO, equal to rawBatch's). Every array is fresh (raw COO shares the
 * part's own gene and value arrays), so the worker can transfer them all.
 */
import type { RawBatch } from "../raw";
import type { Tokenizer } from "../tokenizer";
import type { CsrBatch, GeneIds, StoredValues } from "../tokens";
import { stepOrder, stepParts } from "./plan";
import type { BatchPart, StepTask } from "./protocol";
import type { StepRows } from "./step-reader";

function gather(rows: StepRows, positions: Uint32Array): { csr: CsrBatch; fragments: Int32Array } {
  const n = positions.length;
  const offsets = new Uint32Array(n + 1);
  const cellIds = new Uint32Array(n);
  const fragments = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const p = positions[i];
    offsets[i + 1] = offsets[i] + rows.rowCount[p];
    cellIds[i] = rows.cellIds[p];
    fragments[i] = rows.fragments[p];
  }
  const nnz = offsets[n];
  const genes = new (rows.genes.constructor as new (n: number) => GeneIds)(nnz);
  const values = new (rows.values.constructor as new (n: number) => StoredValues)(nnz);
  for (let i = 0; i < n; i++) {
    const p = positions[i];
    const from = rows.rowStart[p];
    const to = from + rows.rowCount[p];
    genes.set(rows.genes.subarray(from, to), offsets[i]);
    values.set(rows.values.subarray(from, to), offsets[i]);
  }
  return { csr: { cellIds, offsets, genes, values, valueType: rows.valueType }, fragments };
}

/** Raw mode's COO over the gathered cells, sharing their gene and value arrays (rawBatch would copy them again). */
function rawOf(csr: CsrBatch): RawBatch {
  const n = csr.cellIds.length;
  const rowCellIds = new Uint32Array(csr.offsets[n]);
  for (let i = 0; i < n; i++) rowCellIds.fill(csr.cellIds[i], csr.offsets[i], csr.offsets[i + 1]);
  return { cellIds: csr.cellIds as Uint32Array, rowCellIds, geneIds: csr.genes, values: csr.values };
}

export function stepBatchParts(rows: StepRows, task: StepTask, batchSize: number, tokenizer: Tokenizer | null, keepCsr: boolean): BatchPart[] {
  const order = stepOrder(task.nCells, task.shuffleSeed);
  return stepParts(task.cellOffset, task.nCells, batchSize).map((part) => {
    const { csr, fragments } = gather(rows, order.subarray(part.from, part.to));
    const tokens = tokenizer ? tokenizer.tokenize(csr) : null;
    const raw = tokenizer ? null : rawOf(csr);
    return { batch: part.batch, cellIds: csr.cellIds as Uint32Array, fragments, tokens, raw, csr: keepCsr ? csr : null };
  });
}

/** The distinct buffers behind a part's typed arrays (what postMessage transfers). */
export function partBuffers(parts: BatchPart[]): ArrayBuffer[] {
  const seen = new Set<ArrayBuffer>();
  const add = (a: ArrayBufferView | null | undefined) => {
    if (a) seen.add(a.buffer as ArrayBuffer);
  };
  for (const p of parts) {
    add(p.cellIds);
    add(p.fragments);
    if (p.tokens) {
      const t = p.tokens;
      [t.cellIds, t.inputIds, t.attentionMask, t.values, t.valueTokens, ...Object.values(t.facts)].forEach(add);
    }
    if (p.raw) [p.raw.cellIds, p.raw.rowCellIds, p.raw.geneIds, p.raw.values].forEach(add);
    if (p.csr) [p.csr.cellIds, p.csr.offsets, p.csr.genes, p.csr.values].forEach(add);
  }
  return [...seen];
}
