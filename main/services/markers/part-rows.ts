/**
 * A part's rows read by row offset rather than by a `cell_integer_id` filter (a filter makes each worker read every
 * row's cell id, its part's and the others'). In a table stored by cell (ids never decreasing) the rows of cells
 * [from, to) are one run: a worker reads from a row at or before the run (the table's first row, or one of a cell
 * before `from`) and stops at the first row of a cell ≥ to. The first part takes every row before its `to` and the
 * last every row from its `from` on (ids outside the cells table are then named, as on one thread). What each worker saw is its Seam; `seamsMeet` says
 * whether the parts' reads, taken together, prove the table sorted and every part's rows taken, else the pass is
 * read again by filter.
 */

export interface Seam {
  /** The first row read (the scan's offset). */
  offset: number;
  /** The cell of the first row read (NaN: none read). */
  firstCell: number;
  /** The row the read stopped at (a cell ≥ to, seen and not taken), else the end of the table. */
  end: number;
  /** Cell ids never decreased over rows [offset, end]. */
  sorted: boolean;
}

/** What to do with a batch: take rows [from, to) of it, then go on or stop; or stop at once. */
export type Take = { t: "rows"; from: number; to: number; last: boolean } | { t: "overshot" } | { t: "unsorted" };

/** Where a part's read starts: a little before where its cells would begin if every cell had as many rows. */
export function guessOffset(nRows: number, nCells: number, from: number, margin: number): number {
  if (from === 0 || nCells === 0) return 0;
  return Math.max(0, Math.floor(((nRows * from) / nCells) * (1 - margin)));
}

/** Margins tried in turn when a read starts inside or past its part's cells (1: from the first row). */
export const MARGINS = [0.02, 0.1, 0.3, 1];

export class PartRows {
  readonly seam: Seam;
  private last = -Infinity;

  constructor(
    private readonly from: number,
    private readonly to: number,
    offset: number,
  ) {
    this.seam = { offset, firstCell: NaN, end: offset, sorted: true };
  }

  /**
   * The next batch's cell ids. A batch whose first id is the part's and not below the last one, and whose last is
   * the part's, is taken whole unchecked: its rows must go to an accumulator that checks its ids never go down
   * (`sorted`, moments-accumulator.ts), which calls `unsorted` when they do.
   */
  take(cells: ArrayLike<number>): Take {
    const n = cells.length;
    const seam = this.seam;
    if (n === 0) return { t: "rows", from: 0, to: 0, last: false };
    if (Number.isNaN(seam.firstCell)) {
      seam.firstCell = cells[0];
      // Rows of the part may lie before the offset.
      if (seam.offset > 0 && !(cells[0] < this.from)) return { t: "overshot" };
    }
    const lo = this.from;
    const hi = this.to;
    if (cells[0] >= lo && cells[0] >= this.last && cells[n - 1] < hi) {
      // The whole batch is the part's when its ids never go down (most batches).
      this.last = cells[n - 1];
      seam.end += n;
      return { t: "rows", from: 0, to: n, last: false };
    }
    let last = this.last;
    let i = 0;
    // Rows before the part, then the part's, up to the first after it; ids checked never to go down.
    for (; i < n; i++) {
      const c = cells[i];
      if (!(c >= last)) return this.unsorted();
      last = c;
      if (c >= lo) break;
    }
    const from = i;
    for (; i < n; i++) {
      const c = cells[i];
      if (!(c >= last)) return this.unsorted();
      last = c;
      if (c >= hi) break;
    }
    const to = i;
    this.last = last;
    seam.end += to;
    return { t: "rows", from, to, last: to < n };
  }

  /** The ids went down. */
  unsorted(): Take {
    this.seam.sorted = false;
    return { t: "unsorted" };
  }
}

/**
 * Whether the parts' reads (in part order; part i's cells start at `froms[i]`) prove the table sorted by cell and
 * each part's rows taken: the first read starts at row 0, each next one within the previous one's rows (so the two
 * share a row), none goes back, and each starts before its part's cells.
 */
export function seamsMeet(seams: Seam[], froms: number[]): boolean {
  return seams.every((s, i) => {
    if (!s.sorted) return false;
    if (i === 0) return s.offset === 0;
    const before = seams[i - 1];
    return s.offset >= before.offset && s.offset <= before.end && (s.offset === 0 || s.firstCell < froms[i]);
  });
}
