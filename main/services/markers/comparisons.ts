/** Per-gene statistics of each comparison of a run, from the pass's per-class moments. */
import type { MarkersGroup } from "../../../shared/ipc/contract";
import type { Moments } from "./moments-accumulator";
import type { ClassMoments } from "./moments-pass";
import { compareGenes, rankOrder, type GeneStatsArrays, type SideArrays } from "./welch";

/** One comparison: the group's classes against the reference's classes, or against every other cell ("rest"). */
export interface ComparisonPlan {
  group: MarkersGroup;
  groupClasses: number[];
  /** "rest": every other cell, as the whole minus the group (one pass serves every group). */
  referenceClasses: number[] | "rest";
}

export interface ComparisonResult {
  group: MarkersGroup;
  /** By gene row (the genes table's order). */
  stats: GeneStatsArrays;
  /** Gene rows, ranked. */
  order: Uint32Array;
  /** 1-based rank per gene row. */
  rankOf: Int32Array;
}

/** The moments of every cell ([gene]), from a pass over every row (its classes' sums added), and how many cells. */
export interface WholeMoments {
  moments: Moments;
  nCells: number;
}

/** A side's sums over `classes`, per gene row (`ids`: gene_integer_id of each row). */
function sideOf(m: Moments & { nGenes: number }, classes: number[], n: number, ids: Int32Array): SideArrays {
  const sum = new Float64Array(ids.length);
  const sumSq = new Float64Array(ids.length);
  const expressing = new Int32Array(ids.length);
  for (const k of classes) {
    const base = k * m.nGenes;
    for (let r = 0; r < ids.length; r++) {
      const i = base + ids[r];
      sum[r] += m.sum[i];
      sumSq[r] += m.sumSq[i];
      expressing[r] += m.expressing[i];
    }
  }
  return { n, sum, sumSq, expressing };
}

/** Every cell's sums minus a group's. */
function restOf(total: SideArrays, group: SideArrays, exact: boolean): SideArrays {
  const count = group.sum.length;
  const sum = new Float64Array(count);
  const sumSq = new Float64Array(count);
  const expressing = new Int32Array(count);
  for (let r = 0; r < count; r++) {
    expressing[r] = total.expressing[r] - group.expressing[r];
    // Without negative values, no cell expressing means every y is 0: exactly, not a rounding residue.
    if (exact && expressing[r] === 0) continue;
    sum[r] = total.sum[r] - group.sum[r];
    sumSq[r] = total.sumSq[r] - group.sumSq[r];
  }
  return { n: total.n - group.n, sum, sumSq, expressing };
}

/**
 * `whole` is needed by "rest" plans: the rest is always the whole minus the group, so the same group gives the same
 * numbers whichever pass (or kept moments) its sums came from.
 */
export function computeComparisons(
  m: ClassMoments,
  classCells: number[],
  plans: ComparisonPlan[],
  ids: Int32Array,
  whole: WholeMoments | null,
): ComparisonResult[] {
  const cellsOf = (classes: number[]) => classes.reduce((n, k) => n + classCells[k], 0);
  let total: SideArrays | null = null;
  return plans.map((plan) => {
    const group = sideOf(m, plan.groupClasses, cellsOf(plan.groupClasses), ids);
    let reference: SideArrays;
    if (plan.referenceClasses === "rest") {
      if (!whole) throw new Error("A comparison with the rest needs the moments of every cell");
      total ??= sideOf({ ...whole.moments, nGenes: m.nGenes }, [0], whole.nCells, ids);
      reference = restOf(total, group, !whole.moments.negative);
    } else reference = sideOf(m, plan.referenceClasses, cellsOf(plan.referenceClasses), ids);
    const stats = compareGenes(group, reference, ids.length);
    const order = rankOrder(stats.score, ids);
    const rankOf = new Int32Array(ids.length);
    order.forEach((row, k) => (rankOf[row] = k + 1));
    return { group: plan.group, stats, order, rankOf };
  });
}
