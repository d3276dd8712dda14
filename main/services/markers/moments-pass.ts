/**
 * The markers pass: one streaming read of `expression` (cell_integer_id, gene_integer_id, value) for the cells
 * involved, accumulating per class and gene Σy, Σy² and the cells with y > 0, where y is the stored value or
 * ln(1 + x / total × 10,000). Cells without a stored value add nothing (their y is 0). Memory ∝ classes × genes.
 */
import type * as lancedb from "@lancedb/lancedb";
import type { arrow } from "../arrow";
import { columnNumbers } from "../explore/arrow-read";
import { scanBatches } from "../explore/lance-scan";
import { fail } from "../errors";

type Vector = InstanceType<typeof arrow.Vector>;

export interface ClassMoments {
  nClasses: number;
  nGenes: number;
  /** [class × nGenes + gene]. */
  sum: Float64Array;
  sumSq: Float64Array;
  expressing: Int32Array;
  rows: number;
  /** Some stored value read is negative. */
  negative: boolean;
}

/** What turns a stored value x of cell c into y. */
export interface Transform {
  /** Per cell: total / 10,000 (y = ln(1 + x / divisor), 0 where the divisor is 0); null: y = x. */
  divisors: Float64Array | null;
}

/** Per-cell CP10k divisors (total / 1e4, as scanpy's normalize_total divides by counts / target_sum). */
export function cp10kDivisors(totals: Float64Array): Float64Array {
  const out = new Float64Array(totals.length);
  for (let i = 0; i < totals.length; i++) out[i] = totals[i] / 10_000;
  return out;
}

export interface PassOptions {
  where?: string;
  signal?: AbortSignal;
  onRows?: (rows: number) => void;
}

/** Lets other work run between batches. */
export const breathe = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Calls `each(cells, genes, values)` per scanned batch, after checking every id is inside the tables. */
export async function scanExpression(
  table: lancedb.Table,
  nCells: number,
  nGenes: number,
  opts: PassOptions,
  each: (cells: ArrayLike<number>, genes: ArrayLike<number>, values: ArrayLike<number>) => void,
): Promise<number> {
  let rows = 0;
  for await (const batch of scanBatches(table, ["cell_integer_id", "gene_integer_id", "value"], { where: opts.where, signal: opts.signal })) {
    const cells = columnNumbers(batch.getChild("cell_integer_id") as Vector);
    const genes = columnNumbers(batch.getChild("gene_integer_id") as Vector);
    const values = columnNumbers(batch.getChild("value") as Vector);
    for (let r = 0; r < cells.length; r++) {
      const c = cells[r];
      const g = genes[r];
      if (!(c >= 0 && c < nCells && g >= 0 && g < nGenes)) fail("MARKERS_INVALID", `Expression row (cell ${c}, gene ${g}) is outside the cells or genes table`);
    }
    // Counted as read before use, so a pass that stops inside a batch still says what it read.
    rows += cells.length;
    opts.onRows?.(rows);
    each(cells, genes, values);
    await breathe();
  }
  return rows;
}

/** Thrown when a cell's rows are not contiguous, so totals cannot be taken from the rows as they pass. */
export class CellsNotContiguous extends Error {}

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

/**
 * `transform.divisors` null with `fromRows`: log1p(CP10k) with each cell's total summed from its own rows as they
 * pass (SLAF stores a cell's rows together), so no earlier pass over expression is needed; CellsNotContiguous when a
 * cell's rows come apart. Rows of every involved cell are read whole, so their totals are complete: they are
 * written into `totals` (by cell) when given.
 */
export async function momentsPass(
  table: lancedb.Table,
  classOf: Int32Array,
  nClasses: number,
  nGenes: number,
  transform: Transform & { fromRows?: boolean; totals?: Float64Array },
  opts: PassOptions = {},
): Promise<ClassMoments> {
  const size = nClasses * nGenes;
  const sum = new Float64Array(size);
  const sumSq = new Float64Array(size);
  const expressing = new Int32Array(size);
  const divisors = transform.divisors;
  const log = new CellLog();
  let negative = false;
  const add = (k: number, g: number, y: number) => {
    const i = k * nGenes + g;
    sum[i] += y;
    sumSq[i] += y * y;
    if (y > 0) expressing[i]++;
  };
  // fromRows: the current cell's rows, held until its total is known.
  const fromRows = transform.fromRows === true && !divisors;
  const done = fromRows ? new Uint8Array(classOf.length) : null;
  let cell = -1;
  let total = 0;
  let held = 0;
  let heldGenes = new Int32Array(1024);
  let heldValues = new Float64Array(1024);
  const flush = () => {
    if (cell < 0) return;
    done![cell] = 1;
    if (transform.totals) transform.totals[cell] = total;
    const k = classOf[cell];
    log.cell(total / 10_000);
    for (let j = 0; j < held; j++) add(k, heldGenes[j], log.of(heldValues[j]));
    cell = -1;
    held = 0;
    total = 0;
  };
  const rows = await scanExpression(table, classOf.length, nGenes, opts, (cells, genes, values) => {
    for (let r = 0; r < cells.length; r++) {
      const c = cells[r];
      const k = classOf[c];
      if (k < 0) continue;
      const x = values[r];
      // A null value is no value.
      if (Number.isNaN(x)) continue;
      if (x < 0) negative = true;
      if (x === 0) continue;
      if (fromRows) {
        if (c !== cell) {
          flush();
          if (done![c]) throw new CellsNotContiguous();
          cell = c;
        }
        if (held === heldGenes.length) {
          heldGenes = growInt(heldGenes);
          heldValues = growFloat(heldValues);
        }
        heldGenes[held] = genes[r];
        heldValues[held++] = x;
        // As Explore's counting pass: the total of the positive values.
        if (x > 0) total += x;
        continue;
      }
      if (!divisors) add(k, genes[r], x);
      else {
        if (c !== cell) {
          cell = c;
          log.cell(divisors[c]);
        }
        add(k, genes[r], log.of(x));
      }
    }
  });
  if (fromRows) flush();
  return { nClasses, nGenes, sum, sumSq, expressing, rows, negative };
}

function growInt(a: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> {
  const b = new Int32Array(a.length * 2);
  b.set(a);
  return b;
}

function growFloat(a: Float64Array<ArrayBuffer>): Float64Array<ArrayBuffer> {
  const b = new Float64Array(a.length * 2);
  b.set(a);
  return b;
}
