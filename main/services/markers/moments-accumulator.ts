/**
 * The markers pass's arithmetic, without I/O: per class and gene Σy, Σy² and the cells with y > 0 from batches of
 * (cell, gene, value) rows. Rows are taken a cell at a time straight from the batch's arrays (SLAF keeps a cell's
 * rows together); only a cell whose rows continue into the next batch is copied, when its total comes from its rows.
 */
import type { NumberArray } from "../explore/arrow-read";

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
  /**
   * Also the moments of every cell read, classed or not ("whole"): cells without a class summed as one more class,
   * and the whole per gene the sum of every class's sums in class order (summing it per row beside the class sums
   * cost ~2 s of CPU on 690M rows). Every pass derives it so, whichever classes it has.
   */
  whole?: boolean;
  /**
   * Cell ids must never go down (a read by row offset, part-rows.ts): CellsUnsorted at the first that does, before
   * its rows are summed. Checked per cell in the loop that finds each cell's rows (per row apart: ~0.75 s of 690M rows).
   */
  sorted?: boolean;
}

export interface AccumulatedMoments extends Moments {
  /** With `whole`: [gene] over every cell read. */
  whole: Moments | null;
}

type Column = ArrayLike<number>;

/** Thrown when a cell's rows are not contiguous, so totals cannot be taken from the rows as they pass. */
export class CellsNotContiguous extends Error {}

/** With `sorted`: thrown when a cell id goes down. */
export class CellsUnsorted extends Error {}

/** Thrown for a row whose ids are outside the cells or genes table. */
export class RowOutsideTables extends Error {}

/** Counts below this may get their y once per cell (most stored counts are small). */
const SMALL = 64;
/** Σy, Σy², cells with y > 0 side by side per gene × class: a row touches one or two cache lines. */
const STRIDE = 3;

function outside(c: number, g: number): never {
  throw new RowOutsideTables(`Expression row (cell ${c}, gene ${g}) is outside the cells or genes table`);
}

export class MomentsAccumulator {
  /** [(class × nGenes + gene) × STRIDE + 0 | 1 | 2], class-major (see `drain`), cells without a class at class nClasses. */
  private readonly acc: Float64Array;
  private readonly perGene: number;
  private readonly whole: boolean;
  /** The class summed for cells without one: nClasses with `whole`, else -1 (not summed). */
  private readonly unclassed: number;
  private negative = false;
  private readonly fromRows: boolean;
  private readonly done: Uint8Array | null;
  /** The current cell's y of the counts below its `lim` (see `cellRows`). */
  private readonly small = new Float64Array(SMALL);
  /** With `fromRows`: the cell whose rows reached the end of the last batch, and its rows so far. */
  private heldCell = -1;
  private held = 0;
  /** The last cell of the rows so far. */
  private lastCell = -Infinity;
  /**
   * Of the batches' own array types (`holding`): the loops below then see one array type each, whatever Arrow
   * delivers (fed Uint16Array batches and Int32Array held rows, the loop measured ~2× slower).
   */
  private heldGenes: Column = new Float64Array(0);
  private heldValues: Column = new Float64Array(0);
  /**
   * A batch's complete cells, summed class by class (each row's y worked out there): a class's
   * slice of the accumulator then stays in cache while its cells pass (cells of 8 classes interleaved missed it on
   * every row: 1M cells, 21 → ~8 ns a row). Per class the cells keep their row order, so every sum is the same
   * sequence of additions as one cell at a time.
   */
  private queued = 0;
  private qCell = new Int32Array(256);
  private qClass = new Int32Array(256);
  private qFrom = new Int32Array(256);
  private qTo = new Int32Array(256);
  private qDivisor = new Float64Array(256);
  private qOrder = new Int32Array(256);

  constructor(readonly spec: AccumulatorSpec) {
    this.whole = spec.whole === true;
    this.perGene = spec.nClasses + (this.whole ? 1 : 0);
    this.unclassed = this.whole ? spec.nClasses : -1;
    this.acc = new Float64Array(this.perGene * spec.nGenes * STRIDE);
    this.fromRows = spec.fromRows && !spec.divisors;
    this.done = this.fromRows ? new Uint8Array(spec.classOf.length) : null;
  }

