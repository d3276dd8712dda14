/**
 * The cells a markers pass reads, sorted into disjoint classes, each class belonging to one or more groups (a
 * cell in two overlapping sets is in the class of both). Sums are accumulated per class, once per cell, and a
 * group's sums are the sums of its classes: no cell is read twice and memory grows with classes × genes.
 */

export interface CellClasses {
  /** By cell_integer_id: the cell's class, or -1 when no group involves it. */
  classOf: Int32Array;
  /** The groups of each class. */
  groupsOf: number[][];
  /** Cells per class. */
  cells: number[];
}

/** Classes from per-cell codes (code k = class k = group k; negative codes are not involved). */
export function classesFromCodes(codes: ArrayLike<number>, nCodes: number): CellClasses {
  const classOf = new Int32Array(codes.length);
  const cells = new Array<number>(nCodes).fill(0);
  for (let i = 0; i < codes.length; i++) {
    const k = codes[i];
    classOf[i] = k >= 0 && k < nCodes ? k : -1;
    if (classOf[i] >= 0) cells[k]++;
  }
  return { classOf, groupsOf: Array.from({ length: nCodes }, (_, k) => [k]), cells };
}

/**
 * Classes of set membership: group s is `sets[s]` (sorted ids); cells in no set belong to group `restGroup` when
 * given, else to no class.
 */
export function classesFromSets(nCells: number, sets: Int32Array[], restGroup?: number): CellClasses {
  const classOf = new Int32Array(nCells).fill(-1);
  const groupsOf: number[][] = [];
  const cells: number[] = [];
  // Adding set s to a cell of class c makes it class next(c): the same membership always gives the same class.
  sets.forEach((ids, s) => {
    const next = new Map<number, number>();
    for (let i = 0; i < ids.length; i++) {
      const c = ids[i];
      const from = classOf[c];
      let to = next.get(from);
      if (to === undefined) {
        to = groupsOf.length;
        groupsOf.push([...(from >= 0 ? groupsOf[from] : []), s]);
        cells.push(0);
        next.set(from, to);
      }
      if (from >= 0) cells[from]--;
      cells[to]++;
      classOf[c] = to;
    }
  });
  if (restGroup !== undefined) {
    const rest = groupsOf.length;
    let n = 0;
    for (let c = 0; c < nCells; c++)
      if (classOf[c] < 0) {
        classOf[c] = rest;
        n++;
      }
    if (n > 0) {
      groupsOf.push([restGroup]);
      cells.push(n);
    }
  }
  return { classOf, groupsOf, cells };
}

/** The classes of a group. */
export function classesOfGroup(c: CellClasses, group: number): number[] {
  return c.groupsOf.flatMap((g, k) => (g.includes(group) ? [k] : []));
}

/** Cells in a group. */
export function groupCells(c: CellClasses, group: number): number {
  return classesOfGroup(c, group).reduce((n, k) => n + c.cells[k], 0);
}

const MAX_RANGES = 16;
const MAX_IN_LIST = 4096;
/** Bounds covering this much of the cells restrict too little to be worth a filter. */
const WIDE = 0.9;

/**
 * A Lance predicate restricting `cell_integer_id` to the involved cells where they form a few ranges (or a short
 * IN list), else to their bounds when narrow; undefined when it would restrict little. Rows of cells outside any
 * class are skipped by the pass anyway.
 */
export function involvedCellsWhere(classOf: Int32Array): string | undefined {
  const runs: [number, number][] = [];
  let involved = 0;
  for (let c = 0; c < classOf.length; c++) {
    if (classOf[c] < 0) continue;
    involved++;
    const last = runs[runs.length - 1];
    if (last && last[1] === c) last[1] = c + 1;
    else runs.push([c, c + 1]);
  }
  if (runs.length === 0) return "cell_integer_id < 0";
  const lo = runs[0][0];
  const hi = runs[runs.length - 1][1];
  if (hi - lo >= WIDE * classOf.length && involved >= WIDE * classOf.length) return undefined;
  if (runs.length <= MAX_RANGES)
    return runs.map(([a, b]) => (b === a + 1 ? `cell_integer_id = ${a}` : `(cell_integer_id >= ${a} AND cell_integer_id < ${b})`)).join(" OR ");
  if (involved <= MAX_IN_LIST) {
    const ids: number[] = [];
    for (const [a, b] of runs) for (let c = a; c < b; c++) ids.push(c);
    return `cell_integer_id IN (${ids.join(", ")})`;
  }
  if (hi - lo >= WIDE * classOf.length) return undefined;
  return `cell_integer_id >= ${lo} AND cell_integer_id < ${hi}`;
}
