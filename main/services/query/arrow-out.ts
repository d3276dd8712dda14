/** DuckDB result pages → Arrow IPC stream bytes (at most one page at a time). */
import { DuckDBTypeId, type DuckDBResultReader, type DuckDBType } from "@duckdb/node-api";
import type { ColumnInfo } from "../../../shared/ipc/contract";
import { arrow } from "../arrow";
import { columnInfo } from "../arrow-types";

type DataType = InstanceType<typeof arrow.DataType>;
type Convert = (v: unknown) => unknown;

interface ArrowColumn {
  type: DataType;
  convert: Convert;
}

const id = (v: unknown) => v;
const toNumber = (v: unknown) => (v === null || v === undefined ? null : Number(v));
const toText = (v: unknown): unknown =>
  v === null || v === undefined ? null : typeof v === "string" ? v : JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? x.toString() : x));
const toMillis = (v: unknown) => (v instanceof Date ? v.getTime() : v === null || v === undefined ? null : Number(v));

/** The Arrow type a DuckDB column is shipped as, and how each JS value is converted. */
export function arrowColumn(t: DuckDBType): ArrowColumn {
  const A = arrow;
  switch (t.typeId) {
    case DuckDBTypeId.BOOLEAN:
      return { type: new A.Bool(), convert: id };
    case DuckDBTypeId.TINYINT:
      return { type: new A.Int8(), convert: id };
    case DuckDBTypeId.SMALLINT:
      return { type: new A.Int16(), convert: id };
    case DuckDBTypeId.INTEGER:
      return { type: new A.Int32(), convert: id };
    case DuckDBTypeId.BIGINT:
      return { type: new A.Int64(), convert: id };
    case DuckDBTypeId.UTINYINT:
      return { type: new A.Uint8(), convert: id };
    case DuckDBTypeId.USMALLINT:
      return { type: new A.Uint16(), convert: id };
    case DuckDBTypeId.UINTEGER:
      return { type: new A.Uint32(), convert: id };
    case DuckDBTypeId.UBIGINT:
      return { type: new A.Uint64(), convert: id };
    case DuckDBTypeId.FLOAT:
      return { type: new A.Float32(), convert: id };
    case DuckDBTypeId.DOUBLE:
    case DuckDBTypeId.DECIMAL:
    case DuckDBTypeId.HUGEINT:
    case DuckDBTypeId.UHUGEINT:
      return { type: new A.Float64(), convert: toNumber };
    case DuckDBTypeId.VARCHAR:
      return { type: new A.Utf8(), convert: id };
    case DuckDBTypeId.BLOB:
      return { type: new A.Binary(), convert: id };
    case DuckDBTypeId.DATE:
      return { type: new A.DateMillisecond(), convert: toMillis };
    case DuckDBTypeId.TIMESTAMP:
    case DuckDBTypeId.TIMESTAMP_S:
    case DuckDBTypeId.TIMESTAMP_MS:
    case DuckDBTypeId.TIMESTAMP_NS:
      return { type: new A.TimestampMillisecond(), convert: toMillis };
    case DuckDBTypeId.ARRAY: {
      const child = arrowColumn(t.valueType);
      return {
        type: new A.FixedSizeList(t.length, new A.Field("item", child.type, true)),
        convert: (v) => (Array.isArray(v) ? v.map(child.convert) : null),
      };
    }
    case DuckDBTypeId.LIST: {
      const child = arrowColumn(t.valueType);
      return { type: new A.List(new A.Field("item", child.type, true)), convert: (v) => (Array.isArray(v) ? v.map(child.convert) : null) };
    }
    case DuckDBTypeId.STRUCT: {
      const children = t.entryTypes.map(arrowColumn);
      return {
        type: new A.Struct(t.entryNames.map((n, i) => new A.Field(n, children[i].type, true))),
        convert: (v) => {
          if (!v || typeof v !== "object") return null;
          const out: Record<string, unknown> = {};
          t.entryNames.forEach((n, i) => (out[n] = children[i].convert((v as Record<string, unknown>)[n])));
          return out;
        },
      };
    }
    default:
      return { type: new A.Utf8(), convert: toText };
  }
}

export function describeColumns(names: string[], types: DuckDBType[]): ColumnInfo[] {
  return names.map((name, i) => columnInfo(name, arrowColumn(types[i]).type, true));
}

/** Arrow IPC stream bytes of a read page (column order and duplicate names kept). */
export function readerToIpc(reader: DuckDBResultReader): Uint8Array {
  const names = reader.columnNames();
  const types = reader.columnTypes();
  const columns = reader.getColumnsJS();
  const rows = reader.currentRowCount;
  const fields: InstanceType<typeof arrow.Field>[] = [];
  const datas: InstanceType<typeof arrow.Data>[] = [];
  names.forEach((name, i) => {
    const col = arrowColumn(types[i]);
    const raw = (columns[i] ?? []) as unknown[];
    const values = col.convert === id ? raw : raw.map(col.convert);
    const vector = arrow.vectorFromArray(values as never[], col.type as never);
    fields.push(new arrow.Field(name, col.type, true));
    datas.push(vector.data[0] ?? arrow.makeData({ type: col.type as never, length: 0 } as never));
  });
  const schema = new arrow.Schema(fields);
  const struct = arrow.makeData({ type: new arrow.Struct(fields), length: rows, nullCount: 0, children: datas as never });
  const batch = new arrow.RecordBatch(schema, struct as never);
  return arrow.tableToIPC(new arrow.Table(schema, [batch]), "stream");
}
