/** welch.ts on known values: scipy's ttest_ind_from_stats, closed forms of Student's t, statsmodels' fdr_bh by hand. */
import { describe, expect, it } from "vitest";
import { benjaminiHochberg, compareSides, lnBetaHalf, logFoldChange, meanVar, rankOrder, tTwoSidedP, welch } from "../../../main/services/markers/welch";

function expectRel(actual: number, expected: number, rel: number): void {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(rel * Math.abs(expected));
}

/** Moments of a side whose mean and variance (ddof 1) are given. */
function side(n: number, mean: number, variance: number, expressing = n) {
  return { n, sum: mean * n, sumSq: variance * (n - 1) + mean * mean * n, expressing };
}

describe("Student's t two-sided p", () => {
  it("matches tables and high-precision values (mpmath betainc, 40 digits)", () => {
    expectRel(tTwoSidedP(2, 10), 0.07338803477074037, 1e-13);
    expectRel(tTwoSidedP(-2, 10), 0.07338803477074037, 1e-13);
    expectRel(tTwoSidedP(5.5, 3.25), 0.00955529369124561, 1e-13);
    expectRel(tTwoSidedP(12, 1.5), 0.018042029274027864, 1e-13);
    expectRel(tTwoSidedP(0.3, 40), 0.7657307167710191, 1e-13);
    expectRel(tTwoSidedP(40, 5), 1.8411962171772954e-7, 1e-13);
    expectRel(tTwoSidedP(1e-8, 3), 0.999999992648948, 1e-15);
  });

  it("keeps its digits for tiny p", () => {
    expectRel(tTwoSidedP(50, 150), 1.9456116761595474e-95, 1e-12);
    expectRel(tTwoSidedP(300, 150), 2.5000118194366704e-210, 1e-12);
    expect(tTwoSidedP(1e200, 10)).toBe(0);
    expect(tTwoSidedP(Infinity, 10)).toBe(0);
  });

  it("equals the closed forms for 1 and 2 degrees of freedom", () => {
    for (const t of [0.1, 1, 3.3, 10, 250]) {
      expectRel(tTwoSidedP(t, 1), 1 - (2 / Math.PI) * Math.atan(t), 1e-12);
      // 1 − t/√(2 + t²), written without cancelling.
      expectRel(tTwoSidedP(t, 2), 2 / (Math.sqrt(2 + t * t) * (Math.sqrt(2 + t * t) + t)), 1e-12);
    }
  });

  it("keeps its digits for large df, and tends to the normal", () => {
    expectRel(tTwoSidedP(2, 1e6), 0.045500533851319205, 1e-13);
    expectRel(tTwoSidedP(4, 1e6), 0.0000633470340100481, 1e-10);
    expectRel(tTwoSidedP(6, 1e5), 1.9799294556017627e-9, 1e-11);
    expectRel(tTwoSidedP(2, 1e9), 0.045500264166313246, 1e-12);
    // erfc(2/√2): the normal's two-sided tail.
    expectRel(tTwoSidedP(2, 1e15), 0.04550026389635842, 1e-9);
  });

  it("says NaN for NaN and 1 at t = 0", () => {
    expect(tTwoSidedP(NaN, 3)).toBeNaN();
    expect(tTwoSidedP(1, NaN)).toBeNaN();
    expect(tTwoSidedP(0, 7)).toBe(1);
  });

  it("ln B(a, 1/2) without cancelling for large a", () => {
    expectRel(lnBetaHalf(0.5), Math.log(Math.PI), 1e-15);
    expectRel(lnBetaHalf(1), Math.log(2), 1e-15);
    expectRel(lnBetaHalf(3.7), -0.0481183673705018, 1e-13);
    expectRel(lnBetaHalf(1e6), -6.335390211057437, 1e-14);
  });
});

