/**
 * The `scan` reader: a plain LanceDB scan of one table (chosen columns) in batches of `batchSize` rows, split into
 * `concurrency` contiguous row ranges read at once (offset/limit, which Lance pushes down to the fragments). Cells
 * are the rows of the cells table, or the distinct cell_integer_id values of expression rows when that column is read.
 */
import type * as lancedb from "@lancedb/lancedb";
import type { Data } from "apache-arrow";
import type { BenchOptions } from "../../../shared/ipc/contract";
import { fail } from "../errors";
import { batchBytes } from "./arrow-bytes";
import { CANCELLED, type Tally } from "./tally";

interface Batch {
  numRows: number;
  data: Data;
  getChild(name: string): { data: { values: ArrayLike<number | bigint>; offset: number; length: number }[] } | null;
}

/** One range's first and last cell id (to drop a cell counted by two neighbouring ranges). */
interface RangeCells {
  first: number | null;
  last: number | null;
}

export interface ScanPlan {
  /** Row ranges [start, end) read at once. */
  ranges: [number, number][];
  tableRows: number;
}

/** The ranges: the rows `batches` full batches hold (or the whole table), cut on batch boundaries. */
export function planScan(tableRows: number, o: Pick<BenchOptions, "batchSize" | "batches" | "concurrency">): ScanPlan {
  const wanted = o.batches !== null ? Math.min(tableRows, o.batches * o.batchSize) : tableRows;
  const nBatches = Math.ceil(wanted / o.batchSize);
  const scanners = Math.max(1, Math.min(o.concurrency, nBatches));
  const per = Math.ceil(nBatches / scanners) * o.batchSize;
  const ranges: [number, number][] = [];
  for (let start = 0; start < wanted; start += per) ranges.push([start, Math.min(wanted, start + per)]);
  return { ranges, tableRows };
}

/** New cells in a batch of expression rows (sorted by cell): runs of equal ids, continuing from the previous batch. */
function countRuns(batch: Batch, seen: RangeCells): number {
  const col = batch.getChild("cell_integer_id");
  if (!col) return 0;
  let runs = 0;
  for (const d of col.data) {
    for (let i = d.offset; i < d.offset + d.length; i++) {
      const id = Number(d.values[i]);
      if (id !== seen.last) {
        runs++;
        seen.first ??= id;
        seen.last = id;
      }
    }
  }
  return runs;
}

async function scanRange(
  table: lancedb.Table,
  [start, end]: [number, number],
  o: BenchOptions,
  tally: Tally,
  cellsBy: "rows" | "ids" | null,
): Promise<RangeCells> {
  let q = table.query();
  if (o.columns) q = q.select(o.columns);
  const query = q.offset(start).limit(end - start) as unknown as { execute(opts: { maxBatchLength: number }): AsyncIterable<Batch> };
  const seen: RangeCells = { first: null, last: null };
  if (tally.done) return seen;
  const batches = query.execute({ maxBatchLength: o.batchSize })[Symbol.asyncIterator]();
  for (;;) {
    const next = batches.next();
    // A cancel does not wait for a read that stalls: the read is left to fail when its table closes.
    const got = await Promise.race([next, tally.whenCancelled()]);
    if (got === CANCELLED) {
      next.catch(() => undefined);
      return seen;
    }
    if (got.done) return seen;
    const batch = got.value;
    const cells = cellsBy === "rows" ? batch.numRows : cellsBy === "ids" ? countRuns(batch, seen) : 0;
    tally.add(batch.numRows, batchBytes(batch), cells);
    if (tally.done) {
      await batches.return?.();
      return seen;
    }
  }
}

/** Reads the table into `tally` (whose clock starts here); returns notes on what was read. */
export async function readScan(table: lancedb.Table, o: BenchOptions, tally: Tally): Promise<string[]> {
  const [tableRows, schema] = await Promise.all([table.countRows(), table.schema()]);
  const names = new Set(schema.fields.map((f) => f.name));
  const unknown = (o.columns ?? []).filter((c) => !names.has(c));
  if (unknown.length)
    fail("BENCH_OPTIONS_INVALID", `Option columns: table ${o.table} has no column ${unknown.join(", ")}`, { detail: "field: options.columns" });
  const cellsBy = o.table === "cells" ? "rows" : (o.columns ?? [...names]).includes("cell_integer_id") ? "ids" : null;
  const plan = planScan(tableRows, o);
  tally.start();
  const seen = await Promise.all(plan.ranges.map((r) => scanRange(table, r, o, tally, cellsBy)));
  // A cell whose rows straddle two ranges was counted by both.
  for (let k = 1; k < seen.length; k++) if (seen[k].first !== null && seen[k].first === seen[k - 1].last) tally.cells--;
  const notes: string[] = [];
  if (cellsBy === null) notes.push("cells not counted: the cell_integer_id column was not read");
  if (o.batches !== null && tableRows < o.batches * o.batchSize)
    notes.push(
      `the ${o.table} table has ${tableRows.toLocaleString("en-US")} rows, fewer than ${o.batches.toLocaleString("en-US")} batches of ${o.batchSize}: it was read once, whole`,
    );
  return notes;
}
