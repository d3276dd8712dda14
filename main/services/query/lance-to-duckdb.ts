/**
 * Streams a Lance scan into a DuckDB table without per-row JS work for fixed-width columns: each 2048-row slice of
 * a record batch is memcpy'd into a DuckDB data chunk (`copy_data_to_vector`, validity included) and appended.
 * Strings are assigned per row from the Arrow bytes (no decoding); booleans are unpacked from bits. When every
 * column is fixed-width, an id filter (bitmaps over id columns) can drop rows from each batch before appending.
 */
import duckdb from "@duckdb/node-bindings";
import { DuckDBDataChunk, type DuckDBAppender, type DuckDBConnection } from "@duckdb/node-api";
import type * as lancedb from "@lancedb/lancedb";
import { type arrow, SCAN_BATCH_ROWS } from "../arrow";
import { arrowTypeInfo, duckdbNumberType, fixedWidth, type DataType } from "../arrow-types";
import { fail, throwIfAborted } from "../errors";
import { quoteIdent } from "../sql-text";
import type { CatalogColumn } from "./catalog";
import { flatKind, type FlatBatch, type FlatColumn, type FlatKind } from "./flat-batch";
import { lanceBatches, readAhead, scannedBatches, type FlatScanSpec, type RowFilter, type ScannedBatch } from "./flat-scan";
import type { AggregateSpec } from "./partial-aggregator";

export { readAhead, type RowFilter } from "./flat-scan";

type ArrowData = InstanceType<typeof arrow.Data>;

const VECTOR_SIZE = duckdb.vector_size();

type Copier = "fixed" | "bool" | "utf8" | "largeutf8" | "array" | "generic";

export interface ColumnPlan {
  name: string;
  sqlType: string;
  copier: Copier;
  bytesPerValue: number;
  /** FixedSizeList width. */
  listSize: number;
  /** How the column flattens (fixed-width numbers and booleans), else null. */
  flat: FlatKind | null;
}

export function planColumn(col: { name: string; type: DataType }): ColumnPlan {
  const base = { name: col.name, bytesPerValue: 0, listSize: 0, flat: flatKind(col.type) };
  const info = arrowTypeInfo(col.type);
  const number = duckdbNumberType(info);
  if (number) return { ...base, sqlType: number, copier: "fixed", bytesPerValue: fixedWidth(info)! };
  switch (info.kind) {
    case "bool":
      return { ...base, sqlType: "BOOLEAN", copier: "bool" };
    case "string":
      return { ...base, sqlType: "VARCHAR", copier: info.large ? "largeutf8" : "utf8" };
    case "fixed-list": {
      const child = duckdbNumberType(info.child);
      if (child) return { ...base, sqlType: `${child}[${info.size}]`, copier: "array", bytesPerValue: fixedWidth(info.child)!, listSize: info.size };
      break;
    }
  }
  // Anything else (dates, lists, structs, dictionaries...) arrives as text: rare in SLAF tables.
  return { ...base, sqlType: "VARCHAR", copier: "generic" };
}

/** Arrow bytes a slice of a column occupies (validity bitmaps not counted). */
function sliceBytes(p: ColumnPlan, data: ArrowData, off: number, n: number): number {
  switch (p.copier) {
    case "fixed":
      return n * p.bytesPerValue;
    case "bool":
      return Math.ceil(n / 8);
    case "array":
      return n * p.listSize * p.bytesPerValue;
    case "utf8": {
      const o = data.valueOffsets as Int32Array;
      return 4 * (n + 1) + (o[data.offset + off + n] - o[data.offset + off]);
    }
    case "largeutf8": {
      const o = data.valueOffsets as unknown as BigInt64Array;
      return 8 * (n + 1) + Number(o[data.offset + off + n] - o[data.offset + off]);
    }
    default:
      return n * 16;
  }
}

export interface IngestResult {
  /** Rows and Arrow bytes read from Lance. */
  rows: number;
  bytes: number;
  /** Rows appended into DuckDB (fewer than `rows` when an id filter dropped some). */
  appended: number;
}

