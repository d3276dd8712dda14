/** Order statistics of per-cell values (NaN skipped): nearest-rank quantiles over a sorted copy. */

export interface Spread {
  count: number;
  min: number;
  max: number;
  q01: number;
  q99: number;
}

/** `values` filtered by `keep` (default: not NaN), sorted ascending. */
export function sortedFinite(values: Float32Array, keep: (v: number) => boolean = (v) => !Number.isNaN(v)): Float32Array {
  let n = 0;
  for (let i = 0; i < values.length; i++) if (keep(values[i])) n++;
  const out = new Float32Array(n);
  let k = 0;
  for (let i = 0; i < values.length; i++) if (keep(values[i])) out[k++] = values[i];
  return out.sort();
}

/** Nearest-rank quantile p ∈ [0, 1] of sorted values (NaN when empty). */
export function quantile(sorted: Float32Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

export function spread(sorted: Float32Array): Spread {
  if (sorted.length === 0) return { count: 0, min: 0, max: 0, q01: 0, q99: 0 };
  return { count: sorted.length, min: sorted[0], max: sorted[sorted.length - 1], q01: quantile(sorted, 0.01), q99: quantile(sorted, 0.99) };
}
