/**
 * The prefetcher's view of an open dataset: where its expression table is (so each worker can open its own
 * connection), the table version to read, and cell_start_index, the row where each cell's expression rows start.
 *
 * cell_start_index comes from the cells table (one column, ordered by cell_integer_id) when it is valid: n_cells
 * entries, non-decreasing, from 0, below the expression row count (the row count is appended as entry n_cells).
 * SLAF's multi-file converter writes it restarting at 0 per input file, and scanpy-style counts can drift from
 * the matrix, so when it is missing or invalid it is computed from the expression table's cell_integer_id column
 * (expression is sorted by cell) and `cellStartIndexNote` says why.
 */
import type * as lancedb from "@lancedb/lancedb";
import { AppFailure, isAppFailure } from "../../../../shared/result";
import type { OpenDataset } from "../../datasets/open-dataset";
import { lanceTableFailure } from "../../datasets/lance-errors";
import { tablePath } from "../../datasets/uri";
import { fail } from "../../errors";
import { SCAN_BATCH_ROWS } from "../../arrow";
import type { ExpressionSource } from "./types";

type RecordBatch = { numRows: number; getChild(name: string): { toArray(): ArrayLike<number | bigint> } | null };

export const EXPRESSION_COLUMNS = ["cell_integer_id", "gene_integer_id", "value"] as const;

function unsupported(message: string, extra: { path?: string } = {}): never {
  fail("LOADER_DATASET_UNSUPPORTED", message, extra);
}

function scan(table: lancedb.Table, column: string): AsyncGenerator<RecordBatch> {
  const q = table.query().select([column]) as unknown as { execute(o: { maxBatchLength: number }): AsyncGenerator<RecordBatch> };
  return q.execute({ maxBatchLength: SCAN_BATCH_ROWS * 8 });
}

function named(e: unknown, table: string, path: string): unknown {
  if (isAppFailure(e)) return e;
  return lanceTableFailure(e, { table, tablePath: path }) ?? e;
}

/** Why a cells-table cell_start_index cannot be used, or null when it is valid. */
export function checkCellStartIndex(ids: ArrayLike<number | bigint> | null, starts: ArrayLike<number | bigint>, rows: number): string | null {
  const n = starts.length;
  let prev = 0;
  for (let c = 0; c < n; c++) {
    if (ids && Number(ids[c]) !== c) return `the cells table is not ordered by cell_integer_id (row ${c} holds cell ${String(ids[c])})`;
    const s = Number(starts[c]);
    if (!Number.isInteger(s) || s < 0) return `cell_start_index of cell ${c} is ${String(starts[c])}`;
    if (c === 0 && s !== 0) return `cell_start_index starts at ${s}, not 0`;
    if (s < prev) return `cell_start_index decreases at cell ${c} (${prev} then ${s}; SLAF's multi-file converter restarts it per file)`;
    if (s > rows) return `cell_start_index of cell ${c} is ${s}, past the ${rows} expression rows`;
    prev = s;
  }
  return null;
}

async function cellsColumn(cells: lancedb.Table, rows: number): Promise<{ starts: Float64Array | null; note: string | null; nCells: number }> {
  const nCells = await cells.countRows();
  const names = new Set((await cells.schema()).fields.map((f) => f.name));
  if (!names.has("cell_start_index")) return { starts: null, note: "the cells table has no cell_start_index column", nCells };
  const columns = names.has("cell_integer_id") ? ["cell_integer_id", "cell_start_index"] : ["cell_start_index"];
  const table = await cells
    .query()
    .select(columns)
    .toArrow({ maxBatchLength: SCAN_BATCH_ROWS * 8 });
  const startsCol = table.getChild("cell_start_index");
  if (!startsCol || startsCol.nullCount > 0) return { starts: null, note: "cell_start_index has missing values", nCells };
  const raw = startsCol.toArray() as ArrayLike<number | bigint>;
  const ids = (table.getChild("cell_integer_id")?.toArray() as ArrayLike<number | bigint> | undefined) ?? null;
  const why = checkCellStartIndex(ids, raw, rows);
  if (why) return { starts: null, note: why, nCells };
  const starts = new Float64Array(raw.length + 1);
  for (let c = 0; c < raw.length; c++) starts[c] = Number(raw[c]);
  starts[raw.length] = rows;
  return { starts, note: null, nCells };
}

