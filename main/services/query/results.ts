/**
 * Query results kept in DuckDB (one table each), paged out as Arrow IPC; named results per dataset.
 *
 * Results nobody released share a memory budget: when a new result brings the total over it, the results used
 * least recently are evicted (their tables dropped) until it fits; unnamed results go before named ones, since
 * later queries may read a named result. The newest result and results in use (being paged, exported or read by
 * a running query) are never evicted. An evicted result answers RESULT_NOT_FOUND saying why.
 */
import { formatBytes } from "../../../shared/format";
import type { ColumnInfo } from "../../../shared/ipc/contract";
import { fail } from "../errors";
import type { RowSizing } from "./result-size";

export interface StoredResult {
  id: string;
  /** Table in the results schema. */
  table: string;
  datasetId: string;
  name: string | null;
  columns: ColumnInfo[];
  rowCount: number;
  /** Estimated bytes of the table (result-size.ts). */
  bytes: number;
  sizing: RowSizing;
  released: boolean;
  evicted: boolean;
  lastUsed: number;
  /** Operations using the table right now: never evicted while > 0. */
  inUse: number;
}

export type NewResult = Omit<StoredResult, "released" | "evicted" | "lastUsed" | "inUse">;

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
  private clock = 0;

  /** `budgetBytes`: the most the unreleased results may hold together before the least recently used go. */
  constructor(readonly budgetBytes: number) {}

  allocate(): { id: string; table: string } {
    const n = this.next++;
    return { id: `r${n}`, table: `r${n}` };
  }

  /** Stores a new result; returns the tables of the results evicted to make room (to drop). */
  add(result: NewResult): string[] {
    this.results.set(result.id, { ...result, released: false, evicted: false, lastUsed: ++this.clock, inUse: 0 });
    return this.evictOver(result.id);
  }

  get(id: string): StoredResult {
    const r = this.results.get(id);
    if (!r || r.released) fail("RESULT_NOT_FOUND", `No result ${id}: it was released or the app restarted; run the query again`);
    if (r.evicted) fail("RESULT_NOT_FOUND", evictedMessage(r));
    r.lastUsed = ++this.clock;
    return r;
  }

  /** Runs `body` with the result's table held: it is not evicted meanwhile. */
  async use<T>(id: string, body: (r: StoredResult) => Promise<T>): Promise<T> {
    const r = this.get(id);
    r.inUse++;
    try {
      return await body(r);
    } finally {
      r.inUse--;
    }
  }

  /** Named results of a dataset by lower-cased name, evicted ones included (so a query naming one is told why it is gone). */
  named(datasetId: string): Map<string, StoredResult> {
    const out = new Map<string, StoredResult>();
    for (const [name, id] of this.names.get(datasetId) ?? []) {
      const r = this.results.get(id);
      if (r) out.set(name, r);
    }
    return out;
  }

  /** Holds the named results a query reads (lower-cased names): name → table. Fails for one that was evicted. */
  holdNamed(datasetId: string, names: string[]): { tables: Map<string, string>; release(): void } {
    const all = this.named(datasetId);
    const held = names.map((n) => [n, all.get(n)] as const).filter((e): e is readonly [string, StoredResult] => Boolean(e[1]));
    for (const [, r] of held) {
      if (r.evicted) fail("RESULT_NOT_FOUND", `${evictedMessage(r)} (the query reads it as "${r.name ?? r.id}")`);
    }
    for (const [, r] of held) {
      r.inUse++;
      r.lastUsed = ++this.clock;
    }
    let released = false;
    return {
      tables: new Map(held.map(([n, r]) => [n, r.table])),
      release: () => {
        if (released) return;
        released = true;
        for (const [, r] of held) r.inUse--;
      },
    };
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
    if (old?.evicted) this.results.delete(previous);
    return old?.released ? this.forget(previous) : null;
  }

  /**
   * Forgets a result and any name pointing at it (the cell that named it let it go: a later `FROM name` must not
   * read a notebook's old output); returns its table to drop, if it is still in DuckDB.
   */
  release(id: string): string | null {
    const r = this.results.get(id);
    if (!r) return null;
    const names = this.names.get(r.datasetId);
    for (const [key, named] of names ?? []) if (named === id) names!.delete(key);
    this.results.delete(id);
    return r.evicted ? null : r.table;
  }

  /** Estimated bytes of every result still held in DuckDB. */
  heldBytes(): number {
    let sum = 0;
    for (const r of this.results.values()) if (!r.evicted) sum += r.bytes;
    return sum;
  }

  private evictOver(newest: string): string[] {
    let total = this.heldBytes();
    if (total <= this.budgetBytes) return [];
    const namedIds = new Set([...this.names.values()].flatMap((m) => [...m.values()]));
    const candidates = [...this.results.values()]
      .filter((r) => !r.evicted && r.id !== newest && r.inUse === 0)
      .sort((a, b) => Number(namedIds.has(a.id)) - Number(namedIds.has(b.id)) || a.lastUsed - b.lastUsed);
    const dropped: string[] = [];
    for (const r of candidates) {
      if (total <= this.budgetBytes) break;
      total -= r.bytes;
      dropped.push(r.table);
      // A released result that nothing names is simply gone; others stay as a note of why they are gone.
      if (r.released && !namedIds.has(r.id)) this.results.delete(r.id);
      else r.evicted = true;
    }
    return dropped;
  }

  private forget(id: string): string | null {
    const r = this.results.get(id);
    this.results.delete(id);
    return r ? r.table : null;
  }
}

function evictedMessage(r: StoredResult): string {
  return `Result ${r.name ? `"${r.name}"` : r.id} was evicted to keep query results within memory (${formatBytes(r.bytes)}, not used recently); run its cell again`;
}