describe("Welch's t-test from moments", () => {
  it("equals scipy's ttest_ind_from_stats(equal_var=False)", () => {
    const a = compareSides(side(10, 15, 4), side(12, 12, 9));
    expectRel(a.score, 2.797514424720941, 1e-12);
    expectRel(a.pval, 0.011412278332721158, 1e-10);
    const b = compareSides(side(3, 0.2, 0.5), side(200, 1.4, 2));
    expectRel(b.score, -2.854985708585318, 1e-12);
    expectRel(b.pval, 0.09093981990348259, 1e-10);
  });

  it("variance as scanpy's _get_mean_var, df as scipy (NaN df → 1)", () => {
    const { mean, variance } = meanVar(4, 10, 30);
    expect(mean).toBe(2.5);
    expect(variance).toBeCloseTo(((30 / 4 - 6.25) * 4) / 3, 14);
    expect(meanVar(1, 3, 9).variance).toBeNaN();
    // Zero variance on one side with one cell on it: scipy's df is NaN, taken as 1.
    expect(welch(1, 0, 2, 0, 1, 10).df).toBeCloseTo(9, 12);
    expect(welch(1, 0, 1, 0, 0, 1).df).toBe(1);
  });

  it("log2 fold change of expm1 means with scanpy's 1e-9", () => {
    expect(logFoldChange(0, 0)).toBe(0);
    expectRel(logFoldChange(Math.log(5), Math.log(2)), Math.log2(4.000000001 / 1.000000001), 1e-14);
    expectRel(logFoldChange(1, 0), Math.log2((Math.E - 1 + 1e-9) / 1e-9), 1e-14);
  });

  it("a gene nowhere expressed scores 0 with p 1 and fold change 0", () => {
    const s = compareSides({ n: 20, sum: 0, sumSq: 0, expressing: 0 }, { n: 140, sum: 0, sumSq: 0, expressing: 0 });
    expect(s).toEqual({ score: 0, pval: 1, logfoldchange: 0, pctGroup: 0, pctReference: 0, meanGroup: 0, meanReference: 0 });
  });

  it("a one-cell side has no variance (ddof 1): score 0, p 1, but its mean and fold change", () => {
    const s = compareSides({ n: 1, sum: 2, sumSq: 4, expressing: 1 }, side(50, 0.5, 0.3, 20));
    expect(s.score).toBe(0);
    expect(s.pval).toBe(1);
    expect(s.meanGroup).toBe(2);
    expect(s.pctGroup).toBe(1);
    expectRel(s.logfoldchange, Math.log2((Math.expm1(2) + 1e-9) / (Math.expm1(0.5) + 1e-9)), 1e-14);
  });

  it("identical sides score 0", () => {
    const s = compareSides(side(30, 1.2, 0.4, 25), side(30, 1.2, 0.4, 25));
    expect(s.score).toBe(0);
    expect(s.pval).toBe(1);
    expect(s.logfoldchange).toBe(0);
  });
});

describe("Benjamini–Hochberg and ranking", () => {
  it("p·m/rank, running minimum from the largest, capped at 1; NaN as 1", () => {
    // Sorted 0.01 0.01 0.03 0.04 0.5 1 (m = 6): 0.06 0.03 0.06 0.06 0.6 1 → minima from the end 0.03 0.03 0.06 0.06 0.6 1.
    const q = benjaminiHochberg([0.01, 0.04, 0.03, 0.5, NaN, 0.01]);
    const expected = [0.03, 0.06, 0.06, 0.6, 1, 0.03];
    expected.forEach((e, i) => expectRel(q[i], e, 1e-15));
    expect(Array.from(benjaminiHochberg([0.9, 0.8]))).toEqual([0.9, 0.9]);
    expect(Array.from(benjaminiHochberg([]))).toEqual([]);
  });

  it("ranks by score, highest first, ties (and NaN as 0) by gene id", () => {
    expect(Array.from(rankOrder([1, 3, NaN, 3, 0], [10, 5, 7, 2, 1]))).toEqual([3, 1, 0, 4, 2]);
    expect(Array.from(rankOrder([-1, -Infinity, 2], [0, 1, 2]))).toEqual([2, 0, 1]);
  });
});
