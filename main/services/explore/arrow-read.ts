/**
 * Plain typed arrays out of Arrow vectors as Lance delivers them, without a JS object per value: numbers (64-bit
 * integers become float64), fixed-size-list floats, and validity. Anything unusual falls back to `get(i)`.
 */
import { arrow } from "../arrow";

type Vector = InstanceType<typeof arrow.Vector>;
type Data = InstanceType<typeof arrow.Data>;

export type NumberArray = Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | Float32Array | Float64Array;

/** One chunk of a vector: `length` rows, and whether row i (0-based in the chunk) is valid. */
export interface Chunk {
  data: Data;
  length: number;
  valid: ((i: number) => boolean) | null;
}

function validity(d: Data): ((i: number) => boolean) | null {
  const bitmap = d.nullBitmap as Uint8Array | undefined;
  if (!d.nullCount || !bitmap || bitmap.length === 0) return null;
  const base = d.offset;
  return (i) => (bitmap[(base + i) >> 3] & (1 << ((base + i) & 7))) !== 0;
}

export function chunks(vector: Vector): Chunk[] {
  return (vector.data as Data[]).map((d) => ({ data: d, length: d.length, valid: validity(d) }));
}

/** The chunk's values as numbers (nulls hold whatever the buffer holds; check `valid`). */
export function numberValues(chunk: Chunk): NumberArray | null {
  const values = chunk.data.values as unknown;
  const start = chunk.data.offset;
  if (values instanceof BigInt64Array || values instanceof BigUint64Array) {
    const out = new Float64Array(chunk.length);
    for (let i = 0; i < chunk.length; i++) out[i] = Number(values[start + i]);
    return out;
  }
  if (
    values instanceof Int8Array ||
    values instanceof Uint8Array ||
    values instanceof Int16Array ||
    values instanceof Uint16Array ||
    values instanceof Int32Array ||
    values instanceof Uint32Array ||
    values instanceof Float32Array ||
    values instanceof Float64Array
  ) {
    // Bool data is bit-packed in a Uint8Array: not numbers.
    if (chunk.data.type.typeId === arrow.Type.Bool) return null;
    return values.subarray(start, start + chunk.length);
  }
  return null;
}

/** A numeric column of a batch as one array of numbers (nulls as NaN), whatever its integer or float type. */
export function columnNumbers(vector: Vector): Float64Array | NumberArray {
  const parts = chunks(vector);
  if (parts.length === 1 && !parts[0].valid) {
    const values = numberValues(parts[0]);
    if (values) return values;
  }
  const out = new Float64Array(vector.length);
  let at = 0;
  for (const c of parts) {
    const values = numberValues(c);
    for (let i = 0; i < c.length; i++) {
      if (c.valid && !c.valid(i)) out[at + i] = NaN;
      else out[at + i] = values ? values[i] : Number(vector.get(at + i) ?? NaN);
    }
    at += c.length;
  }
  return out;
}

/**
 * Calls `put(row, x, y)` for every row of a FixedSizeList<float> vector with dims `i` and `j` (NaN for a null
 * list or value). Reads the child buffer directly when the layout is the plain one Lance delivers.
 */
export function forEachPair(vector: Vector, size: number, i: number, j: number, put: (row: number, x: number, y: number) => void): void {
  let at = 0;
  for (const c of chunks(vector)) {
    const child = c.data.children[0] as Data | undefined;
    const values = child?.values as unknown;
    const plain = c.data.offset === 0 && child && !child.nullCount && (values instanceof Float32Array || values instanceof Float64Array);
    if (plain) {
      const v = (values as Float32Array | Float64Array).subarray(child.offset);
      for (let r = 0; r < c.length; r++) {
        if (c.valid && !c.valid(r)) put(at + r, NaN, NaN);
        else put(at + r, v[r * size + i], v[r * size + j]);
      }
    } else {
      for (let r = 0; r < c.length; r++) {
        const list = vector.get(at + r) as { get(k: number): unknown } | null;
        put(at + r, list ? Number(list.get(i) ?? NaN) : NaN, list ? Number(list.get(j) ?? NaN) : NaN);
      }
    }
    at += c.length;
  }
}
