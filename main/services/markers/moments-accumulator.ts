/**
 * The markers pass's arithmetic, without I/O: per class and gene Σy, Σy² and the cells with y > 0 from batches of
 * (cell, gene, value) rows.
 */

export interface Moments {
  /** [class × nGenes + gene]. */
  sum: Float64Array;
  sumSq: Float64Array;
  expressing: Int32Array;
  /** Some stored value read is negative. */
  negative: boolean;
}

export interface AccumulatorSpec {
  /** By cell_integer_id: the cell's class, or -1 when no group involves it. */
  classOf: Int32Array;
  nClasses: number;
  nGenes: number;
  /** Per cell: total / 10,000 (y = ln(1 + x / divisor), 0 where the divisor is 0); null: y = x, unless `fromRows`. */
  divisors: Float64Array | null;
  /**
   * With no divisors: log1p(CP10k) with each cell's total summed from its own rows as they pass (SLAF stores a
   * cell's rows together); CellsNotContiguous when a cell's rows come apart.
   */
  fromRows: boolean;
  /** With `fromRows`: each involved cell's total is written here (by cell). */
  totals: Float64Array | null;
}

/** Thrown when a cell's rows are not contiguous, so totals cannot be taken from the rows as they pass. */
export class CellsNotContiguous extends Error {}

/** Thrown for a row whose ids are outside the cells or genes table. */
export class RowOutsideTables extends Error {}

/** Counts below this get their y once per cell (most stored counts are small). */
const SMALL = 64;

/**
 * log1p(x / d) for one cell's divisor d at a time, remembering small whole x (the same formula, so the same
 * doubles): most stored counts are 1, 2, 3…, so most rows cost a lookup instead of a log.
 */
class CellLog {
  private readonly y = new Float64Array(SMALL);
  private readonly stamp = new Int32Array(SMALL);
  private now = 0;
  private d = 0;

  cell(divisor: number): void {
    this.d = divisor;
    this.now++;
  }

  of(x: number): number {
    const d = this.d;
    if (!(d > 0)) return 0;
    if (x < SMALL && (x | 0) === x) {
      if (this.stamp[x] !== this.now) {
        this.stamp[x] = this.now;
        this.y[x] = Math.log1p(x / d);
      }
      return this.y[x];
    }
    return Math.log1p(x / d);
  }
}

export class MomentsAccumulator {
  readonly moments: Moments;
  private readonly log = new CellLog();
  private readonly fromRows: boolean;
  private readonly done: Uint8Array | null;
  private cell = -1;
  private total = 0;
  private held = 0;
  private heldGenes = new Int32Array(1024);
  private heldValues = new Float64Array(1024);

  constructor(readonly spec: AccumulatorSpec) {
    const size = spec.nClasses * spec.nGenes;
    this.moments = { sum: new Float64Array(size), sumSq: new Float64Array(size), expressing: new Int32Array(size), negative: false };
    this.fromRows = spec.fromRows && !spec.divisors;
    this.done = this.fromRows ? new Uint8Array(spec.classOf.length) : null;
  }

  add(cells: ArrayLike<number>, genes: ArrayLike<number>, values: ArrayLike<number>): void {
    const { classOf, divisors, nGenes } = this.spec;
    const { sum, sumSq, expressing } = this.moments;
    const log = this.log;
    const nCells = classOf.length;
    for (let r = 0; r < cells.length; r++) {
      const c = cells[r];
      const g = genes[r];
      if (!(c >= 0 && c < nCells && g >= 0 && g < nGenes))
        throw new RowOutsideTables(`Expression row (cell ${c}, gene ${g}) is outside the cells or genes table`);
      const k = classOf[c];
      if (k < 0) continue;
      const x = values[r];
      // A null value is no value.
      if (Number.isNaN(x)) continue;
      if (x < 0) this.moments.negative = true;
      if (x === 0) continue;
      if (this.fromRows) {
        this.hold(c, g, x);
        continue;
      }
      let y = x;
      if (divisors) {
        if (c !== this.cell) {
          this.cell = c;
          log.cell(divisors[c]);
        }
        y = log.of(x);
      }
      const i = k * nGenes + g;
      sum[i] += y;
      sumSq[i] += y * y;
      if (y > 0) expressing[i]++;
    }
  }

  /** After the last batch. */
  finish(): Moments {
    if (this.fromRows) this.flush();
    return this.moments;
  }

  private hold(c: number, g: number, x: number): void {
    if (c !== this.cell) {
      this.flush();
      if (this.done![c]) throw new CellsNotContiguous();
      this.cell = c;
    }
    if (this.held === this.heldGenes.length) {
      this.heldGenes = grow(this.heldGenes, new Int32Array(this.held * 2));
      this.heldValues = grow(this.heldValues, new Float64Array(this.held * 2));
    }
    this.heldGenes[this.held] = g;
    this.heldValues[this.held++] = x;
    // As Explore's counting pass: the total of the positive values.
    if (x > 0) this.total += x;
  }

  private flush(): void {
    const c = this.cell;
    if (c < 0) return;
    this.done![c] = 1;
    if (this.spec.totals) this.spec.totals[c] = this.total;
    const k = this.spec.classOf[c];
    const base = k * this.spec.nGenes;
    const { sum, sumSq, expressing } = this.moments;
    this.log.cell(this.total / 10_000);
    for (let j = 0; j < this.held; j++) {
      const y = this.log.of(this.heldValues[j]);
      const i = base + this.heldGenes[j];
      sum[i] += y;
      sumSq[i] += y * y;
      if (y > 0) expressing[i]++;
    }
    this.cell = -1;
    this.held = 0;
    this.total = 0;
  }
}

function grow<T extends Int32Array<ArrayBuffer> | Float64Array<ArrayBuffer>>(from: T, to: T): T {
  to.set(from);
  return to;
}
