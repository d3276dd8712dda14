/**
 * An independent reference for the markers tests: the demo's raw counts read dense, log1p(CP10k) per value,
 * two-pass means and variances, Welch's t, and two-sided p-values by adaptive Gauss–Kronrod quadrature of
 * Student's t density (not the incomplete beta the service uses). Straightforward and slow on purpose.
 */
import { loadPbmc } from "../../fixtures/pbmc";

export interface Dense {
  nCells: number;
  nGenes: number;
  /** [cell × nGenes + gene]. */
  y: Float64Array;
  cellType: string[];
}

/** The demo's matrix as stored values (`transform` "none") or ln(1 + x / total × 1e4). */
export function densePbmc(transform: "log1p_cp10k" | "none"): Dense {
  const pbmc = loadPbmc();
  const y = new Float64Array(pbmc.nCells * pbmc.nGenes);
  pbmc.cells.forEach((cell, c) => {
    const total = cell.values.reduce((a, b) => a + b, 0);
    cell.genes.forEach((g, k) => {
      const x = cell.values[k];
      y[c * pbmc.nGenes + g] = transform === "none" ? x : Math.log1p((x / total) * 10_000);
    });
  });
  const typeColumn = pbmc.obsColumns.indexOf("cell_type");
  return { nCells: pbmc.nCells, nGenes: pbmc.nGenes, y, cellType: pbmc.obs.map((r) => String(r[typeColumn])) };
}

export interface RefGene {
  score: number;
  pval: number;
  pvalAdj: number;
  logfoldchange: number;
  pctGroup: number;
  pctReference: number;
  meanGroup: number;
  meanReference: number;
}

function moments(d: Dense, cells: number[], g: number): { mean: number; variance: number; pct: number } {
  let sum = 0;
  let pos = 0;
  for (const c of cells) {
    const v = d.y[c * d.nGenes + g];
    sum += v;
    if (v > 0) pos++;
  }
  const mean = sum / cells.length;
  let ss = 0;
  for (const c of cells) ss += (d.y[c * d.nGenes + g] - mean) ** 2;
  return { mean, variance: cells.length > 1 ? ss / (cells.length - 1) : NaN, pct: pos / cells.length };
}

/** Every gene of `group` vs `reference` (cell index lists), as scanpy's t-test would give it. */
export function referenceComparison(d: Dense, group: number[], reference: number[]): RefGene[] {
  const out: RefGene[] = [];
  for (let g = 0; g < d.nGenes; g++) {
    const a = moments(d, group, g);
    const b = moments(d, reference, g);
    const se1 = a.variance / group.length;
    const se2 = b.variance / reference.length;
    const t = (a.mean - b.mean) / Math.sqrt(se1 + se2);
    let df = (se1 + se2) ** 2 / (se1 ** 2 / (group.length - 1) + se2 ** 2 / (reference.length - 1));
    if (Number.isNaN(df)) df = 1;
    const p = Number.isNaN(t) ? NaN : quadratureTwoSidedP(t, df);
    out.push({
      score: Number.isNaN(t) ? 0 : t,
      pval: Number.isNaN(p) ? 1 : p,
      pvalAdj: NaN,
      logfoldchange: Math.log2((Math.expm1(a.mean) + 1e-9) / (Math.expm1(b.mean) + 1e-9)),
      pctGroup: a.pct,
      pctReference: b.pct,
      meanGroup: a.mean,
      meanReference: b.mean,
    });
  }
  // Benjamini–Hochberg, written out: q(i) = min over ranks ≥ rank(i) of p·m/rank, at most 1.
  const m = out.length;
  const sorted = out.map((_, i) => i).sort((i, j) => out[i].pval - out[j].pval);
  let running = 1;
  for (let k = m - 1; k >= 0; k--) {
    running = Math.min(running, (out[sorted[k]].pval * m) / (k + 1));
    out[sorted[k]].pvalAdj = running;
  }
  return out;
}

// ---------------------------------------------------------------- Student's t by quadrature

/** ln Γ(x), Lanczos (g = 7, n = 9), x > 0. */
function lnGamma(x: number): number {
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012,
    9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lnGamma(1 - x);
  x -= 1;
  let a = c[0];
  const t = x + 7.5;
  for (let i = 1; i < 9; i++) a += c[i] / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

const KRONROD_X = [0.991455371120813, 0.949107912342759, 0.864864423359769, 0.741531185599394, 0.586087235467691, 0.405845151377397, 0.207784955007898, 0];
const KRONROD_W = [
  0.02293532201052922, 0.063092092629979, 0.10479001032225, 0.140653259715525, 0.169004726639267, 0.190350578064785, 0.204432940075298, 0.209482141084728,
];
const GAUSS_W = [0.12948496616887, 0.279705391489277, 0.381830050505119, 0.417959183673469];

/** ∫_a^b f by adaptive 7/15-point Gauss–Kronrod, splitting until the two estimates agree to 1e-13 relative or `tol`. */
function integrate(f: (x: number) => number, a: number, b: number, tol: number, depth = 0): number {
  const mid = (a + b) / 2;
  const half = (b - a) / 2;
  let kronrod = KRONROD_W[7] * f(mid);
  let gauss = GAUSS_W[3] * f(mid);
  for (let i = 0; i < 7; i++) {
    const dx = half * KRONROD_X[i];
    const s = f(mid - dx) + f(mid + dx);
    kronrod += KRONROD_W[i] * s;
    if (i % 2 === 1) gauss += GAUSS_W[(i - 1) / 2] * s;
  }
  kronrod *= half;
  gauss *= half;
  if (Math.abs(kronrod - gauss) <= Math.max(tol, 1e-13 * Math.abs(kronrod)) || depth > 30) return kronrod;
  return integrate(f, a, mid, tol / 2, depth + 1) + integrate(f, mid, b, tol / 2, depth + 1);
}

/**
 * Two-sided P(|T| ≥ |t|) for Student's t with df degrees of freedom: 1 − 2∫_0^|t| f for small |t|; else the tail
 * 2∫_|t|^∞ f with s = |t|·e^v, integrated relative to the density at |t| so tiny p keep their digits.
 */
export function quadratureTwoSidedP(t: number, df: number): number {
  const T = Math.abs(t);
  if (!Number.isFinite(T)) return 0;
  const lnC = lnGamma((df + 1) / 2) - lnGamma(df / 2) - 0.5 * Math.log(df * Math.PI);
  const lnDensity = (s: number) => lnC - ((df + 1) / 2) * Math.log1p((s * s) / df);
  if (T < 1) return 1 - 2 * integrate((s) => Math.exp(lnDensity(s)), 0, T, 1e-15);
  const lnAtT = lnDensity(T);
  const ratio = (v: number) => {
    const s = T * Math.exp(v);
    return Math.exp(lnDensity(s) - lnAtT) * s;
  };
  // Welch's df ≥ 1, so the integrand falls at least as e^-v: 50 units of v hold all but ~e^-50 of it.
  let total = 0;
  for (let a = 0; a < 50; a += 1) total += integrate(ratio, a, a + 1, 1e-15 * total);
  return 2 * Math.exp(lnAtT) * total;
}
