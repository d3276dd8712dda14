/**
 * A Lance scan of fixed-width columns as flat batches (flat-batch.ts), an id filter applied to each batch: the
 * same code on the main thread and in the scan worker. No DuckDB here.
 */
import type * as lancedb from "@lancedb/lancedb";
import type { arrow } from "../arrow";
import { fail } from "../errors";
import { flattenColumn, type FlatBatch, type FlatKind } from "./flat-batch";
import { selectRows, type IdBitmap, type IdColumn } from "./id-bitmap";
import { PartialAggregator, type AggregateSpec } from "./partial-aggregator";

type RecordBatch = InstanceType<typeof arrow.RecordBatch>;
type ArrowData = InstanceType<typeof arrow.Data>;

/** Rows are kept only when each `columns[i]` holds an id in `bitmaps[i]`. */
export interface RowFilter {
  columns: string[];
  bitmaps: IdBitmap[];
}

export interface FlatScanSpec {
  columns: { name: string; flat: FlatKind }[];
  /** Lance filter, or null. */
  filter: string | null;
  rowFilter: RowFilter | null;
  batchRows: number;
  /** Partial aggregates instead of rows: progress-only batches while scanning, then one batch of partial rows. */
  aggregate?: AggregateSpec | null;
  /** Only these rows of the table, in table order (Lance's offset/limit; with a filter they count filtered rows). */
  range?: RowRange | null;
  /** The table's row count, when known: a scan without a filter may then be split by row range (split-scan.ts). */
  tableRows?: number | null;
}

export interface RowRange {
  offset: number;
  /** Null: to the end of the table. */
  limit: number | null;
}

/** A flat batch and what it cost: rows and Arrow bytes read from Lance for it (before the id filter). */
export interface ScannedBatch extends FlatBatch {
  scanned: number;
  bytes: number;
}

/** Starts the Lance scan of a spec: record batches as Lance decodes them. */
export function lanceBatches(lance: lancedb.Table, spec: FlatScanSpec): AsyncGenerator<RecordBatch> {
  let query = lance.query().select(spec.columns.map((c) => c.name));
  if (spec.filter) query = query.where(spec.filter);
  if (spec.range) query = query.offset(spec.range.offset);
  if (spec.range?.limit != null) query = query.limit(spec.range.limit);
  return (query as unknown as { execute(o: { maxBatchLength: number }): AsyncGenerator<RecordBatch> }).execute({ maxBatchLength: spec.batchRows });
}

/**
 * What a scan delivers: flat batches, or with `spec.aggregate` their partial aggregates. With `own`, every array
 * is a copy owned by the batch (to transfer to another thread); otherwise unfiltered values may be views of
 * Lance's buffers.
 */
export function scannedBatches(batches: AsyncIterable<RecordBatch>, spec: FlatScanSpec, own: boolean): AsyncGenerator<ScannedBatch> {
  return spec.aggregate ? aggregated(flatBatches(batches, spec, false), spec.aggregate) : flatBatches(batches, spec, own);
}

async function* aggregated(batches: AsyncIterable<ScannedBatch>, spec: AggregateSpec): AsyncGenerator<ScannedBatch> {
  const acc = new PartialAggregator(spec);
  for await (const b of batches) {
    acc.add(b);
    yield { rows: 0, columns: [], scanned: b.scanned, bytes: b.bytes };
  }
  yield { ...acc.result(), scanned: 0, bytes: 0 };
}

/**
 * Flat batches of the scan. With `own`, every array is a copy owned by the batch (to transfer to another thread);
 * otherwise unfiltered values are views of Lance's buffers.
 */
export async function* flatBatches(batches: AsyncIterable<RecordBatch>, spec: FlatScanSpec, own: boolean): AsyncGenerator<ScannedBatch> {
  let selection = new Uint32Array(0);
  for await (const batch of batches) yield flattenBatch(batch, spec, own, (n) => (selection.length >= n ? selection : (selection = new Uint32Array(n))));
}

function flattenBatch(batch: RecordBatch, spec: FlatScanSpec, own: boolean, room: (n: number) => Uint32Array): ScannedBatch {
  const rows = batch.numRows;
  const datas = spec.columns.map((c) => {
    const child = batch.getChild(c.name);
    if (!child) fail("INTERNAL", `Lance returned no column "${c.name}"`);
    if (child.data.length !== 1) fail("INTERNAL", `Column "${c.name}" arrived in ${child.data.length} pieces`);
    return child.data[0] as ArrowData;
  });
  let bytes = 0;
  for (const [i, c] of spec.columns.entries())
    bytes += c.flat === "bool" ? Math.ceil(rows / 8) : rows * (datas[i].values as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
  let sel: Uint32Array | null = null;
  let n = rows;
  const rf = spec.rowFilter;
  if (rf && rf.columns.length > 0) {
    sel = room(rows);
    const ids = rf.columns.map((name) => idColumn(datas[spec.columns.findIndex((c) => c.name === name)]));
    n = selectRows(ids, rf.bitmaps, rows, sel);
  }
  const columns = spec.columns.map((c, i) => {
    const flat = flattenColumn(c.flat, datas[i] as never, rows, sel, n);
    if (!own || sel || c.flat === "bool") return flat;
    return { values: flat.values.slice(), validity: flat.validity && flat.validity.slice() };
  });
  return { rows: n, columns, scanned: rows, bytes };
}

function idColumn(data: ArrowData): IdColumn {
  const hasNulls = data.nullCount > 0 && data.nullBitmap && data.nullBitmap.length > 0;
  return { values: data.values as unknown as ArrayLike<number>, offset: data.offset, nullBitmap: hasNulls ? (data.nullBitmap as Uint8Array) : null };
}

/** Asks for the next item before yielding the current one, so Lance decodes batch k+1 while batch k is appended. */
export async function* readAhead<T>(source: AsyncIterator<T>): AsyncGenerator<T> {
  let next = source.next();
  try {
    for (;;) {
      const r = await next;
      if (r.done) return;
      next = source.next();
      yield r.value;
    }
  } finally {
    next.catch(() => undefined);
    source.return?.().catch(() => undefined);
  }
}
