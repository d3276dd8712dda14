/**
 * The pass's cells in PARTS ranges of cell_integer_id, each summed apart and then added in range order, whether
 * the parts run in worker threads (pass-workers.ts) or on one thread (PartedAccumulator): the split depends on the
 * number of cells only, so a group's sums are the same doubles however and wherever they are computed (local or
 * remote, fresh or kept).
 */
import { MomentsAccumulator, type AccumulatedMoments, type AccumulatorSpec, type Moments } from "./moments-accumulator";

/** Parts (threads) per pass. */
export const PARTS = 2;

type Column = ArrayLike<number>;

/** Part i's cells: [from, to) of cell_integer_id. */
export function partRange(nCells: number, i: number): [number, number] {
  const size = Math.ceil(nCells / PARTS);
  return [Math.min(nCells, i * size), Math.min(nCells, (i + 1) * size)];
}

function addInto(a: Moments, b: Moments): Moments {
  for (let i = 0; i < a.sum.length; i++) {
    a.sum[i] += b.sum[i];
    a.sumSq[i] += b.sumSq[i];
    a.expressing[i] += b.expressing[i];
  }
  return { ...a, negative: a.negative || b.negative };
}

/** The parts' moments added in part order (into the first part's arrays). */
export function mergeParts(parts: AccumulatedMoments[]): AccumulatedMoments {
  let classes: Moments = parts[0];
  let whole = parts[0].whole;
  for (const p of parts.slice(1)) {
    classes = addInto(classes, p);
    whole = whole && p.whole ? addInto(whole, p.whole) : null;
  }
  return { sum: classes.sum, sumSq: classes.sumSq, expressing: classes.expressing, negative: classes.negative, whole };
}

/** Rows [from, to) of a batch column (a view of a typed array). */
export function slice(a: Column, from: number, to: number): Column {
  return ArrayBuffer.isView(a) ? (a as unknown as Int32Array).subarray(from, to) : Array.prototype.slice.call(a, from, to);
}

/** PARTS accumulators on one thread, each batch's rows routed to their cell's part. */
export class PartedAccumulator {
  private readonly parts: MomentsAccumulator[];
  private readonly bounds: number[];

  constructor(spec: AccumulatorSpec) {
    this.parts = Array.from({ length: PARTS }, () => new MomentsAccumulator(spec));
    this.bounds = Array.from({ length: PARTS }, (_, i) => partRange(spec.classOf.length, i)[1]);
  }

  private partOf(c: number): number {
    let p = 0;
    while (p < PARTS - 1 && !(c < this.bounds[p])) p++;
    return p;
  }

  add(cells: Column, genes: Column, values: Column): void {
    const n = cells.length;
    let from = 0;
    while (from < n) {
      const p = this.partOf(cells[from]);
      let to = from + 1;
      while (to < n && this.partOf(cells[to]) === p) to++;
      if (from === 0 && to === n) this.parts[p].add(cells, genes, values);
      else this.parts[p].add(slice(cells, from, to), slice(genes, from, to), slice(values, from, to));
      from = to;
    }
  }

  finish(): AccumulatedMoments {
    return mergeParts(this.parts.map((p) => p.finish()));
  }
}
