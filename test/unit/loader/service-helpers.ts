/** Reading the loader service's answers back in tests: Arrow IPC decoded with the app's own apache-arrow copy. */
import { arrow } from "../../../main/services/arrow";
import { loadPbmc } from "../../fixtures/pbmc";
import type { LoaderOptions } from "../../../shared/ipc/contract";
import { LOADER_DEFAULTS } from "../../../shared/ipc/contract";

type Table = InstanceType<typeof arrow.Table>;

export function table(bytes: Uint8Array): Table {
  return arrow.tableFromIPC(bytes) as unknown as Table;
}

/** A column as plain values (numbers, strings, booleans or null). */
export function values(t: Table, name: string): unknown[] {
  const col = t.getChild(name);
  if (!col) throw new Error(`no column ${name}; columns: ${t.schema.fields.map((f) => f.name).join(", ")}`);
  return Array.from({ length: t.numRows }, (_, i) => {
    const v = col.get(i);
    return typeof v === "bigint" ? Number(v) : v;
  });
}

/** A FixedSizeList column as one number row per table row. */
export function rows(t: Table, name: string): number[][] {
  const col = t.getChild(name);
  if (!col) throw new Error(`no column ${name}`);
  return Array.from({ length: t.numRows }, (_, i) => Array.from(col.get(i) as ArrayLike<number>));
}

export function options(over: Partial<LoaderOptions> = {}): LoaderOptions {
  return { ...LOADER_DEFAULTS, ...over };
}

/** The PBMC fixture cell behind a cell_integer_id (the fixture repeats the 160 real cells). */
export function pbmcCell(cellId: number): { genes: number[]; values: number[] } {
  const pbmc = loadPbmc();
  return pbmc.cells[cellId % pbmc.nCells];
}

/** Canonical rank order derived from the semantics alone: value descending, ties by ascending gene id. */
export function canonicalOrder(cell: { genes: number[]; values: number[] }): number[] {
  return cell.genes
    .map((g, k) => ({ g, v: cell.values[k] }))
    .filter((x) => x.v > 0)
    .sort((a, b) => b.v - a.v || a.g - b.g)
    .map((x) => x.g);
}
