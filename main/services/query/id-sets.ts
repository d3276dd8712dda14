/**
 * The ids a fact table's id column can take in a query's result, from the source of an id link already loaded
 * in DuckDB (a filtered `cells`/`genes`, or a named result). The set becomes what Lance can apply exactly (a few
 * ranges, or an IN list) or else a bitmap applied to each scanned batch before it is appended, with the set's
 * bounds pushed to Lance. Only the rows it removes could never have joined: the user's SQL still decides.
 */
import duckdb from "@duckdb/node-bindings";
import type { DuckDBConnection } from "@duckdb/node-api";
import { quoteIdent } from "../sql-text";
import type { CatalogColumn } from "./catalog";
import { bitmapFromIds, MAX_BITMAP_SPAN, runsOf, type IdBitmap } from "./id-bitmap";
import type { Pred } from "./pushdown";

export type IdSet =
  /** No id can match: the fact table contributes no row. */
  | { kind: "empty" }
  /** Lance applies the whole restriction. */
  | { kind: "pred"; pred: Pred }
  /** Lance applies the bounds (when they restrict anything); the bitmap is applied to each batch. */
  | { kind: "bitmap"; bounds: Pred | null; bitmap: IdBitmap };

export interface IdSource {
  /** The relation holding the ids (qualified, quoted). */
  table: string;
  /** DuckDB conditions on it (ANDed), e.g. the source reference's own predicates. */
  where: string[];
  /** The column holding the ids. */
  column: string;
}

export interface IdSetLimits {
  /** At most this many ranges go to Lance as ORed BETWEENs. */
  ranges: number;
  /** At most this many scattered ids go to Lance as an IN list (Lance then decodes other columns only for matches). */
  inList: number;
}

export const DEFAULT_ID_SET_LIMITS: IdSetLimits = { ranges: 16, inList: 4096 };
/** Bounds covering this much of the id space restrict too little to be worth a Lance filter. */
const WIDE = 0.9;

/**
 * The set, or null when it restricts nothing worth applying. `idSpan` is how many ids the target column ranges
 * over (n_cells, n_genes) when known.
 */
export async function deriveIdSet(
  conn: DuckDBConnection,
  src: IdSource,
  target: CatalogColumn,
  idSpan: number | null,
  limits: IdSetLimits = DEFAULT_ID_SET_LIMITS,
): Promise<IdSet | null> {
  if (target.kind.kind !== "int") return null;
  const col = quoteIdent(src.column);
  const where = [...src.where, `${col} BETWEEN ${target.kind.min} AND ${target.kind.max}`];
  const ids = await readIds(conn, `SELECT DISTINCT ${col}::DOUBLE FROM ${src.table} WHERE ${where.map((w) => `(${w})`).join(" AND ")}`);
  if (ids.length === 0) return { kind: "empty" };
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < ids.length; i++) {
    if (ids[i] < min) min = ids[i];
    if (ids[i] > max) max = ids[i];
  }
  const wide = idSpan !== null && max - min + 1 >= WIDE * idSpan;
  const name = target.name;
  const num = (value: number) => ({ kind: "number" as const, value });
  const bounds: Pred | null = wide ? null : { op: "between", column: name, low: num(min), high: num(max) };
  const inList = (): Pred => ({ op: "in", column: name, values: Array.from(ids.sort(), num) });
  if (max - min + 1 > MAX_BITMAP_SPAN) return ids.length <= limits.inList ? { kind: "pred", pred: inList() } : bounds && { kind: "pred", pred: bounds };
  const bitmap = bitmapFromIds(name, ids, min, max);
  const runs = runsOf(bitmap, limits.ranges);
  // Ranges when some ids are contiguous; scattered ids read better as an IN list.
  if (runs && (runs.length === 1 || runs.length < ids.length)) {
    if (runs.length === 1) return bounds && { kind: "pred", pred: bounds };
    const parts: Pred[] = runs.map(([a, b]) =>
      a === b ? { op: "cmp", column: name, cmp: "=", value: num(a) } : { op: "between", column: name, low: num(a), high: num(b) },
    );
    return { kind: "pred", pred: { op: "or", children: parts } };
  }
  if (ids.length <= limits.inList) return { kind: "pred", pred: inList() };
  return { kind: "bitmap", bounds, bitmap };
}

/** The first column of a query's rows (DOUBLE, no nulls) as one Float64Array, read chunk by chunk without boxing. */
async function readIds(conn: DuckDBConnection, sql: string): Promise<Float64Array> {
  const result = await conn.stream(sql);
  const parts: Float64Array[] = [];
  let total = 0;
  for (;;) {
    const chunk = await result.fetchChunk();
    if (!chunk || chunk.rowCount === 0) break;
    const n = chunk.rowCount;
    const bytes = duckdb.vector_get_data(duckdb.data_chunk_get_vector(chunk.chunk, 0), n * 8);
    parts.push(new Float64Array(bytes.slice().buffer, 0, n));
    total += n;
  }
  const out = new Float64Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