export interface IngestOptions {
  signal: AbortSignal;
  onRows?: (rows: number) => void;
  batchRows?: number;
  /** Applied to each batch before it is appended; only when every column is fixed-width (else ignored). */
  rowFilter?: RowFilter | null;
  /** Where batches of fixed-width columns come from (a scan worker); default: a scan on this thread. */
  flatSource?: (spec: FlatScanSpec) => AsyncIterable<ScannedBatch>;
  /** Append partial aggregates of the scanned fixed-width columns, as a table of these columns, instead of rows. */
  aggregate?: { spec: AggregateSpec; columns: { name: string; type: DataType }[] } | null;
}

/** Whether an id filter can apply to a scan of these columns (every one fixed-width, the id columns among them). */
export function canFilterRows(columns: CatalogColumn[], filter: RowFilter): boolean {
  return columns.every((c) => flatKind(c.type) !== null) && filter.columns.every((n) => columns.some((c) => c.name === n));
}

/** Creates (or replaces) an empty `schema.table` with DuckDB types for the given Lance columns. */
export async function createTable(conn: DuckDBConnection, schema: string, table: string, columns: { name: string; type: DataType }[]): Promise<ColumnPlan[]> {
  const plans = columns.map(planColumn);
  await conn.run(`CREATE OR REPLACE TABLE ${quoteIdent(schema)}.${quoteIdent(table)} (${plans.map((p) => `${quoteIdent(p.name)} ${p.sqlType}`).join(", ")})`);
  return plans;
}

/** Creates `schema.table` with the given Lance columns and fills it from the scan. */
export async function ingestLanceScan(
  conn: DuckDBConnection,
  schema: string,
  table: string,
  lance: lancedb.Table,
  columns: CatalogColumn[],
  filter: string | null,
  opts: IngestOptions,
): Promise<IngestResult> {
  // One transaction for the whole scan: otherwise every appender flush commits on its own, which measured slower
  // (bench `ingest`). The table is created before it: creating it inside measured slower still.
  const plans = columns.map(planColumn);
  if (opts.aggregate && !plans.every((p) => p.flat !== null)) fail("INTERNAL", "Partial aggregates need fixed-width columns");
  await createTable(conn, schema, table, opts.aggregate?.columns ?? columns);
  await conn.run("BEGIN TRANSACTION");
  let committed = false;
  try {
    const result = await appendScan(conn, schema, table, lance, plans, filter, opts);
    await conn.run("COMMIT");
    committed = true;
    return result;
  } finally {
    if (!committed) await conn.run("ROLLBACK").catch(() => undefined);
  }
}

async function appendScan(
  conn: DuckDBConnection,
  schema: string,
  table: string,
  lance: lancedb.Table,
  plans: ColumnPlan[],
  filter: string | null,
  opts: IngestOptions,
): Promise<IngestResult> {
  const batchRows = opts.batchRows ?? SCAN_BATCH_ROWS;
  if (plans.every((p) => p.flat !== null)) {
    const rowFilter = opts.rowFilter && opts.rowFilter.columns.length > 0 ? opts.rowFilter : null;
    const spec: FlatScanSpec = {
      columns: plans.map((p) => ({ name: p.name, flat: p.flat! })),
      filter,
      rowFilter,
      batchRows,
      aggregate: opts.aggregate?.spec ?? null,
      // A worker scan without a filter may be split by row range (split-scan.ts); counting rows reads no data.
      tableRows: opts.flatSource && !filter ? await lance.countRows() : null,
    };
    const source = opts.flatSource ? opts.flatSource(spec) : scannedBatches(readAhead(lanceBatches(lance, spec)), spec, false);
    return appendFlatScan(conn, schema, table, source, opts);
  }
  const batches = readAhead(lanceBatches(lance, { columns: plans.map((p) => ({ name: p.name, flat: "fixed" })), filter, rowFilter: null, batchRows }));
  const appender = await conn.createAppender(table, schema);
  const types = plans.map((_, i) => appender.columnType(i));
  const chunk = DuckDBDataChunk.create(types);
  const vectors = plans.map((_, i) => duckdb.data_chunk_get_vector(chunk.chunk, i));
  let rows = 0;
  let bytes = 0;
  try {
    for await (const batch of batches) {
      throwIfAborted(opts.signal, "QUERY_CANCELLED");
      const datas = plans.map((p) => {
        const child = batch.getChild(p.name);
        if (!child) fail("INTERNAL", `Lance returned no column "${p.name}"`);
        if (child.data.length !== 1) fail("INTERNAL", `Column "${p.name}" arrived in ${child.data.length} pieces`);
        return { data: child.data[0] as ArrowData, vector: child };
      });
      for (let off = 0; off < batch.numRows; off += VECTOR_SIZE) {
        const n = Math.min(VECTOR_SIZE, batch.numRows - off);
        duckdb.data_chunk_reset(chunk.chunk);
        for (let i = 0; i < plans.length; i++) {
          copySlice(plans[i], datas[i].data, datas[i].vector, vectors[i], off, n);
          bytes += sliceBytes(plans[i], datas[i].data, off, n);
        }
        duckdb.data_chunk_set_size(chunk.chunk, n);
        appender.appendDataChunk(chunk);
      }
      rows += batch.numRows;
      opts.onRows?.(batch.numRows);
    }
  } finally {
    appender.closeSync();
  }
  return { rows, bytes, appended: rows };
}

