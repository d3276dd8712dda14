/**
 * The Explore view's per-cell data as typed arrays: Arrow IPC from main decoded without per-row objects, cell
 * selections by polygon, value range or category, and orders that draw the interesting cells on top.
 */
import { tableFromIPC } from "apache-arrow";

/** A numeric column of an Arrow IPC stream as one typed array (copied only when it came in several batches). */
export function column<T extends Float32Array | Int32Array | Uint16Array>(bytes: Uint8Array, name: string, kind: new (n: number) => T): T {
  const table = tableFromIPC(bytes);
  const vec = table.getChild(name);
  if (!vec) throw new Error(`The answer has no column "${name}"`);
  const values = vec.toArray() as ArrayLike<number>;
  if (values instanceof kind) return values as T;
  const out = new kind(values.length);
  for (let i = 0; i < values.length; i++) out[i] = Number(values[i]);
  return out;
}

export interface PointsPage {
  x: Float32Array;
  y: Float32Array;
  ids: Int32Array;
}

export function decodePoints(bytes: Uint8Array): PointsPage {
  return { x: column(bytes, "x", Float32Array), y: column(bytes, "y", Float32Array), ids: column(bytes, "cell_integer_id", Int32Array) };
}

/**
 * Points (the first `count` of x/y) inside a polygon given flat [x0, y0, x1, y1, ...] in the same coordinates.
 * Even-odd rule with half-open crossings (an edge counts when one end is above the point and the other not), so
 * a point on a shared vertex is counted once; NaN points are never inside.
 */
export function pointsInPolygon(x: Float32Array, y: Float32Array, count: number, polygon: readonly number[]): number[] {
  const n = polygon.length >> 1;
  if (n < 3) return [];
  let x0 = Infinity;
  let x1 = -Infinity;
  let y0 = Infinity;
  let y1 = -Infinity;
  for (let k = 0; k < n; k++) {
    x0 = Math.min(x0, polygon[2 * k]);
    x1 = Math.max(x1, polygon[2 * k]);
    y0 = Math.min(y0, polygon[2 * k + 1]);
    y1 = Math.max(y1, polygon[2 * k + 1]);
  }
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const px = x[i];
    const py = y[i];
    if (!(px >= x0 && px <= x1 && py >= y0 && py <= y1)) continue;
    let inside = false;
    for (let a = 0, b = n - 1; a < n; b = a++) {
      const ax = polygon[2 * a];
      const ay = polygon[2 * a + 1];
      const bx = polygon[2 * b];
      const by = polygon[2 * b + 1];
      if (ay > py !== by > py && px < ((bx - ax) * (py - ay)) / (by - ay) + ax) inside = !inside;
    }
    if (inside) out.push(i);
  }
  return out;
}

/** Positions whose code is one of `codes`, among the first `count`. */
export function indicesWithCodes(codes: ArrayLike<number>, count: number, wanted: ReadonlySet<number>): number[] {
  const out: number[] = [];
  for (let i = 0; i < count; i++) if (wanted.has(codes[i])) out.push(i);
  return out;
}

/** Positions whose code is not hidden; null when nothing is hidden (everything shown). */
export function shownIndices(codes: ArrayLike<number>, count: number, hidden: ReadonlySet<number>): number[] | null {
  if (hidden.size === 0) return null;
  const out: number[] = [];
  for (let i = 0; i < count; i++) if (!hidden.has(codes[i])) out.push(i);
  return out;
}

/**
 * Positions ordered by ascending palette index (a counting sort, O(n)): grey "no value" points first, so they
 * are drawn underneath, and the highest values last, on top.
 */
export function orderByCode(codes: Float32Array, count: number, nCodes: number): number[] {
  const starts = new Int32Array(nCodes + 1);
  for (let i = 0; i < count; i++) starts[codes[i] + 1]++;
  for (let c = 0; c < nCodes; c++) starts[c + 1] += starts[c];
  const out = new Array<number>(count);
  for (let i = 0; i < count; i++) out[starts[codes[i]]++] = i;
  return out;
}

/** Packed little-endian Int32 bytes of sorted, distinct cell ids (what main takes for a set). */
export function idsToBytes(ids: ArrayLike<number>): Uint8Array {
  const sorted = Int32Array.from(ids).sort();
  let n = 0;
  for (let i = 0; i < sorted.length; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) sorted[n++] = sorted[i];
  const out = new Uint8Array(n * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < n; i++) view.setInt32(i * 4, sorted[i], true);
  return out;
}

export function idsFromBytes(bytes: Uint8Array): Int32Array {
  const n = bytes.byteLength >> 2;
  const out = new Int32Array(n);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < n; i++) out[i] = view.getInt32(i * 4, true);
  return out;
}

/** A set of category codes that is replaced, never changed in place (the store swaps it to redraw). */
export function codeSet(codes: Iterable<number> = []): ReadonlySet<number> {
  return new Set(codes);
}