  add(cells: Column, genes: Column, values: Column): void {
    const n = cells.length;
    const nCells = this.spec.classOf.length;
    let r = 0;
    if (this.heldCell >= 0) {
      // The held cell's rows go on into this batch: hold them too, unless they end here.
      while (r < n && cells[r] === this.heldCell) r++;
      this.hold(genes, values, 0, r);
      if (r === n) return;
      this.flushHeld();
    }
    const sorted = this.spec.sorted === true;
    let last = this.lastCell;
    while (r < n) {
      const c = cells[r];
      if (c < last && sorted) throw new CellsUnsorted();
      last = c;
      let end = r + 1;
      while (end < n && cells[end] === c) end++;
      if (!(c >= 0 && c < nCells)) {
        // Ids going down further on are the first thing wrong, as a check of every row first would find.
        if (sorted && goesDown(cells, end)) throw new CellsUnsorted();
        outside(c, genes[r]);
      }
      if (this.fromRows && end === n) {
        this.startCell(c);
        this.heldCell = c;
        this.hold(genes, values, r, end);
      } else this.queue(c, values, r, end);
      r = end;
    }
    this.lastCell = last;
    this.drain(genes, values);
  }

  /** A complete cell of the batch: its divisor now (and its total, from its rows), its sums in `drain`. */
  private queue(c: number, values: Column, from: number, to: number): void {
    const d = this.divisorOf(c, values, from, to);
    const k = this.classOf(c);
    if (k < 0) return;
    if (this.queued === this.qCell.length) {
      const size = this.queued * 2;
      this.qCell = grow(this.qCell, new Int32Array(size));
      this.qClass = grow(this.qClass, new Int32Array(size));
      this.qFrom = grow(this.qFrom, new Int32Array(size));
      this.qTo = grow(this.qTo, new Int32Array(size));
      this.qDivisor = grow(this.qDivisor, new Float64Array(size));
      this.qOrder = new Int32Array(size);
    }
    const q = this.queued++;
    this.qCell[q] = c;
    this.qClass[q] = k;
    this.qFrom[q] = from;
    this.qTo[q] = to;
    this.qDivisor[q] = d;
  }

  /** The class cell c is summed in (cells without a class: `unclassed`). */
  private classOf(c: number): number {
    const k = this.spec.classOf[c];
    return k >= 0 ? k : this.unclassed;
  }

  /** The queued cells' sums: each class's cells in row order. */
  private drain(genes: Column, values: Column): void {
    const n = this.queued;
    this.queued = 0;
    if (n === 0) return;
    const { qCell, qClass, qFrom, qTo, qDivisor } = this;
    const order = this.qOrder.subarray(0, n);
    for (let q = 0; q < n; q++) order[q] = q;
    order.sort((a, b) => qClass[a] - qClass[b] || a - b);
    for (let i = 0; i < n; i++) {
      const q = order[i];
      this.cellRows(qCell[q], qClass[q], qDivisor[q], genes, values, qFrom[q], qTo[q]);
    }
  }

  /** After the last batch: the moments, one array per statistic, [class × nGenes + gene]. */
  finish(): AccumulatedMoments {
    if (this.heldCell >= 0) this.flushHeld();
    const classes = this.unpack(0, this.spec.nClasses);
    return { ...classes, whole: this.whole ? this.wholeOf() : null };
  }

  /** Per gene, the sums of every class, the unclassed cells' last, added in class order. */
  private wholeOf(): Moments {
    const nGenes = this.spec.nGenes;
    const sum = new Float64Array(nGenes);
    const sumSq = new Float64Array(nGenes);
    const expressing = new Int32Array(nGenes);
    const acc = this.acc;
    for (let k = 0; k < this.perGene; k++)
      for (let g = 0; g < nGenes; g++) {
        const j = (k * nGenes + g) * STRIDE;
        sum[g] += acc[j];
        sumSq[g] += acc[j + 1];
        expressing[g] += acc[j + 2];
      }
    return { sum, sumSq, expressing, negative: this.negative };
  }

  /** Classes [from, from + count) class-major. */
  private unpack(from: number, count: number): Moments {
    const nGenes = this.spec.nGenes;
    const size = count * nGenes;
    const sum = new Float64Array(size);
    const sumSq = new Float64Array(size);
    const expressing = new Int32Array(size);
    const acc = this.acc;
    for (let k = 0; k < count; k++)
      for (let g = 0; g < nGenes; g++) {
        const i = k * nGenes + g;
        const j = ((from + k) * nGenes + g) * STRIDE;
        sum[i] = acc[j];
        sumSq[i] = acc[j + 1];
        expressing[i] = acc[j + 2];
      }
    return { sum, sumSq, expressing, negative: this.negative };
  }

  private startCell(c: number): void {
    if (this.done![c]) throw new CellsNotContiguous();
    this.done![c] = 1;
  }

  /** The cell's CP10k divisor: from its own rows with `fromRows` (its total kept in `spec.totals`), else the spec's. */
  private divisorOf(c: number, values: Column, from: number, to: number): number {
    if (!this.fromRows) return this.spec.divisors ? this.spec.divisors[c] : 0;
    this.startCell(c);
    const total = positiveTotal(values, from, to);
    if (this.spec.totals) this.spec.totals[c] = total;
    return total / 10_000;
  }

