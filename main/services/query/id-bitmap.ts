/**
 * A set of integer ids as a bitmap over [min, min + size), and the row selection it makes over a batch's id
 * column. Pure functions on typed arrays: used on the main thread and in the scan worker alike.
 */

export interface IdBitmap {
  /** The fact table's id column the set restricts. */
  column: string;
  min: number;
  size: number;
  /** Bit k set when id min + k is in the set. */
  words: Uint32Array;
  /** How many ids are in the set. */
  count: number;
}

/**
 * The id column of one batch as apache-arrow holds it: value i of the batch at `values[i]` (fixed-width values
 * come already sliced), its validity at bit `offset + i` of `nullBitmap`.
 */
export interface IdColumn {
  values: ArrayLike<number> | ArrayLike<bigint>;
  offset: number;
  /** Arrow validity bitmap (1 = valid), or null when the column has no nulls. */
  nullBitmap: Uint8Array | null;
}

/** Bitmaps larger than this many ids are not built (the span is 2^28 ids = 32 MiB of bits). */
export const MAX_BITMAP_SPAN = 2 ** 28;

export function bitmapFromIds(column: string, ids: ArrayLike<number>, min: number, max: number): IdBitmap {
  const size = max - min + 1;
  const words = new Uint32Array(Math.ceil(size / 32));
  for (let i = 0; i < ids.length; i++) {
    const k = ids[i] - min;
    words[k >>> 5] |= 1 << (k & 31);
  }
  let count = 0;
  for (let w = 0; w < words.length; w++) count += popcount(words[w]);
  return { column, min, size, words, count };
}

function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

export function hasId(b: IdBitmap, id: number): boolean {
  const k = id - b.min;
  return k >= 0 && k < b.size && ((b.words[k >>> 5] >>> (k & 31)) & 1) === 1;
}

/** The set's contiguous runs, [first, last] each, in order; stops (returning null) past `limit` runs. */
export function runsOf(b: IdBitmap, limit: number): [number, number][] | null {
  const runs: [number, number][] = [];
  let start = -1;
  for (let w = 0; w < b.words.length; w++) {
    const word = b.words[w];
    // Whole words inside a gap or inside a run change nothing (bits past `size` are never set).
    if ((word === 0 && start < 0) || (word === 0xffffffff && start >= 0)) continue;
    for (let bit = 0; bit < 32; bit++) {
      const on = ((word >>> bit) & 1) === 1;
      if (on && start < 0) start = w * 32 + bit;
      else if (!on && start >= 0) {
        if (runs.length === limit) return null;
        runs.push([b.min + start, b.min + w * 32 + bit - 1]);
        start = -1;
      }
    }
  }
  if (start >= 0) {
    if (runs.length === limit) return null;
    runs.push([b.min + start, b.min + b.size - 1]);
  }
  return runs;
}

/**
 * The rows of a batch whose ids are in every bitmap (a null id matches nothing: it cannot equal a joined id), as
 * ascending row indexes into `out`; returns how many. `out` needs room for `rows` entries.
 */
export function selectRows(columns: IdColumn[], bitmaps: IdBitmap[], rows: number, out: Uint32Array): number {
  let n = 0;
  if (columns.length === 1 && columns[0].nullBitmap === null && !isBigInt(columns[0].values)) {
    // The common case (one id column without nulls) in one tight loop.
    const { words, min, size } = bitmaps[0];
    const values = columns[0].values as ArrayLike<number>;
    for (let i = 0; i < rows; i++) {
      const k = values[i] - min;
      if (k >= 0 && k < size && ((words[k >>> 5] >>> (k & 31)) & 1) === 1) out[n++] = i;
    }
    return n;
  }
  for (let i = 0; i < rows; i++) {
    let keep = true;
    for (let c = 0; c < columns.length && keep; c++) {
      const col = columns[c];
      const bit = col.offset + i;
      if (col.nullBitmap && ((col.nullBitmap[bit >>> 3] >>> (bit & 7)) & 1) === 0) keep = false;
      else keep = hasId(bitmaps[c], Number(col.values[i]));
    }
    if (keep) out[n++] = i;
  }
  return n;
}

function isBigInt(values: ArrayLike<number> | ArrayLike<bigint>): boolean {
  return values instanceof BigInt64Array || values instanceof BigUint64Array;
}
