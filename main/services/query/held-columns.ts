/**
 * Fact-table columns held in memory between queries: the flat batches of one whole-table scan, kept as the warm
 * tables' entry for a fact table (warm-tables.ts does the budget and leases), then served to later queries
 * through their id filter without reading Lance again (a sorted id column, like expression's cell ids, is tested
 * once per run of equal ids: id-runs.ts), streamed into the query or appended. Why not a DuckDB
 * table like cells and genes: filling one costs DuckDB 25–57 ns a row (59M rows: 1.5–3.4 s), holding the scanned
 * arrays costs nothing past the scan itself.
 */
import type { DuckDBConnection } from "@duckdb/node-api";
import type { CatalogColumn } from "./catalog";
import type { FlatBatch, FlatColumn } from "./flat-batch";
import { flattenColumn } from "./flat-batch";
import type { ScannedBatch } from "./flat-scan";
import { selectRows, type IdColumn } from "./id-bitmap";
import { gatherRuns, idRuns, pickRuns, type IdRuns } from "./id-runs";
import { appendFlatScan, createTable, type RowFilter } from "./lance-to-duckdb";

export interface HeldColumns {
  /** Column names, in the batches' column order. */
  names: string[];
  batches: FlatBatch[];
  rows: number;
  /** Bytes of the arrays. */
  bytes: number;
}

/** Held columns by warm table name. */
export class HeldFacts {
  private readonly held = new Map<string, HeldColumns>();

  set(name: string, columns: HeldColumns): void {
    this.held.set(name, columns);
  }

  get(name: string): HeldColumns | undefined {
    return this.held.get(name);
  }

  /** Whether `name` was held (and is now let go). */
  delete(name: string): boolean {
    return this.held.delete(name);
  }

  clear(): void {
    this.held.clear();
  }

  /** Bytes held now. */
  bytes(): number {
    let sum = 0;
    for (const h of this.held.values()) sum += h.bytes;
    return sum;
  }
}

/**
 * The held batches as a scan of `columns` would deliver them: only rows passing `rowFilter` (copied), else views
 * of the held arrays. A batch without a passing row comes as a 0-row batch (its `scanned` rows still count).
 */
export function* heldBatches(held: HeldColumns, columns: string[], rowFilter: RowFilter | null): Generator<ScannedBatch> {
  const at = columns.map((name) => indexOf(held, name));
  const idAt = rowFilter ? rowFilter.columns.map((name) => indexOf(held, name)) : [];
  let selection = new Uint32Array(0);
  for (const batch of held.batches) {
    if (!rowFilter) {
      yield { rows: batch.rows, columns: at.map((i) => batch.columns[i]), scanned: batch.rows, bytes: 0 };
      continue;
    }
    if (selection.length < batch.rows) selection = new Uint32Array(batch.rows);
    const byRuns = idAt.length === 1 ? runsOf(batch.columns[idAt[0]], batch.rows) : null;
    if (byRuns && at.every((i) => !batch.columns[i].validity)) {
      const { count, rows } = pickRuns(byRuns, rowFilter.bitmaps[0], selection);
      const picked = at.map((i) => ({ values: gatherRuns(batch.columns[i].values, byRuns, selection, count, rows), validity: null }));
      yield { rows, columns: picked, scanned: batch.rows, bytes: 0 };
      continue;
    }
    const ids: IdColumn[] = idAt.map((i) => ({ values: batch.columns[i].values as ArrayLike<number>, offset: 0, nullBitmap: batch.columns[i].validity }));
    const n = selectRows(ids, rowFilter.bitmaps, batch.rows, selection);
    const picked = at.map((i) => {
      const c = batch.columns[i];
      // Held booleans are already one byte a row: they select like any fixed-width column.
      return flattenColumn("fixed", { values: c.values, offset: 0, nullCount: c.validity ? 1 : 0, nullBitmap: c.validity }, batch.rows, selection, n);
    });
    yield { rows: n, columns: picked, scanned: batch.rows, bytes: 0 };
  }
}

/** Runs of an id column, worked out once per held batch (null: rows are tested one by one). */
const runsCache = new WeakMap<FlatColumn, IdRuns | null>();

function runsOf(column: FlatColumn, rows: number): IdRuns | null {
  let runs = runsCache.get(column);
  if (runs === undefined) {
    runs = idRuns(column.values, column.validity, rows);
    runsCache.set(column, runs);
  }
  return runs;
}

function indexOf(held: HeldColumns, name: string): number {
  const i = held.names.indexOf(name);
  if (i < 0) throw new Error(`Column "${name}" is not held`);
  return i;
}

/** Held batches taken one at a time by a DuckDB table function (stream-function.ts), with the rows they delivered. */
export class HeldStream {
  delivered = 0;
  private readonly batches: Generator<ScannedBatch>;

  constructor(held: HeldColumns, columns: string[], rowFilter: RowFilter | null) {
    this.batches = heldBatches(held, columns, rowFilter);
  }

  next(): ScannedBatch | null {
    const r = this.batches.next();
    if (r.done) return null;
    this.delivered += r.value.rows;
    return r.value;
  }

  close(): void {
    this.batches.return(undefined);
  }
}

/** Appends the held rows passing `rowFilter` as table `schema.table`; returns how many. */
export async function appendHeld(
  conn: DuckDBConnection,
  schema: string,
  table: string,
  columns: CatalogColumn[],
  held: HeldColumns,
  rowFilter: RowFilter | null,
  ctx: { signal: AbortSignal; onRows(rows: number): void },
): Promise<number> {
  await createTable(conn, schema, table, columns);
  const batches = heldBatches(
    held,
    columns.map((c) => c.name),
    rowFilter,
  );
  return (await appendFlatScan(conn, schema, table, batches, ctx)).appended;
}
