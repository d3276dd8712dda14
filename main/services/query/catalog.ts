/** What the SQL engine knows about a dataset's SLAF tables: names, Arrow fields, and how each column may be filtered. */
import { arrow } from "../arrow";

type DataType = InstanceType<typeof arrow.DataType>;

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

export interface Catalog {
  /** SLAF tables by lower-cased name. */
  tables: Map<string, CatalogTable>;
  /** Named results of earlier queries, by lower-cased name. */
  namedResults: Set<string>;
}

export function columnKind(type: DataType): ColumnKind {
  const t = arrow.Type;
  switch (type.typeId) {
    case t.Int: {
      const { bitWidth, isSigned } = type as unknown as { bitWidth: number; isSigned: boolean };
      const max = isSigned ? 2 ** (bitWidth - 1) - 1 : 2 ** bitWidth - 1;
      const min = isSigned ? -(2 ** (bitWidth - 1)) : 0;
      // Constants beyond 2^53 are not pushed (JSON numbers lose precision there).
      return { kind: "int", min: Math.max(min, -(2 ** 53)), max: Math.min(max, 2 ** 53), bits: bitWidth, signed: isSigned };
    }
    case t.Float: {
      const precision = (type as unknown as { precision: number }).precision;
      return precision === arrow.Precision.SINGLE ? { kind: "float", bits: 32 } : precision === arrow.Precision.DOUBLE ? { kind: "float", bits: 64 } : { kind: "other" };
    }
    case t.Utf8:
    case t.LargeUtf8:
      return { kind: "string" };
    case t.Bool:
      return { kind: "bool" };
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
