/** Cell id sets as sorted Int32Arrays without repeats: normalising, and union / intersection / difference by merging. */
import { fail } from "../errors";

/** Sorted, repeats dropped; every id must be in [0, nCells). */
export function normalizeIds(ids: Int32Array, nCells: number): Int32Array {
  let sorted = true;
  for (let i = 0; i < ids.length; i++) {
    const v = ids[i];
    if (v < 0 || v >= nCells) fail("EXPLORE_SET_INVALID", `Cell id ${v} is outside this dataset (cell_integer_id 0 to ${nCells - 1})`);
    if (i > 0 && v <= ids[i - 1]) sorted = false;
  }
  if (sorted) return ids;
  const copy = Int32Array.from(ids).sort();
  let n = 0;
  for (let i = 0; i < copy.length; i++) if (i === 0 || copy[i] !== copy[i - 1]) copy[n++] = copy[i];
  return copy.slice(0, n);
}

export function union(a: Int32Array, b: Int32Array): Int32Array {
  const out = new Int32Array(a.length + b.length);
  let i = 0;
  let j = 0;
  let n = 0;
  while (i < a.length || j < b.length) {
    if (j >= b.length || (i < a.length && a[i] < b[j])) out[n++] = a[i++];
    else if (i >= a.length || b[j] < a[i]) out[n++] = b[j++];
    else {
      out[n++] = a[i++];
      j++;
    }
  }
  return out.slice(0, n);
}

export function intersection(a: Int32Array, b: Int32Array): Int32Array {
  const out = new Int32Array(Math.min(a.length, b.length));
  let i = 0;
  let j = 0;
  let n = 0;
  while (i < a.length && j < b.length) {
    if (a[i] < b[j]) i++;
    else if (b[j] < a[i]) j++;
    else {
      out[n++] = a[i++];
      j++;
    }
  }
  return out.slice(0, n);
}

export function difference(a: Int32Array, b: Int32Array): Int32Array {
  const out = new Int32Array(a.length);
  let i = 0;
  let j = 0;
  let n = 0;
  while (i < a.length) {
    if (j >= b.length || a[i] < b[j]) out[n++] = a[i++];
    else if (b[j] < a[i]) j++;
    else {
      i++;
      j++;
    }
  }
  return out.slice(0, n);
}

/** union/intersection of all sets, or the first minus every other. */
export function combine(op: "union" | "intersection" | "difference", sets: Int32Array[]): Int32Array {
  if (sets.length === 0) fail("EXPLORE_SET_INVALID", `${op} needs at least one set`);
  let acc = sets[0];
  for (const s of sets.slice(1)) acc = op === "union" ? union(acc, s) : op === "intersection" ? intersection(acc, s) : difference(acc, s);
  return acc;
}
