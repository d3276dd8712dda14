/** What the SQL engine knows about a dataset's SLAF tables: names, Arrow fields, and how each column may be filtered. */
import { arrowTypeInfo, type DataType } from "../arrow-types";

/** The tables SLAF registers for SQL (slaf-format.md §3.1). */
export const SLAF_SQL_TABLES = ["cells", "genes", "expression", "layers"] as const;
/** Tables with one row per (cell, gene): a filter on cells or genes implies an id filter on them. */
export const FACT_TABLES = new Set(["expression", "layers"]);

export type ColumnKind =
  | { kind: "int"; min: number; max: number; bits: number; signed: boolean }
  | { kind: "float"; bits: 32 | 64 }
  | { kind: "string" }
  | { kind: "bool" }
  | { kind: "other" };

export interface CatalogColumn {
  name: string;
  type: DataType;
  kind: ColumnKind;
}

export interface CatalogTable {
  name: string;
  columns: CatalogColumn[];
  /** Lower-cased column name → column (DuckDB identifiers are case-insensitive, Lance's are not). */
  byLower: Map<string, CatalogColumn>;
}

/** A column as the analysis needs it: its actual name and how it may be compared. */
export type ResolvedColumn = Pick<CatalogColumn, "name" | "kind">;

/** A relation other than a SLAF table that holds ids a fact table can be restricted to (a named result). */
export interface RelationInfo {
  name: string;
  rowCount: number;
  /** Lower-cased column name → column; integer columns have kind "int" (their range unknown: ±2^53). */
  byLower: Map<string, ResolvedColumn>;
}

export interface Catalog {
  /** SLAF tables by lower-cased name. */
  tables: Map<string, CatalogTable>;
  /** Named results of earlier queries, by lower-cased name. */
  namedResults: Set<string>;
  /** What is known of those named results' columns (lower-cased name → info): id links may start from them. */
  relations?: Map<string, RelationInfo>;
}

/** An integer column of a relation whose exact range is not known here. */
export const ANY_INT: ColumnKind = { kind: "int", min: -(2 ** 53), max: 2 ** 53, bits: 64, signed: true };

export function columnKind(type: DataType): ColumnKind {
  const info = arrowTypeInfo(type);
  switch (info.kind) {
    case "int": {
      const { bits, signed } = info;
      const max = signed ? 2 ** (bits - 1) - 1 : 2 ** bits - 1;
      const min = signed ? -(2 ** (bits - 1)) : 0;
      // Constants beyond 2^53 are not pushed (JSON numbers lose precision there).
      return { kind: "int", min: Math.max(min, -(2 ** 53)), max: Math.min(max, 2 ** 53), bits, signed };
    }
    case "float":
      return info.bits === 16 ? { kind: "other" } : { kind: "float", bits: info.bits };
    case "string":
    case "bool":
      return { kind: info.kind };
    default:
      return { kind: "other" };
  }
}

export function catalogTable(name: string, schema: { fields: { name: string; type: DataType }[] }): CatalogTable {
  const columns = schema.fields.map((f) => ({ name: f.name, type: f.type, kind: columnKind(f.type) }));
  const byLower = new Map<string, CatalogColumn>();
  for (const c of columns) if (!byLower.has(c.name.toLowerCase())) byLower.set(c.name.toLowerCase(), c);
  return { name, columns, byLower };
}
