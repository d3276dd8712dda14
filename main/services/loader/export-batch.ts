/**
 * One batch as the files a Python user reads (pure: no I/O, shared by the preview's export and the CLI).
 *
 * JSON, tokenized: exactly the CLI's one-batch document (`slaf-workbench loader --format json` prints
 * `{"batches": [these, ...]}`), SLAF's batch dict as `tolist()` gives it:
 *   {"cell_ids": [...], "input_ids": [[...], ...], "attention_mask": [[true, ...], ...], "values": [[...], ...]}
 * cell ids are cell_integer_id, attention_mask is boolean (SLAF's torch.bool), and "values" (scGPT only) holds
 * SLAF's value tokens (vocab_size + bin, PAD elsewhere).
 * JSON, raw: SLAF's raw-mode dict, the COO rows of `x` by column:
 *   {"cell_ids": [...], "x": {"cell_integer_id": [...], "gene_integer_id": [...], "value": [...]}}
 *
 * NPZ (`np.load(path)`): the same keys as arrays: cell_ids, input_ids, values int64 and attention_mask bool,
 * [batch, seq_len] (SLAF's tensor dtypes); raw: cell_ids int64, and cell_integer_id, gene_integer_id (int64) and
 * value (the stored dtype) for the COO rows.
 */
import type { RawBatch } from "./raw";
import type { TokenizedBatch } from "./tokens";
import { npzBytes, type NpyArray, type NpyDtype } from "./npz";

export type ExportableBatch = { tokens: TokenizedBatch; raw?: null } | { tokens?: null; raw: RawBatch };

function list(a: ArrayLike<number> & { join(sep: string): string }): string {
  return `[${a.join(",")}]`;
}

function rows(a: Int32Array, n: number, len: number): string {
  const out: string[] = [];
  for (let r = 0; r < n; r++) out.push(list(a.subarray(r * len, (r + 1) * len)));
  return `[${out.join(",")}]`;
}

function maskRows(mask: Uint8Array, n: number, len: number): string {
  const out: string[] = [];
  for (let r = 0; r < n; r++) {
    const row = new Array<string>(len);
    for (let p = 0; p < len; p++) row[p] = mask[r * len + p] ? "true" : "false";
    out.push(`[${row.join(",")}]`);
  }
  return `[${out.join(",")}]`;
}

/** Stored float32 values as JSON numbers: the shortest decimal that reads back as the same float32. */
function valueList(values: RawBatch["values"]): string {
  if (!(values instanceof Float32Array)) return list(values);
  const out = new Array<string>(values.length);
  for (let i = 0; i < values.length; i++) out[i] = shortestFloat32(values[i]);
  return `[${out.join(",")}]`;
}

function shortestFloat32(x: number): string {
  if (!Number.isFinite(x)) return "null";
  for (let digits = 1; digits < 17; digits++) {
    const s = x.toPrecision(digits);
    if (Math.fround(Number(s)) === x) return String(Number(s));
  }
  return String(x);
}

export function batchJson(batch: ExportableBatch): string {
  if (batch.tokens) {
    const t = batch.tokens;
    const n = t.batchSize;
    const L = t.seqLength;
    const parts = [`"cell_ids":${list(t.cellIds)}`, `"input_ids":${rows(t.inputIds, n, L)}`, `"attention_mask":${maskRows(t.attentionMask, n, L)}`];
    if (t.valueTokens) parts.push(`"values":${rows(t.valueTokens, n, L)}`);
    return `{${parts.join(",")}}`;
  }
  const r = batch.raw as RawBatch;
  return `{"cell_ids":${list(r.cellIds)},"x":{"cell_integer_id":${list(r.rowCellIds)},"gene_integer_id":${list(r.geneIds)},"value":${valueList(r.values)}}}`;
}

function storedDtype(values: RawBatch["values"]): NpyDtype {
  if (values instanceof Float32Array) return "<f4";
  if (values instanceof Uint16Array) return "<u2";
  if (values instanceof Uint32Array) return "<u4";
  return "<i4";
}

export function batchNpyArrays(batch: ExportableBatch): NpyArray[] {
  if (batch.tokens) {
    const t = batch.tokens;
    const shape = [t.batchSize, t.seqLength];
    const arrays: NpyArray[] = [
      { name: "cell_ids", dtype: "<i8", shape: [t.batchSize], data: t.cellIds },
      { name: "input_ids", dtype: "<i8", shape, data: t.inputIds },
      { name: "attention_mask", dtype: "|b1", shape, data: t.attentionMask },
    ];
    if (t.valueTokens) arrays.push({ name: "values", dtype: "<i8", shape, data: t.valueTokens });
    return arrays;
  }
  const r = batch.raw as RawBatch;
  const rowsN = r.rowCellIds.length;
  return [
    { name: "cell_ids", dtype: "<i8", shape: [r.cellIds.length], data: r.cellIds },
    { name: "cell_integer_id", dtype: "<i8", shape: [rowsN], data: r.rowCellIds },
    { name: "gene_integer_id", dtype: "<i8", shape: [rowsN], data: r.geneIds },
    { name: "value", dtype: storedDtype(r.values), shape: [rowsN], data: r.values },
  ];
}

export function batchNpz(batch: ExportableBatch): Uint8Array {
  return npzBytes(batchNpyArrays(batch));
}
