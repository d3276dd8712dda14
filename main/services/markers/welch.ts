/**
 * Welch's t-test from per-side moments, as scanpy's rank_genes_groups(method="t-test") computes it (see
 * shared/ipc/types/markers.ts): pure math, no I/O. Shared by the markers service, the CLI and the benchmark.
 */

/** One side's moments of one gene, over the side's `n` cells (zeros included). */
export interface SideMoments {
  n: number;
  /** Σ y */
  sum: number;
  /** Σ y² */
  sumSq: number;
  /** Cells with y > 0. */
  expressing: number;
}

export interface ComparisonStats {
  /** Welch's t; 0 when NaN. */
  score: number;
  /** Two-sided; 1 when NaN. */
  pval: number;
  logfoldchange: number;
  pctGroup: number;
  pctReference: number;
  meanGroup: number;
  meanReference: number;
}

/** scanpy's _get_mean_var: mean and (E[y²] − mean²) · n/(n−1); variance NaN for one cell (ddof 1). */
export function meanVar(n: number, sum: number, sumSq: number): { mean: number; variance: number } {
  const mean = sum / n;
  return { mean, variance: n > 1 ? (sumSq / n - mean * mean) * (n / (n - 1)) : NaN };
}

/** Welch's t and Welch–Satterthwaite df, as scipy's ttest_ind_from_stats(equal_var=False) (NaN df → 1). */
export function welch(mean1: number, var1: number, n1: number, mean2: number, var2: number, n2: number): { t: number; df: number } {
  const vn1 = var1 / n1;
  const vn2 = var2 / n2;
  let df = (vn1 + vn2) ** 2 / ((vn1 * vn1) / (n1 - 1) + (vn2 * vn2) / (n2 - 1));
  if (Number.isNaN(df)) df = 1;
  return { t: (mean1 - mean2) / Math.sqrt(vn1 + vn2), df };
}

/** log2((expm1(meanGroup) + 1e-9) / (expm1(meanReference) + 1e-9)), as scanpy. */
export function logFoldChange(meanGroup: number, meanReference: number): number {
  return Math.log2((Math.expm1(meanGroup) + 1e-9) / (Math.expm1(meanReference) + 1e-9));
}

export function compareSides(group: SideMoments, reference: SideMoments): ComparisonStats {
  const g = meanVar(group.n, group.sum, group.sumSq);
  const r = meanVar(reference.n, reference.sum, reference.sumSq);
  const { t, df } = welch(g.mean, g.variance, group.n, r.mean, r.variance, reference.n);
  const p = tTwoSidedP(t, df);
  return {
    score: Number.isNaN(t) ? 0 : t,
    pval: Number.isNaN(p) ? 1 : p,
    logfoldchange: logFoldChange(g.mean, r.mean),
    pctGroup: group.expressing / group.n,
    pctReference: reference.expressing / reference.n,
    meanGroup: g.mean,
    meanReference: r.mean,
  };
}

/** Per-gene moments of one side, by gene index. */
export interface SideArrays {
  n: number;
  sum: ArrayLike<number>;
  sumSq: ArrayLike<number>;
  expressing: ArrayLike<number>;
}

export interface GeneStatsArrays {
  score: Float64Array;
  pval: Float64Array;
  pvalAdj: Float64Array;
  logfoldchange: Float64Array;
  pctGroup: Float64Array;
  pctReference: Float64Array;
  meanGroup: Float64Array;
  meanReference: Float64Array;
}

/** Every gene of one comparison (genes `0..count-1` of the arrays), with BH-adjusted p-values over them all. */
export function compareGenes(group: SideArrays, reference: SideArrays, count: number): GeneStatsArrays {
  const out: GeneStatsArrays = {
    score: new Float64Array(count),
    pval: new Float64Array(count),
    pvalAdj: new Float64Array(count),
    logfoldchange: new Float64Array(count),
    pctGroup: new Float64Array(count),
    pctReference: new Float64Array(count),
    meanGroup: new Float64Array(count),
    meanReference: new Float64Array(count),
  };
  const gs: SideMoments = { n: group.n, sum: 0, sumSq: 0, expressing: 0 };
  const rs: SideMoments = { n: reference.n, sum: 0, sumSq: 0, expressing: 0 };
  for (let i = 0; i < count; i++) {
    gs.sum = group.sum[i];
    gs.sumSq = group.sumSq[i];
    gs.expressing = group.expressing[i];
    rs.sum = reference.sum[i];
    rs.sumSq = reference.sumSq[i];
    rs.expressing = reference.expressing[i];
    const s = compareSides(gs, rs);
    out.score[i] = s.score;
    out.pval[i] = s.pval;
    out.logfoldchange[i] = s.logfoldchange;
    out.pctGroup[i] = s.pctGroup;
    out.pctReference[i] = s.pctReference;
    out.meanGroup[i] = s.meanGroup;
    out.meanReference[i] = s.meanReference;
  }
  out.pvalAdj = benjaminiHochberg(out.pval);
  return out;
}

/**
 * Benjamini–Hochberg as statsmodels' multipletests(method="fdr_bh"): p sorted ascending, p / (rank / m), the
 * running minimum from the largest rank down, capped at 1. NaN counts as 1.
 */
