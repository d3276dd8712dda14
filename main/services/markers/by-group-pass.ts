/**
 * Per group summaries of chosen genes (dot plots, violins, heatmaps): one pass over `expression` with the genes
 * pushed down. Only stored non-zero values are kept per gene and group; the group's other cells are zeros,
 * counted, never materialized.
 */
import type * as lancedb from "@lancedb/lancedb";
import type { MarkersGeneInGroup } from "../../../shared/ipc/contract";
import { fail } from "../errors";
import type { CellClasses } from "./cell-classes";
import { scanExpression, type PassOptions, type Transform } from "./moments-pass";

export interface ByGroupSummary {
  /** values[g][k]: gene g (order of `geneIds`), group k. */
  values: MarkersGeneInGroup[][];
  /** Per gene: the largest value over every group (≥ 0). */
  max: number[];
  rows: number;
}

/** numpy's linear quantile (its lerp, from the upper end for t ≥ 1/2) of n values given by `at(i)` in ascending order. */
export function linearQuantile(n: number, q: number, at: (i: number) => number): number {
  const pos = q * (n - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, n - 1);
  const t = pos - lo;
  const a = at(lo);
  const b = at(hi);
  const diff = b - a;
  return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

export async function byGroupPass(
  table: lancedb.Table,
  classes: CellClasses,
  nGroups: number,
  groupCells: number[],
  geneIds: number[],
  nGenes: number,
  transform: Transform,
  bins: number,
  opts: PassOptions,
): Promise<ByGroupSummary> {
  const slot = new Int32Array(nGenes).fill(-1);
  geneIds.forEach((g, i) => (slot[g] = i));
  const cells = nGroups * geneIds.length;
  const sum = new Float64Array(cells);
  const sumExpressing = new Float64Array(cells);
  const expressing = new Int32Array(cells);
  const stored: number[][] = Array.from({ length: cells }, () => []);
  const { classOf, groupsOf } = classes;
  const divisors = transform.divisors;
  const rows = await scanExpression(table, opts, (cellIds, genes, values) => {
    for (let r = 0; r < cellIds.length; r++) {
      const c = cellIds[r];
      const g = genes[r];
      if (!(c >= 0 && c < classOf.length && g >= 0 && g < nGenes))
        fail("MARKERS_INVALID", `Expression row (cell ${c}, gene ${g}) is outside the cells or genes table`);
      const k = classOf[c];
      const gi = slot[g];
      const x = values[r];
      if (k < 0 || gi < 0 || x === 0 || Number.isNaN(x)) continue;
      let y = x;
      if (divisors) {
        const d = divisors[c];
        y = d > 0 ? Math.log1p(x / d) : 0;
        if (y === 0) continue;
      }
      for (const grp of groupsOf[k]) {
        const i = gi * nGroups + grp;
        sum[i] += y;
        stored[i].push(y);
        if (y > 0) {
          expressing[i]++;
          sumExpressing[i] += y;
        }
      }
    }
  });
  const values: MarkersGeneInGroup[][] = [];
  const max: number[] = [];
  for (let gi = 0; gi < geneIds.length; gi++) {
    const row: MarkersGeneInGroup[] = [];
    const sorted: Float64Array[] = [];
    let top = 0;
    for (let grp = 0; grp < nGroups; grp++) {
      const v = Float64Array.from(stored[gi * nGroups + grp]).sort();
      stored[gi * nGroups + grp] = [];
      sorted.push(v);
      if (v.length && v[v.length - 1] > top) top = v[v.length - 1];
    }
    for (let grp = 0; grp < nGroups; grp++) {
      const i = gi * nGroups + grp;
      row.push(summary(sorted[grp], groupCells[grp], sum[i], expressing[i], sumExpressing[i], top, bins));
    }
    values.push(row);
    max.push(top);
  }
  return { values, max, rows };
}

/** One gene in one group of n cells: `v` its stored non-zero values, ascending; the other cells are 0. */
function summary(v: Float64Array, n: number, sum: number, expressing: number, sumExpressing: number, top: number, bins: number): MarkersGeneInGroup {
  let negatives = 0;
  while (negatives < v.length && v[negatives] < 0) negatives++;
  const zeros = n - v.length;
  // The group's values in ascending order: negatives, zeros, positives.
  const at = (i: number) => (i < negatives ? v[i] : i < negatives + zeros ? 0 : v[i - zeros]);
  const histogram = new Array<number>(bins).fill(0);
  histogram[0] = zeros + negatives;
  const width = top / bins;
  for (let i = negatives; i < v.length; i++) histogram[top > 0 ? Math.min(bins - 1, Math.floor(v[i] / width)) : 0]++;
  return {
    mean: sum / n,
    fracExpressing: expressing / n,
    meanExpressing: expressing > 0 ? sumExpressing / expressing : 0,
    min: at(0),
    q1: linearQuantile(n, 0.25, at),
    median: linearQuantile(n, 0.5, at),
    q3: linearQuantile(n, 0.75, at),
    max: at(n - 1),
    histogram,
  };
}
