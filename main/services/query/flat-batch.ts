/**
 * A scanned batch of fixed-width columns as plain typed arrays, ready to memcpy into DuckDB: values from row 0
 * (booleans one byte each, as DuckDB stores them) and validity bits from bit 0. Built from Arrow data, keeping
 * only selected rows when an id filter applies. No DuckDB or Lance here: the scan worker uses it too.
 */
import { arrowTypeInfo, duckdbNumberType, type DataType } from "../arrow-types";

export interface FlatColumn {
  values: TypedArray;
  /** Arrow-style validity (1 = valid) from bit 0, or null when every value is valid. */
  validity: Uint8Array | null;
}

export interface FlatBatch {
  rows: number;
  columns: FlatColumn[];
}

export type TypedArray =
  Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | Float32Array | Float64Array | BigInt64Array | BigUint64Array;

/**
 * The parts of an apache-arrow Data a flat column is made from. apache-arrow slices fixed-width values with the
 * data (row i at `values[i]`) but not booleans or validity (row i at bit `offset + i`).
 */
export interface ArrowPart {
  values: TypedArray;
  offset: number;
  nullCount: number;
  nullBitmap: Uint8Array | null | undefined;
}

export type FlatKind = "fixed" | "bool";

/** How a column is flattened, or null when it is not fixed-width (strings, lists...). */
export function flatKind(type: DataType): FlatKind | null {
  const info = arrowTypeInfo(type);
  if (duckdbNumberType(info)) return "fixed";
  return info.kind === "bool" ? "bool" : null;
}

/** One column of a batch, whole (`sel` null: a view, no copy, for fixed-width values) or only the rows in `sel[0..n)`. */
export function flattenColumn(kind: FlatKind, d: ArrowPart, rows: number, sel: Uint32Array | null, n: number): FlatColumn {
  const count = sel ? n : rows;
  const validity = d.nullCount > 0 && d.nullBitmap && d.nullBitmap.length > 0 ? packBits(d.nullBitmap, d.offset, rows, sel, n) : null;
  if (kind === "bool") {
    const bits = d.values as Uint8Array;
    const out = new Uint8Array(count);
    for (let j = 0; j < count; j++) {
      const b = d.offset + (sel ? sel[j] : j);
      out[j] = (bits[b >>> 3] >>> (b & 7)) & 1;
    }
    return { values: out, validity };
  }
  if (!sel) return { values: d.values.subarray(0, rows), validity };
  const src = d.values;
  const out = new (src.constructor as new (n: number) => TypedArray)(n);
  if (src instanceof BigInt64Array || src instanceof BigUint64Array) {
    const o = out as BigInt64Array;
    for (let j = 0; j < n; j++) o[j] = src[sel[j]] as bigint;
  } else {
    const o = out as Float64Array;
    const s = src as Float64Array;
    for (let j = 0; j < n; j++) o[j] = s[sel[j]];
  }
  return { values: out, validity };
}

/** Validity bits from bit `offset` (all rows, or the selected ones) repacked from bit 0; a view when already aligned. */
function packBits(bitmap: Uint8Array, offset: number, rows: number, sel: Uint32Array | null, n: number): Uint8Array {
  const count = sel ? n : rows;
  if (!sel && offset % 8 === 0) return bitmap.subarray(offset / 8, offset / 8 + Math.ceil(rows / 8));
  const out = new Uint8Array(Math.ceil(count / 8));
  for (let j = 0; j < count; j++) {
    const b = offset + (sel ? sel[j] : j);
    if ((bitmap[b >>> 3] >>> (b & 7)) & 1) out[j >>> 3] |= 1 << (j & 7);
  }
  return out;
}

/** Bytes the flat columns hold (values and validity), for buffer accounting. */
export function flatBytes(batch: FlatBatch): number {
  let sum = 0;
  for (const c of batch.columns) sum += c.values.byteLength + (c.validity?.byteLength ?? 0);
  return sum;
}