export function benjaminiHochberg(pvals: ArrayLike<number>): Float64Array {
  const m = pvals.length;
  const p = Float64Array.from(pvals, (v) => (Number.isNaN(v) ? 1 : v));
  const order = new Uint32Array(m);
  for (let i = 0; i < m; i++) order[i] = i;
  order.sort((a, b) => p[a] - p[b]);
  const out = new Float64Array(m);
  let min = Infinity;
  for (let k = m - 1; k >= 0; k--) {
    const i = order[k];
    min = Math.min(min, p[i] / ((k + 1) / m));
    out[i] = Math.min(1, min);
  }
  return out;
}

/** Indices into `scores` ranked highest first, ties by `ids` ascending (NaN scores count as 0). */
export function rankOrder(scores: ArrayLike<number>, ids: ArrayLike<number>): Uint32Array {
  const n = scores.length;
  const s = Float64Array.from(scores, (v) => (Number.isNaN(v) ? 0 : v));
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  return order.sort((a, b) => (s[b] > s[a] ? 1 : s[b] < s[a] ? -1 : ids[a] - ids[b]));
}

// ------------------------------------------------------------------ Student's t

/**
 * Two-sided P(|T| ≥ |t|) for Student's t with `df` degrees of freedom: I_x(df/2, 1/2), x = df/(df + t²), from the
 * regularized incomplete beta's continued fraction in logs (relative accuracy ~1e-13, down to the smallest doubles).
 */
export function tTwoSidedP(t: number, df: number): number {
  if (Number.isNaN(t) || Number.isNaN(df) || !(df > 0)) return NaN;
  if (!Number.isFinite(t)) return 0;
  if (t === 0) return 1;
  const z = (t * t) / df;
  if (!Number.isFinite(z)) return 0;
  const a = df / 2;
  const b = 0.5;
  // ln x and ln(1 − x) without forming 1 − x, and a·ln x via log1p so large df loses nothing.
  const lnx = -Math.log1p(z);
  const lny = Math.log(z) - Math.log1p(z);
  const lnFront = a * lnx + b * lny - lnBetaHalf(a);
  const x = 1 / (1 + z);
  const y = z / (1 + z);
  if (x < (a + 1) / (a + b + 2)) {
    const p = Math.exp(lnFront + Math.log(betaContinuedFraction(a, b, x, y)) - Math.log(a));
    // With x near 1 (large df, moderate t) the fraction loses ~eps/y; 1 − I_y(1/2, a) by its series loses ~eps/p.
    return p > y ? 1 - Math.exp(lnFront - Math.log(b)) * hypergeometricSeries(b, a, y) : p;
  }
  return 1 - Math.exp(lnFront + Math.log(betaContinuedFraction(b, a, y, x)) - Math.log(b));
}

/** Σ (p + q)_n / (p + 1)_n · y^n: I_y(p, q) = y^p (1 − y)^q / (p B(p, q)) times this (positive terms, for small y). */
function hypergeometricSeries(p: number, q: number, y: number): number {
  let term = 1;
  let sum = 1;
  for (let n = 0; n < CF_MAX_ITERATIONS; n++) {
    term *= ((p + q + n) / (p + 1 + n)) * y;
    sum += term;
    if (term <= sum * 1e-17) break;
  }
  return sum;
}

/** ln B(a, 1/2) = ln Γ(1/2) − ln(Γ(a + 1/2) / Γ(a)), without subtracting two large log-gammas. */
export function lnBetaHalf(a: number): number {
  return 0.5 * Math.log(Math.PI) - lnGammaRatioHalf(a);
}

/** ln(Γ(a + 1/2) / Γ(a)) for a > 0: recurrence up to a ≥ 20, then the difference of Stirling series. */
function lnGammaRatioHalf(a: number): number {
  let acc = 0;
  // Γ(a + 3/2)/Γ(a + 1) = (a + 1/2)/a · Γ(a + 1/2)/Γ(a)
  while (a < 20) {
    acc -= Math.log1p(0.5 / a);
    a += 1;
  }
  // lnΓ(x) = (x − ½)ln x − x + ½ln 2π + S(x): the difference is a·ln(1 + 1/(2a)) − ½ + ½ ln a + S(a + ½) − S(a).
  return acc + (a * Math.log1p(0.5 / a) - 0.5) + 0.5 * Math.log(a) + (stirlingTail(a + 0.5) - stirlingTail(a));
}

function stirlingTail(x: number): number {
  const r = 1 / x;
  const r2 = r * r;
  return r * (1 / 12 - r2 * (1 / 360 - r2 * (1 / 1260 - r2 * (1 / 1680 - r2 * (1 / 1188 - (r2 * 691) / 360360)))));
}

const CF_EPS = 4e-16;
const CF_TINY = 1e-300;
const CF_MAX_ITERATIONS = 10_000_000;

/**
 * The continued fraction of I_x(a, b) (modified Lentz), converging fast for x < (a + 1)/(a + b + 2); `y` = 1 − x,
 * given apart so its first term, 1 − (a + b)x/(a + 1), is formed without cancelling when x is near 1.
 */
function betaContinuedFraction(a: number, b: number, x: number, y: number): number {
  const qab = a + b;
  const qap = a + 1;
  const qam = a - 1;
  let c = 1;
  let d = (qap * y + (1 - b) * x) / qap;
  if (Math.abs(d) < CF_TINY) d = CF_TINY;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= CF_MAX_ITERATIONS; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < CF_TINY) d = CF_TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < CF_TINY) c = CF_TINY;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (qab + m) * x) / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < CF_TINY) d = CF_TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < CF_TINY) c = CF_TINY;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) <= CF_EPS) return h;
  }
  return h;
}
