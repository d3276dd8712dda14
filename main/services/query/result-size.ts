/**
 * How many bytes the rows of a DuckDB result take, computed inside DuckDB before any row is read into JS: a
 * fixed part per row, plus an SQL expression for the variable part (strings, blobs, lists). Pages stop at a byte
 * cap with it, and the result store keeps its memory budget with it. Sizes are Arrow-like (values + offsets), an
 * estimate, never an exact count of DuckDB's own memory.
 */
import { DuckDBTypeId, type DuckDBConnection, type DuckDBType } from "@duckdb/node-api";
import { quoteIdent, stringLiteral } from "../sql-text";

export interface RowSizing {
  /** Bytes every row takes. */
  fixed: number;
  /** An SQL expression for the bytes of a row beyond `fixed`, or null when every row has the same size. */
  variable: string | null;
}

/** The size of one value: a number when fixed, else an SQL expression over `expr`. */
function valueSize(expr: string, t: DuckDBType): number | string {
  switch (t.typeId) {
    case DuckDBTypeId.BOOLEAN:
    case DuckDBTypeId.TINYINT:
    case DuckDBTypeId.UTINYINT:
      return 1;
    case DuckDBTypeId.SMALLINT:
    case DuckDBTypeId.USMALLINT:
      return 2;
    case DuckDBTypeId.INTEGER:
    case DuckDBTypeId.UINTEGER:
    case DuckDBTypeId.FLOAT:
    case DuckDBTypeId.DATE:
      return 4;
    case DuckDBTypeId.VARCHAR:
      return `coalesce(strlen(${expr}), 0) + 4`;
    case DuckDBTypeId.BLOB:
      return `coalesce(octet_length(${expr}), 0) + 4`;
    case DuckDBTypeId.ARRAY: {
      const child = valueSize("x", t.valueType);
      if (typeof child === "number") return child * t.length;
      return `coalesce(strlen(CAST(${expr} AS VARCHAR)), 0)`;
    }
    case DuckDBTypeId.LIST: {
      const child = valueSize("x", t.valueType);
      if (typeof child === "number") return `coalesce(len(${expr}), 0) * ${child} + 4`;
      return `coalesce(strlen(CAST(${expr} AS VARCHAR)), 0) + 4`;
    }
    case DuckDBTypeId.STRUCT: {
      const parts = t.entryNames.map((n, i) => valueSize(`struct_extract(${expr}, ${stringLiteral(n)})`, t.entryTypes[i]));
      if (parts.every((p) => typeof p === "number")) return (parts as number[]).reduce((a, b) => a + b, 0);
      return `coalesce(strlen(CAST(${expr} AS VARCHAR)), 0)`;
    }
    case DuckDBTypeId.MAP:
    case DuckDBTypeId.UNION:
    case DuckDBTypeId.VARIANT:
      return `coalesce(strlen(CAST(${expr} AS VARCHAR)), 0)`;
    default:
      // 8-byte numbers, timestamps, decimals, hugeints (sent as doubles); intervals, UUIDs and the like (sent as short text).
      return 8;
  }
}

export function rowSizing(names: string[], types: DuckDBType[]): RowSizing {
  let fixed = 0;
  const variable: string[] = [];
  names.forEach((name, i) => {
    const size = valueSize(quoteIdent(name), types[i]);
    if (typeof size === "number") fixed += size;
    else variable.push(`(${size})`);
  });
  return { fixed: Math.max(1, fixed), variable: variable.length ? variable.join(" + ") : null };
}

/**
 * How many of `sizes` (bytes per row, in order) fit in `cap`: at least one, so a row larger than the cap comes
 * alone, whole (rows are never cut: CSV and JSON output page through the same path).
 */
export function rowsWithin(sizes: Iterable<number>, cap: number): number {
  let n = 0;
  let total = 0;
  for (const s of sizes) {
    if (n > 0 && total + s > cap) break;
    total += s;
    n++;
  }
  return n;
}

/** Estimated bytes of a whole table of `rows` rows (one aggregate pass when rows vary in size). */
export async function tableBytes(conn: DuckDBConnection, table: string, sizing: RowSizing, rows: number): Promise<number> {
  if (!sizing.variable || rows === 0) return sizing.fixed * rows;
  const reader = await conn.runAndReadAll(`SELECT coalesce(sum(${sizing.variable}), 0)::DOUBLE FROM ${table}`);
  return sizing.fixed * rows + Number(reader.getRows()[0][0]);
}
