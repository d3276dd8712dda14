/**
 * The one switch over Arrow data types: what kind of values a type holds, how many bytes a value takes when the
 * width is fixed, and the DuckDB type it maps to. The SQL catalog, the cost estimates, the Lance → DuckDB copier
 * and the column descriptions all read types through here.
 */
import type { ColumnInfo, ColumnTypeKind } from "../../shared/ipc/contract";
import { arrow } from "./arrow";

export type DataType = InstanceType<typeof arrow.DataType>;

export type ArrowTypeInfo =
  | { kind: "int"; bits: 8 | 16 | 32 | 64; signed: boolean }
  | { kind: "float"; bits: 16 | 32 | 64 }
  | { kind: "decimal" }
  | { kind: "bool" }
  | { kind: "string"; large: boolean }
  | { kind: "binary" }
  | { kind: "temporal"; bytes: number }
  | { kind: "fixed-list"; size: number; child: ArrowTypeInfo }
  | { kind: "list" }
  | { kind: "struct" }
  | { kind: "other" };

interface TypeFields {
  bitWidth: 8 | 16 | 32 | 64;
  isSigned: boolean;
  precision: number;
  unit: number;
  listSize: number;
  children: { type: DataType }[];
  dictionary: DataType;
}

export function arrowTypeInfo(type: DataType): ArrowTypeInfo {
  const t = arrow.Type;
  const f = type as unknown as TypeFields;
  switch (type.typeId) {
    case t.Int:
      return { kind: "int", bits: f.bitWidth, signed: f.isSigned };
    case t.Float:
      return { kind: "float", bits: f.precision === arrow.Precision.HALF ? 16 : f.precision === arrow.Precision.SINGLE ? 32 : 64 };
    case t.Decimal:
      return { kind: "decimal" };
    case t.Bool:
      return { kind: "bool" };
    case t.Utf8:
      return { kind: "string", large: false };
    case t.LargeUtf8:
      return { kind: "string", large: true };
    case t.Binary:
    case t.LargeBinary:
    case t.FixedSizeBinary:
      return { kind: "binary" };
    case t.Date:
      return { kind: "temporal", bytes: f.unit === arrow.DateUnit.DAY ? 4 : 8 };
    case t.Time:
      return { kind: "temporal", bytes: f.bitWidth / 8 };
    case t.Timestamp:
    case t.Duration:
    case t.Interval:
      return { kind: "temporal", bytes: 8 };
    case t.FixedSizeList:
      return { kind: "fixed-list", size: f.listSize, child: arrowTypeInfo(f.children[0].type) };
    case t.List:
    case t.Map:
      return { kind: "list" };
    case t.Struct:
      return { kind: "struct" };
    case t.Dictionary:
      return arrowTypeInfo(f.dictionary);
    default:
      return { kind: "other" };
  }
}

/** Bytes per value when every value has the same width (a bool is 1/8), else null. */
export function fixedWidth(info: ArrowTypeInfo): number | null {
  switch (info.kind) {
    case "int":
    case "float":
      return info.bits / 8;
    case "bool":
      return 1 / 8;
    case "temporal":
      return info.bytes;
    case "fixed-list": {
      const child = fixedWidth(info.child);
      return child === null ? null : child * info.size;
    }
    default:
      return null;
  }
}

/** The DuckDB type for a number column whose Arrow bytes can be copied as they are (memcpy), else null. */
export function duckdbNumberType(info: ArrowTypeInfo): string | null {
  if (info.kind === "int")
    return ({ 8: ["TINYINT", "UTINYINT"], 16: ["SMALLINT", "USMALLINT"], 32: ["INTEGER", "UINTEGER"], 64: ["BIGINT", "UBIGINT"] } as const)[info.bits][
      info.signed ? 0 : 1
    ];
  if (info.kind === "float") return info.bits === 32 ? "FLOAT" : info.bits === 64 ? "DOUBLE" : null;
  return null;
}

export function typeKind(info: ArrowTypeInfo): ColumnTypeKind {
  switch (info.kind) {
    case "decimal":
      return "float";
    case "fixed-list":
    case "list":
      return "list";
    default:
      return info.kind;
  }
}

export function columnTypeKind(type: DataType): ColumnTypeKind {
  return typeKind(arrowTypeInfo(type));
}

/** A column as the contract describes it (printed type for people, kinds for code). */
export function columnInfo(name: string, type: DataType, nullable: boolean): ColumnInfo {
  const info = arrowTypeInfo(type);
  const column: ColumnInfo = { name, type: String(type), kind: typeKind(info), nullable };
  if (info.kind === "fixed-list") column.fixedList = { size: info.size, item: typeKind(info.child) };
  return column;
}
