/**
 * A batch as the contract's Arrow IPC layout (shared/ipc/types/loader.ts, LoaderBatch): typed arrays go in as
 * column buffers (FixedSizeList children for the [batch × seqLength] arrays), never value by value.
 */
import { arrow } from "../arrow";
import type { GeneSymbols } from "./gene-symbols";
import type { LabelColumn } from "./labels";
import type { RawBatch } from "./raw";
import { GENE_OFFSET, type TokenizedBatch } from "./tokens";

type Vector = InstanceType<typeof arrow.Vector>;
type DataType = InstanceType<typeof arrow.DataType>;

function column(type: DataType, data: ArrayLike<number>): Vector {
  return arrow.makeVector(arrow.makeData({ type, length: data.length, nullCount: 0, data } as never)) as unknown as Vector;
}

/** Rows of `width` values each, as FixedSizeList<type>[width]. */
function fixedRows(type: DataType, data: ArrayLike<number>, width: number): Vector {
  const child = arrow.makeData({ type, length: data.length, nullCount: 0, data } as never);
  const listType = new arrow.FixedSizeList(width, new arrow.Field("item", type, true));
  return arrow.makeVector(arrow.makeData({ type: listType, length: width > 0 ? data.length / width : 0, nullCount: 0, child })) as unknown as Vector;
}

export function boolColumn(flags: ArrayLike<number>): Vector {
  const bits = new Uint8Array(Math.ceil(flags.length / 8));
  for (let i = 0; i < flags.length; i++) if (flags[i]) bits[i >> 3] |= 1 << (i & 7);
  return arrow.makeVector(arrow.makeData({ type: new arrow.Bool(), length: flags.length, nullCount: 0, data: bits })) as unknown as Vector;
}

/** Utf8 from JS strings into one data buffer and its offsets (vectorFromArray costs ~1 µs per string). */
export function textColumn(values: (string | null)[]): Vector {
  const enc = new TextEncoder();
  const offsets = new Int32Array(values.length + 1);
  const validity = new Uint8Array(Math.ceil(values.length / 8));
  let cap = 16;
  for (const v of values) cap += v === null ? 0 : v.length * 3;
  const data = new Uint8Array(cap);
  let at = 0;
  let nulls = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null) nulls++;
    else {
      validity[i >> 3] |= 1 << (i & 7);
      at += enc.encodeInto(v, data.subarray(at)).written;
    }
    offsets[i + 1] = at;
  }
  const type = new arrow.Utf8();
  return arrow.makeVector(
    arrow.makeData({
      type,
      length: values.length,
      nullCount: nulls,
      nullBitmap: nulls ? validity : null,
      valueOffsets: offsets,
      data: data.subarray(0, at),
    } as never),
  ) as unknown as Vector;
}

function ipc(columns: Record<string, Vector>): Uint8Array {
  return arrow.tableToIPC(new arrow.Table(columns as never), "stream");
}

/** One row per cell in batch order: ids, label, facts, and the token, mask and value rows. */
export function tokensArrow(t: TokenizedBatch, fragments: Int32Array, labels: LabelColumn | null): Uint8Array {
  const L = t.seqLength;
  // The contract marks special tokens (and padding) with NaN values, where the tokenizer writes 0.
  const values = Float32Array.from(t.values);
  for (let i = 0; i < values.length; i++) if (t.inputIds[i] < GENE_OFFSET) values[i] = NaN;
  const columns: Record<string, Vector> = {
    cell_integer_id: column(new arrow.Int32(), Int32Array.from(t.cellIds)),
    label: textColumn(Array.from(t.cellIds, (id) => (labels ? labels.of(id) : null))),
    n_genes: column(new arrow.Int32(), t.facts.length),
    truncated: boolColumn(t.facts.truncated),
    sep_kept: boolColumn(t.facts.sepKept),
    fragment: column(new arrow.Int32(), fragments),
    input_ids: fixedRows(new arrow.Int32(), t.inputIds, L),
    attention_mask: fixedRows(new arrow.Uint8(), t.attentionMask, L),
    values: fixedRows(new arrow.Float32(), values, L),
  };
  if (t.valueTokens) columns.value_tokens = fixedRows(new arrow.Int32(), t.valueTokens, L);
  return ipc(columns);
}

function storedType(values: RawBatch["values"]): DataType {
  if (values instanceof Float32Array) return new arrow.Float32();
  if (values instanceof Uint16Array) return new arrow.Uint16();
  if (values instanceof Uint32Array) return new arrow.Uint32();
  return new arrow.Int32();
}

/** COO rows in batch order, values in their stored type. */
export function rawArrow(r: RawBatch): Uint8Array {
  return ipc({
    cell_integer_id: column(new arrow.Int32(), Int32Array.from(r.rowCellIds)),
    gene_integer_id: column(new arrow.Int32(), Int32Array.from(r.geneIds)),
    value: column(storedType(r.values), r.values),
  });
}

/** The distinct genes of a batch, ascending. */
export function batchGeneIds(batch: { tokens: TokenizedBatch | null; raw: RawBatch | null }): Int32Array {
  const ids: ArrayLike<number> = batch.tokens ? batch.tokens.inputIds : (batch.raw?.geneIds ?? []);
  const shift = batch.tokens ? GENE_OFFSET : 0;
  let max = -1;
  for (let i = 0; i < ids.length; i++) if (ids[i] > max) max = ids[i];
  const seen = new Uint8Array(max + 1);
  let n = 0;
  for (let i = 0; i < ids.length; i++) {
    const v = ids[i];
    if (v >= shift && seen[v] === 0) {
      seen[v] = 1;
      n++;
    }
  }
  const out = new Int32Array(n);
  for (let v = shift, k = 0; v <= max; v++) if (seen[v]) out[k++] = v - shift;
  return out;
}

/** `gene_integer_id` Int32, `symbol` Utf8 for the given genes. */
export function genesArrow(geneIds: Int32Array, symbols: GeneSymbols): Uint8Array {
  return ipc({
    gene_integer_id: column(new arrow.Int32(), geneIds),
    symbol: textColumn(Array.from(geneIds, (g) => symbols.name(g))),
  });
}
