/** Arrow IPC pages from main → display strings for the grid. */
import { tableFromIPC, type Table } from "apache-arrow";

export type CellValue = string | null;

export function decodePage(bytes: Uint8Array): Table {
  return tableFromIPC(bytes);
}

export function formatValue(v: unknown): CellValue {
  if (v === null || v === undefined) return null;
  if (typeof v === "bigint") return v.toString();
  if (typeof v === "number") {
    if (Number.isInteger(v)) return String(v);
    if (!Number.isFinite(v)) return String(v);
    const abs = Math.abs(v);
    return abs !== 0 && (abs < 1e-4 || abs >= 1e7) ? v.toExponential(4) : String(Number(v.toPrecision(6)));
  }
  if (typeof v === "boolean") return v ? "true" : "false";
  if (typeof v === "string") return v;
  if (v instanceof Date) return v.toISOString();
  if (typeof v === "object" && v !== null && Symbol.iterator in v) {
    const items = [...(v as Iterable<unknown>)].map((x) => formatValue(x) ?? "null");
    return `[${items.slice(0, 16).join(", ")}${items.length > 16 ? ", …" : ""}]`;
  }
  if (typeof v === "object" && v !== null && "toJSON" in v) return JSON.stringify(v);
  return String(v);
}

/** Rows of the table as display strings, column order as in `names`. */
export function tableRows(table: Table, names: string[]): CellValue[][] {
  const vectors = names.map((n) => table.getChild(n));
  const rows: CellValue[][] = [];
  for (let i = 0; i < table.numRows; i++) rows.push(vectors.map((vec) => (vec ? formatValue(vec.get(i)) : null)));
  return rows;
}