/**
 * cell_start_index counted from the expression table's cell_integer_id column (one streaming scan). Cells without
 * rows get an empty range. Throws LOADER_DATASET_UNSUPPORTED naming the row when expression is not sorted by
 * cell or names a cell at or past `nCells` (when given).
 */
export async function cellStartIndexFromExpression(expression: lancedb.Table, rows: number, nCells: number | null): Promise<Float64Array> {
  let counts = new Float64Array(Math.max(16, nCells ?? 0));
  let row = 0;
  let last = -1;
  for await (const batch of scan(expression, "cell_integer_id")) {
    const ids = batch.getChild("cell_integer_id")?.toArray();
    if (!ids) unsupported("The expression table has no cell_integer_id column");
    for (let i = 0; i < ids.length; i++, row++) {
      const c = Number(ids[i]);
      if (c === last) {
        counts[c]++;
        continue;
      }
      if (!(c > last) || !Number.isInteger(c))
        unsupported(
          `The expression table is not sorted by cell: row ${row} holds cell ${c} after cell ${last}; the dataloader needs each cell's rows together, in cell order`,
        );
      if (nCells !== null && c >= nCells) unsupported(`The expression table's row ${row} names cell ${c}, but the cells table has ${nCells} cells`);
      if (c >= counts.length) {
        const grown = new Float64Array(Math.max(c + 1, counts.length * 2));
        grown.set(counts);
        counts = grown;
      }
      counts[c] = 1;
      last = c;
    }
  }
  if (row !== rows) unsupported(`The expression table changed while it was read (${row} rows scanned, ${rows} counted)`);
  const n = nCells ?? last + 1;
  const starts = new Float64Array(n + 1);
  for (let c = 0; c < n; c++) starts[c + 1] = starts[c] + counts[c];
  return starts;
}

/** The expression table of an open dataset as the prefetcher's workers will read it. */
export async function expressionSource(ds: OpenDataset): Promise<ExpressionSource> {
  const rel = ds.config.tables.expression;
  const expression = ds.tables.get("expression");
  const full = rel === undefined ? null : tablePath(ds.tableRoot ?? ds.root, rel);
  if (!expression || !full) unsupported(`Dataset ${ds.summary.name} has no expression table`);
  try {
    const names = new Set((await expression.schema()).fields.map((f) => f.name));
    const missing = EXPRESSION_COLUMNS.filter((c) => !names.has(c));
    if (missing.length) unsupported(`The expression table at ${full} has no ${missing.join(", ")} column`, { path: full });
    const [rows, version] = await Promise.all([expression.countRows(), expression.version()]);
    const cells = ds.tables.get("cells");
    const fromCells = cells
      ? await cellsColumn(cells, rows).catch((e: unknown) => {
          throw named(e, "cells", tablePath(ds.tableRoot ?? ds.root, ds.config.tables.cells ?? "cells.lance") ?? ds.root);
        })
      : { starts: null, note: "the dataset has no cells table", nCells: null };
    let starts = fromCells.starts;
    let note: string | undefined;
    if (!starts) {
      starts = await cellStartIndexFromExpression(expression, rows, fromCells.nCells);
      note = `cell_start_index computed from the expression table: ${fromCells.note}`;
    }
    return { tablePath: full, storageOptions: ds.storageOptions, cellStartIndex: starts, rows, version, cellStartIndexNote: note };
  } catch (e) {
    throw e instanceof AppFailure ? e : named(e, "expression", full);
  }
}
