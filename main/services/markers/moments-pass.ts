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
    each(cells, genes, values);
    rows += cells.length;
    opts.onRows?.(rows);
    await breathe();
  }
  return rows;
}

export async function momentsPass(
  table: lancedb.Table,
  classOf: Int32Array,
  nClasses: number,
  nGenes: number,
  transform: Transform,
  opts: PassOptions = {},
): Promise<ClassMoments> {
  const size = nClasses * nGenes;
  const sum = new Float64Array(size);
  const sumSq = new Float64Array(size);
  const expressing = new Int32Array(size);
  const divisors = transform.divisors;
  let negative = false;
  const rows = await scanExpression(table, classOf.length, nGenes, opts, (cells, genes, values) => {
    for (let r = 0; r < cells.length; r++) {
      const k = classOf[cells[r]];
      if (k < 0) continue;
      const x = values[r];
      // A null value is no value.
      if (Number.isNaN(x)) continue;
      if (x < 0) negative = true;
      if (x === 0) continue;
      let y = x;
      if (divisors) {
        const d = divisors[cells[r]];
        y = d > 0 ? Math.log1p(x / d) : 0;
      }
      const i = k * nGenes + genes[r];
      sum[i] += y;
      sumSq[i] += y * y;
      if (y > 0) expressing[i]++;
    }
  });
  return { nClasses, nGenes, sum, sumSq, expressing, rows, negative };
}
