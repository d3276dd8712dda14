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
import { RowOutsideTables, type AccumulatedMoments } from "./moments-accumulator";
import { PartedAccumulator } from "./pass-parts";
import { workerPass } from "./pass-workers";

type Vector = InstanceType<typeof arrow.Vector>;

export interface ClassMoments extends AccumulatedMoments {
  nClasses: number;
  nGenes: number;
  rows: number;
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
  /** Rows to skip first (see lance-scan.ts). */
  offset?: number;
  signal?: AbortSignal;
  onRows?: (rows: number) => void;
}

/** Lets other work run between batches. */
export const breathe = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Calls `each(cells, genes, values)` per scanned batch, yielding to the event loop between batches, until it returns
 * false; the rows read.
 */
export async function scanExpression(
  table: lancedb.Table,
  opts: PassOptions,
  each: (cells: ArrayLike<number>, genes: ArrayLike<number>, values: ArrayLike<number>) => boolean | void,
): Promise<number> {
  let rows = 0;
  const scan = { where: opts.where, offset: opts.offset, signal: opts.signal };
  for await (const batch of scanBatches(table, ["cell_integer_id", "gene_integer_id", "value"], scan)) {
    const cells = columnNumbers(batch.getChild("cell_integer_id") as Vector);
    // Counted as read before use, so a pass that stops inside a batch still says what it read.
    rows += cells.length;
    opts.onRows?.(rows);
    if (each(cells, columnNumbers(batch.getChild("gene_integer_id") as Vector), columnNumbers(batch.getChild("value") as Vector)) === false) break;
    await breathe();
  }
  return rows;
}

/** Where worker threads read the table (local datasets, worker built). */
export interface PassWorkers {
  file: string;
  tablePath: string;
  version: number;
}

/**
 * The moments of every class × gene in one read (see AccumulatorSpec for `fromRows`, `totals` and `whole`), in
 * worker threads when given (pass-workers.ts), else on this thread between batches; in parts either way (pass-parts.ts).
 */
export async function momentsPass(
  table: lancedb.Table,
  classOf: Int32Array,
  nClasses: number,
  nGenes: number,
  transform: Transform & { fromRows?: boolean; totals?: Float64Array; whole?: boolean },
  opts: PassOptions = {},
  workers: PassWorkers | null = null,
): Promise<ClassMoments> {
  if (workers) {
    const { file, tablePath, version } = workers;
    const base = {
      tablePath,
      version,
      classOf,
      nClasses,
      nGenes,
      divisors: transform.divisors,
      fromRows: transform.fromRows === true,
      whole: transform.whole === true,
    };
    return workerPass(file, base, transform.totals, opts);
  }
  const acc = new PartedAccumulator({
    classOf,
    nClasses,
    nGenes,
    divisors: transform.divisors,
    fromRows: transform.fromRows === true,
    totals: transform.totals ?? null,
    whole: transform.whole === true,
  });
  try {
    const rows = await scanExpression(table, opts, (cells, genes, values) => acc.add(cells, genes, values));
    return { nClasses, nGenes, rows, ...acc.finish() };
  } catch (e) {
    if (e instanceof RowOutsideTables) fail("MARKERS_INVALID", e.message);
    throw e;
  }
}
