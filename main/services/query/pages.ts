/**
 * One page of a result table as Arrow IPC, capped by rows (MAX_PAGE_ROWS) and by bytes (`maxBytes`): wide rows
 * give fewer rows, and `numRows` says how many came. Row sizes are computed in DuckDB first, so a page of huge
 * strings is never read into JS only to be cut. A single row larger than the cap comes alone, whole.
 */
import type { DuckDBConnection } from "@duckdb/node-api";
import { MAX_PAGE_ROWS, type RowPage } from "../../../shared/ipc/contract";
import { readerToIpc } from "./arrow-out";
import { rowsWithin, type RowSizing } from "./result-size";

export interface PageRequest {
  offset: number;
  limit: number;
}

export function clampPage(req: { offset: unknown; limit: unknown }): PageRequest {
  const offset = Math.max(0, Math.floor(Number(req.offset) || 0));
  const limit = Math.min(MAX_PAGE_ROWS, Math.max(0, Math.floor(Number(req.limit) || 0)));
  return { offset, limit };
}

/** How many rows from `offset` fit the byte cap, out of `limit`. */
async function rowsThatFit(conn: DuckDBConnection, table: string, sizing: RowSizing, { offset, limit }: PageRequest, maxBytes: number): Promise<number> {
  if (limit === 0) return 0;
  if (!sizing.variable) return Math.min(limit, Math.max(1, Math.floor(maxBytes / sizing.fixed)));
  const reader = await conn.runAndReadAll(`SELECT (${sizing.variable})::DOUBLE FROM ${table} LIMIT ${limit} OFFSET ${offset}`);
  return rowsWithin(
    reader.getRows().map((r) => sizing.fixed + Number(r[0] ?? 0)),
    maxBytes,
  );
}

export async function readPage(
  conn: DuckDBConnection,
  table: string,
  sizing: RowSizing,
  totalRows: number,
  req: PageRequest,
  maxBytes: number,
): Promise<RowPage> {
  const n = await rowsThatFit(conn, table, sizing, req, maxBytes);
  const reader = await conn.runAndReadAll(`SELECT * FROM ${table} LIMIT ${n} OFFSET ${req.offset}`);
  return { offset: req.offset, numRows: reader.currentRowCount, totalRows, arrow: readerToIpc(reader) };
}