  /**
   * Rows [from, to) of cell c into class k: y = log1p(x / d) (x without a transform); zeros, nulls and every row of
   * a cell without a positive total add nothing.
   */
  private cellRows(c: number, k: number, d: number, genes: Column, values: Column, from: number, to: number): void {
    const nGenes = this.spec.nGenes;
    const acc = this.acc;
    const classAt = k * nGenes * STRIDE;
    const log = this.fromRows || this.spec.divisors !== null;
    // y is 0 for every row of a cell without a positive total.
    const zero = log && !(d > 0);
    // The cell's whole counts below `lim` (most stored values) take y from a table made for the cell first: the same
    // log1p(x / d), once per count (a memo checked per row cost ~2.5 ns a row more); one count per 8 rows at most.
    const small = this.small;
    const lim = log && !zero ? Math.min(SMALL, (to - from) >> 3) : 0;
    for (let x = 1; x < lim; x++) small[x] = Math.log1p(x / d);
    // A local, stored once after the loop: a store to `this` inside it measured ~25 % slower.
    let negative = false;
    for (let j = from; j < to; j++) {
      const g = genes[j];
      if (!(g >= 0 && g < nGenes)) outside(c, g);
      const x = values[j];
      if (!(x > 0)) {
        if (!(x < 0)) continue;
        negative = true;
      }
      if (zero) continue;
      let y = x;
      if (log) y = x < lim && (x | 0) === x ? small[x] : Math.log1p(x / d);
      const i = g * STRIDE + classAt;
      acc[i] += y;
      acc[i + 1] += y * y;
      if (y > 0) acc[i + 2]++;
    }
    if (negative) this.negative = true;
  }

  private hold(genes: Column, values: Column, from: number, to: number): void {
    const need = this.held + to - from;
    this.heldGenes = holding(this.heldGenes, genes, this.held, need);
    this.heldValues = holding(this.heldValues, values, this.held, need);
    const hg = this.heldGenes as Float64Array;
    const hv = this.heldValues as Float64Array;
    for (let j = from, h = this.held; j < to; j++, h++) {
      hg[h] = genes[j];
      hv[h] = values[j];
    }
    this.held = need;
  }

  private flushHeld(): void {
    const c = this.heldCell;
    this.heldCell = -1;
    // startCell was called when it was held.
    this.done![c] = 0;
    const n = this.held;
    this.held = 0;
    const k = this.classOf(c);
    const d = this.divisorOf(c, this.heldValues, 0, n);
    if (k < 0) return;
    this.cellRows(c, k, d, this.heldGenes, this.heldValues, 0, n);
  }
}

function goesDown(cells: Column, from: number): boolean {
  for (let i = Math.max(1, from); i < cells.length; i++) if (cells[i] < cells[i - 1]) return true;
  return false;
}

/** As Explore's counting pass: the total of the positive values of rows [from, to). */
function positiveTotal(values: Column, from: number, to: number): number {
  let total = 0;
  let j = from;
  // Integers (below 2^53) add up exactly in any order: four sums side by side, ~2× faster than one.
  if (ArrayBuffer.isView(values) && !(values instanceof Float32Array || values instanceof Float64Array)) {
    let t1 = 0;
    let t2 = 0;
    let t3 = 0;
    for (; j + 3 < to; j += 4) {
      const a = values[j];
      const b = values[j + 1];
      const c = values[j + 2];
      const d = values[j + 3];
      if (a > 0) total += a;
      if (b > 0) t1 += b;
      if (c > 0) t2 += c;
      if (d > 0) t3 += d;
    }
    total += t1 + t2 + t3;
  }
  for (; j < to; j++) {
    const x = values[j];
    if (x > 0) total += x;
  }
  return total;
}

/**
 * A buffer for a held cell's rows, with `keep` rows of `buf` and room for `need`: of the batch's own array type, or
 * Float64Array (every number exactly) for plain arrays or when a held cell's batches change type.
 */
function holding(buf: Column, like: Column, keep: number, need: number): Column {
  const same = buf.constructor === like.constructor;
  if ((same || (keep > 0 && buf instanceof Float64Array)) && buf.length >= need) return buf;
  const Type = (ArrayBuffer.isView(like) && (keep === 0 || same) ? like.constructor : Float64Array) as new (n: number) => NumberArray;
  const out = new Type(Math.max(need, 2 * buf.length, 1024));
  for (let j = 0; j < keep; j++) out[j] = buf[j];
  return out;
}

function grow<T extends Int32Array<ArrayBuffer> | Float64Array<ArrayBuffer>>(from: T, to: T): T {
  to.set(from);
  return to;
}
