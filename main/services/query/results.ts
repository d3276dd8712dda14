/** Query results kept in DuckDB (one table each), paged out as Arrow IPC; named results per dataset. */
import type { ColumnInfo } from "../../../shared/ipc/contract";
import { fail } from "../errors";

export interface StoredResult {
  id: string;
  /** Table in the results schema. */
  table: string;
  datasetId: string;
  name: string | null;
  columns: ColumnInfo[];
  rowCount: number;
  released: boolean;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const RESERVED = new Set(["cells", "genes", "expression", "layers", "cellsxcells", "genesxgenes"]);

/** Checks a result name: an SQL identifier that is not a SLAF table name. */
export function validateName(name: string | null | undefined): string | null {
  if (name === null || name === undefined || name === "") return null;
  if (!NAME.test(name)) fail("INVALID_ARGUMENT", `"${name}" cannot name a result: use letters, digits and _ (not starting with a digit)`);
  if (RESERVED.has(name.toLowerCase())) fail("INVALID_ARGUMENT", `"${name}" is a SLAF table name; choose another name for the result`);
  return name;
}

export class ResultStore {
  private readonly results = new Map<string, StoredResult>();
  /** datasetId → lower-cased name → result id. */
  private readonly names = new Map<string, Map<string, string>>();
  private next = 1;

  allocate(): { id: string; table: string } {
    const n = this.next++;
    return { id: `r${n}`, table: `r${n}` };
  }

  add(result: StoredResult): void {
    this.results.set(result.id, result);
  }

  get(id: string): StoredResult {
    const r = this.results.get(id);
    if (!r || r.released) fail("RESULT_NOT_FOUND", `No result ${id}: it was released or the app restarted; run the query again`);
    return r;
  }

  /** Named results of a dataset: lower-cased name → result table. */
  namedTables(datasetId: string): Map<string, string> {
    const out = new Map<string, string>();
    for (const [name, id] of this.names.get(datasetId) ?? []) {
      const r = this.results.get(id);
      if (r) out.set(name, r.table);
    }
    return out;
  }

  /** Points `name` at a result; returns the table of the result it replaced if nothing else holds it. */
  setName(datasetId: string, name: string, id: string): string | null {
    let map = this.names.get(datasetId);
    if (!map) this.names.set(datasetId, (map = new Map()));
    const key = name.toLowerCase();
    const previous = map.get(key);
    map.set(key, id);
    if (!previous || previous === id) return null;
    const old = this.results.get(previous);
    if (old) old.name = null;
    return old?.released ? this.forget(previous) : null;
  }

  /** Marks a result released; returns its table to drop unless a name still refers to it. */
  release(id: string): string | null {
    const r = this.results.get(id);
    if (!r) return null;
    r.released = true;
    const named = [...(this.names.get(r.datasetId)?.values() ?? [])].includes(id);
    return named ? null : this.forget(id);
  }

  private forget(id: string): string | null {
    const r = this.results.get(id);
    this.results.delete(id);
    return r ? r.table : null;
  }
}
