/** Histogram bins for QC metrics: about 30 bins of a round width (1, 2 or 5 × 10^k), edges covering every value. */

export interface Bins {
  /** counts.length + 1 ascending edges; bin i is [edges[i], edges[i+1]), the last one closed. */
  edges: number[];
  counts: number[];
}

export function niceStep(raw: number): number {
  if (!(raw > 0) || !Number.isFinite(raw)) return 1;
  const p = 10 ** Math.floor(Math.log10(raw));
  const m = raw / p;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

export function histogramBins(values: ArrayLike<number>, target = 30): Bins {
  let lo = Infinity;
  let hi = -Infinity;
  let integers = true;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v !== v) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
    if (integers && v !== Math.round(v)) integers = false;
  }
  if (lo > hi) return { edges: [0, 1], counts: [0] };
  let step = niceStep((hi - lo) / target);
  if (integers) step = Math.max(1, Math.round(step));
  const start = Math.floor(lo / step) * step;
  let n = Math.max(1, Math.ceil((hi - start) / step));
  // A maximum right on an edge still needs its own bin unless it is the closed end.
  if (start + n * step < hi) n++;
  const edges = Array.from({ length: n + 1 }, (_, i) => round(start + i * step, step));
  const counts = new Array<number>(n).fill(0);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v !== v) continue;
    // By the rounded edges themselves, so a bin's count is exactly what selecting [edge, next edge) gives.
    let k = Math.min(n - 1, Math.max(0, Math.floor((v - start) / step)));
    while (k > 0 && v < edges[k]) k--;
    while (k < n - 1 && v >= edges[k + 1]) k++;
    counts[k]++;
  }
  return { edges, counts };
}

/** Edges without float noise (0.30000000000000004 → 0.3). */
function round(v: number, step: number): number {
  const digits = Math.max(0, -Math.floor(Math.log10(step)) + 2);
  return Number(v.toFixed(Math.min(12, digits)));
}

/** The value range of bins [first, last]: [lo, hi) or closed at the top when it ends at the last bin. */
export function binRange(bins: Bins, first: number, last: number): { lo: number; hi: number; closed: boolean } {
  return { lo: bins.edges[first], hi: bins.edges[last + 1], closed: last === bins.counts.length - 1 };
}