/** Appends flat batches (from this thread's scan, a worker's, or held ones) as they come. */
export async function appendFlatScan(
  conn: DuckDBConnection,
  schema: string,
  table: string,
  batches: AsyncIterable<ScannedBatch> | Iterable<ScannedBatch>,
  opts: Pick<IngestOptions, "signal" | "onRows">,
): Promise<IngestResult> {
  const appender = await conn.createAppender(table, schema);
  const chunk = DuckDBDataChunk.create(Array.from({ length: appender.columnCount }, (_, i) => appender.columnType(i)));
  const vectors = Array.from({ length: appender.columnCount }, (_, i) => duckdb.data_chunk_get_vector(chunk.chunk, i));
  let rows = 0;
  let bytes = 0;
  let appended = 0;
  try {
    for await (const batch of batches) {
      throwIfAborted(opts.signal, "QUERY_CANCELLED");
      appendFlat(appender, chunk, vectors, batch);
      rows += batch.scanned;
      bytes += batch.bytes;
      appended += batch.rows;
      opts.onRows?.(batch.scanned);
    }
  } finally {
    appender.closeSync();
  }
  return { rows, bytes, appended };
}

/** Appends a flat batch: a memcpy per column per 2048-row chunk (values, then validity bits when there are nulls). */
export function appendFlat(appender: DuckDBAppender, chunk: DuckDBDataChunk, vectors: duckdb.Vector[], batch: FlatBatch): void {
  for (let off = 0; off < batch.rows; off += VECTOR_SIZE) {
    const n = Math.min(VECTOR_SIZE, batch.rows - off);
    duckdb.data_chunk_reset(chunk.chunk);
    for (let i = 0; i < batch.columns.length; i++) copyFlatSlice(vectors[i], batch.columns[i], off, n);
    duckdb.data_chunk_set_size(chunk.chunk, n);
    appender.appendDataChunk(chunk);
  }
}

/** Copies rows off..off+n of a flat column into a vector from its row 0 (`off` a multiple of 8: validity starts on a byte). */
export function copyFlatSlice(vec: duckdb.Vector, column: FlatColumn, off: number, n: number): void {
  const { values, validity } = column;
  const w = values.BYTES_PER_ELEMENT;
  duckdb.copy_data_to_vector(vec, 0, values.buffer as ArrayBuffer, values.byteOffset + off * w, n * w);
  if (validity) {
    duckdb.vector_ensure_validity_writable(vec);
    duckdb.copy_data_to_vector_validity(vec, 0, validity.buffer as ArrayBuffer, validity.byteOffset + off / 8, Math.ceil(n / 8));
  }
}

function copyValidity(data: ArrowData, vec: duckdb.Vector, off: number, n: number): void {
  if (!data.nullCount || !data.nullBitmap || data.nullBitmap.length === 0) return;
  const bitmap = data.nullBitmap as Uint8Array;
  const bit = data.offset + off;
  duckdb.vector_ensure_validity_writable(vec);
  if (bit % 8 === 0) {
    duckdb.copy_data_to_vector_validity(vec, 0, bitmap.buffer as ArrayBuffer, bitmap.byteOffset + bit / 8, Math.ceil(n / 8));
    return;
  }
  const validity = duckdb.vector_get_validity(vec, Math.ceil(n / 64) * 8);
  for (let i = 0; i < n; i++) {
    const b = bit + i;
    duckdb.validity_set_row_validity(validity, i, (bitmap[b >> 3] & (1 << (b & 7))) !== 0);
  }
}

