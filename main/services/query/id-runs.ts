/**
 * Runs of equal ids in a sorted id column (expression is stored cell by cell, so its cell ids come in runs of a
 * cell's genes): an id filter over such a column tests each run once and copies whole runs, instead of testing
 * and copying row by row. Pure functions on typed arrays.
 */
import type { TypedArray } from "./flat-batch";
import { hasId, type IdBitmap } from "./id-bitmap";

export interface IdRuns {
  /** Run k covers rows starts[k] .. starts[k + 1] - 1. */
  starts: Uint32Array;
  /** The id of run k. */
  ids: Float64Array;
}

/** Runs shorter than this on average are not worth it: rows are tested one by one instead. */
const MIN_MEAN_RUN = 4;

/** The runs of a non-decreasing id column without nulls, or null (ids going down, nulls, or runs too short). */
export function idRuns(values: TypedArray, validity: Uint8Array | null, rows: number): IdRuns | null {
  if (validity || rows === 0) return null;
  const v = values as ArrayLike<number | bigint>;
  let count = 1;
  let prev = Number(v[0]);
  for (let i = 1; i < rows; i++) {
    const x = Number(v[i]);
    if (x < prev) return null;
    if (x !== prev) count++;
    prev = x;
  }
  if (count * MIN_MEAN_RUN > rows) return null;
  const starts = new Uint32Array(count + 1);
  const ids = new Float64Array(count);
  let k = 0;
  ids[0] = Number(v[0]);
  for (let i = 1; i < rows; i++) {
    const x = Number(v[i]);
    if (x !== ids[k]) {
      starts[++k] = i;
      ids[k] = x;
    }
  }
  starts[count] = rows;
  return { starts, ids };
}

/** The runs whose id is in the bitmap, as their indexes into `out`; returns how many and the rows they hold. */
export function pickRuns(runs: IdRuns, bitmap: IdBitmap, out: Uint32Array): { count: number; rows: number } {
  let count = 0;
  let rows = 0;
  for (let k = 0; k < runs.ids.length; k++) {
    if (!hasId(bitmap, runs.ids[k])) continue;
    out[count++] = k;
    rows += runs.starts[k + 1] - runs.starts[k];
  }
  return { count, rows };
}

/** The rows of the picked runs of a column, in order, as a new array of `rows` values. */
export function gatherRuns(values: TypedArray, runs: IdRuns, picked: Uint32Array, count: number, rows: number): TypedArray {
  const out = new (values.constructor as new (n: number) => TypedArray)(rows);
  let at = 0;
  for (let j = 0; j < count; j++) {
    const k = picked[j];
    const a = runs.starts[k];
    const b = runs.starts[k + 1];
    (out as Float64Array).set((values as Float64Array).subarray(a, b), at);
    at += b - a;
  }
  return out;
}