function isValid(data: ArrowData, i: number): boolean {
  if (!data.nullCount || !data.nullBitmap || data.nullBitmap.length === 0) return true;
  const b = data.offset + i;
  return (data.nullBitmap[b >> 3] & (1 << (b & 7))) !== 0;
}

function copySlice(p: ColumnPlan, data: ArrowData, column: { get(i: number): unknown }, vec: duckdb.Vector, off: number, n: number): void {
  switch (p.copier) {
    case "fixed": {
      const values = data.values as unknown as ArrayBufferView;
      duckdb.copy_data_to_vector(vec, 0, values.buffer as ArrayBuffer, values.byteOffset + (data.offset + off) * p.bytesPerValue, n * p.bytesPerValue);
      copyValidity(data, vec, off, n);
      return;
    }
    case "bool": {
      const bits = data.values as Uint8Array;
      const out = new Uint8Array(n);
      const start = data.offset + off;
      for (let i = 0; i < n; i++) {
        const b = start + i;
        out[i] = (bits[b >> 3] >> (b & 7)) & 1;
      }
      duckdb.copy_data_to_vector(vec, 0, out.buffer, 0, n);
      copyValidity(data, vec, off, n);
      return;
    }
    case "array": {
      const child = data.children[0];
      if (child.nullCount) return copyGeneric(p, data, column, vec, off, n);
      const values = child.values as unknown as ArrayBufferView;
      const first = child.offset + (data.offset + off) * p.listSize;
      duckdb.copy_data_to_vector(
        duckdb.array_vector_get_child(vec),
        0,
        values.buffer as ArrayBuffer,
        values.byteOffset + first * p.bytesPerValue,
        n * p.listSize * p.bytesPerValue,
      );
      copyValidity(data, vec, off, n);
      return;
    }
    case "utf8":
    case "largeutf8": {
      const bytes = data.values as Uint8Array;
      const offsets = data.valueOffsets as unknown as ArrayLike<number | bigint>;
      const large = p.copier === "largeutf8";
      const nulls = data.nullCount > 0;
      for (let i = 0; i < n; i++) {
        const k = data.offset + off + i;
        if (nulls && !isValid(data, off + i)) continue;
        const a = large ? Number(offsets[k]) : (offsets[k] as number);
        const b = large ? Number(offsets[k + 1]) : (offsets[k + 1] as number);
        duckdb.vector_assign_string_element_len(vec, i, bytes.subarray(a, b));
      }
      copyValidity(data, vec, off, n);
      return;
    }
    default:
      copyGeneric(p, data, column, vec, off, n);
  }
}

function copyGeneric(_p: ColumnPlan, data: ArrowData, column: { get(i: number): unknown }, vec: duckdb.Vector, off: number, n: number): void {
  // Only VARCHAR targets reach here (planColumn maps unknown types to text); arrays with null items also do.
  const type = duckdb.get_type_id(duckdb.vector_get_column_type(vec));
  if (type !== duckdb.Type.VARCHAR) fail("INTERNAL", "Cannot copy a column with null list items");
  duckdb.vector_ensure_validity_writable(vec);
  const validity = duckdb.vector_get_validity(vec, Math.ceil(n / 64) * 8);
  for (let i = 0; i < n; i++) {
    const v = column.get(off + i);
    if (v === null || v === undefined || !isValid(data, off + i)) {
      duckdb.validity_set_row_validity(validity, i, false);
      continue;
    }
    duckdb.vector_assign_string_element(vec, i, stringify(v));
  }
}

function stringify(v: unknown): string {
  if (typeof v === "string") return v;
  if (typeof v === "bigint" || typeof v === "number" || typeof v === "boolean") return String(v);
  if (v instanceof Date) return v.toISOString();
  if (v && typeof (v as { toJSON?: () => unknown }).toJSON === "function")
    return JSON.stringify((v as { toJSON: () => unknown }).toJSON(), (_k, x) => (typeof x === "bigint" ? x.toString() : x));
  if (v && typeof (v as { toArray?: () => unknown }).toArray === "function")
    return JSON.stringify(Array.from((v as { toArray: () => ArrayLike<unknown> }).toArray()), (_k, x) => (typeof x === "bigint" ? x.toString() : x));
  return String(v);
}
