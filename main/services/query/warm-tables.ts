/**
 * Tables kept loaded in DuckDB between queries, per dataset and table version, so a notebook of joins does not
 * read them from Lance again: `cells` and `genes`, and large fact tables once read twice (execute.ts decides). Each warm table holds every row of the columns loaded
 * so far (and of the columns a load prefers, such as every column of a fact table, when they fit the budget); a
 * query that needs a column it lacks loads the union again into a new table, which replaces it. A
 * query that filters the table loads it whole only once an earlier query has read that table (a one-off query
 * keeps its filtered scan).
 *
 * Bytes are estimated like scans (Arrow bytes). Together they stay within a budget: the least recently used go
 * first; a table is never dropped while a running query reads it (it is retired and dropped when that query ends).
 * Everything of a dataset goes when the dataset closes.
 */

export const WARM_SCHEMA = "warm";

interface WarmEntry {
  /** Table name in WARM_SCHEMA. */
  name: string;
  key: string;
  columns: Set<string>;
  bytes: number;
  users: number;
  lastUsed: number;
  retired: boolean;
}

/** A warm table held by one query: read it, then release it. */
export interface WarmLease {
  /** The table's name in WARM_SCHEMA. */
  name: string;
  /** Whether this query loaded it (else it was already warm). */
  loaded: boolean;
  release(): void;
}

export interface WarmRequest {
  /** Dataset, table version and table: `ds3@12/cells`. */
  key: string;
  /** Columns the query needs. */
  columns: string[];
  /** More columns to load along when a load is due and they fit the budget (a later query then need not load again). */
  prefer?: string[];
  /** Whether the query would scan the table with a filter (then it loads every row only for a table read before). */
  filtered: boolean;
  /** Estimated bytes of a table holding these columns (every row). */
  bytesOf(columns: string[]): number;
  /** Fills a new table `name` (in WARM_SCHEMA) with these columns, every row. */
  load(name: string, columns: string[]): Promise<void>;
}

export class WarmTables {
  private readonly entries = new Map<string, WarmEntry>();
  private readonly queues = new Map<string, Promise<unknown>>();
  /** Keys some query has asked for. */
  private readonly seen = new Set<string>();
  private next = 1;
  private clock = 0;

  /** `drop` removes tables (names in WARM_SCHEMA) from DuckDB; it must not throw. */
  constructor(
    readonly budgetBytes: number,
    private readonly drop: (names: string[]) => Promise<void>,
  ) {}

  /**
   * A warm table with the request's columns (loading it if needed), or null when they do not fit the budget
   * (the caller then scans as usual). Requests for one key run one at a time.
   */
  use(req: WarmRequest): Promise<WarmLease | null> {
    const previous = this.queues.get(req.key) ?? Promise.resolve();
    const run = previous.catch(() => undefined).then(() => this.useNow(req));
    const tail = run.catch(() => undefined);
    this.queues.set(req.key, tail);
    void tail.then(() => {
      if (this.queues.get(req.key) === tail) this.queues.delete(req.key);
    });
    return run;
  }

  /** Drops every warm table of a dataset (those in use when their queries end). */
  async releaseDataset(datasetId: string): Promise<void> {
    const mine = [...this.entries.values()].filter((e) => e.key.startsWith(`${datasetId}@`));
    for (const key of [...this.seen]) if (key.startsWith(`${datasetId}@`)) this.seen.delete(key);
    await this.retire(mine);
  }

  /** Drops every warm table (those in use when their queries end). */
  async clear(): Promise<void> {
    await this.retire([...this.entries.values()]);
  }

  /** Forgets every warm table without dropping it (the database they were in is gone). */
  forget(): void {
    this.entries.clear();
    this.seen.clear();
  }

  /** Estimated bytes of the current warm tables (retired ones still being read are not counted). */
  heldBytes(): number {
    let sum = 0;
    for (const e of this.entries.values()) sum += e.bytes;
    return sum;
  }

  /** Whether these columns of `key` are warm now (a query on them reads no table). */
  holds(key: string, columns: string[]): boolean {
    const e = this.entries.get(key);
    return !!e && columns.every((c) => e.columns.has(c));
  }

  /** What is warm now, for tests and reports: key → columns. */
  snapshot(): Map<string, string[]> {
    return new Map([...this.entries.values()].map((e) => [e.key, [...e.columns].sort()]));
  }

  private async useNow(req: WarmRequest): Promise<WarmLease | null> {
    const current = this.entries.get(req.key);
    if (current && req.columns.every((c) => current.columns.has(c))) return this.lease(current, false);
    const first = !this.seen.has(req.key);
    this.seen.add(req.key);
    if (req.filtered && first) return null;
    // The widest choice that fits: with the preferred columns, with what is warm already, or just what is asked.
    const choices = [[...(current?.columns ?? []), ...req.columns, ...(req.prefer ?? [])], [...(current?.columns ?? []), ...req.columns], req.columns].map(
      (c) => [...new Set(c)],
    );
    const columns = choices.find((c) => req.bytesOf(c) <= this.budgetBytes);
    if (!columns) return null;
    const bytes = req.bytesOf(columns);
    await this.makeRoom(bytes, current);
    const entry: WarmEntry = { name: `t${this.next++}`, key: req.key, columns: new Set(columns), bytes, users: 0, lastUsed: ++this.clock, retired: false };
    try {
      await req.load(entry.name, columns);
    } catch (e) {
      await this.drop([entry.name]);
      throw e;
    }
    if (current) await this.retire([current]);
    this.entries.set(req.key, entry);
    return this.lease(entry, true);
  }

  private lease(entry: WarmEntry, loaded: boolean): WarmLease {
    entry.users++;
    entry.lastUsed = ++this.clock;
    let released = false;
    return {
      name: entry.name,
      loaded,
      release: () => {
        if (released) return;
        released = true;
        entry.users--;
        if (entry.retired && entry.users === 0) void this.drop([entry.name]);
      },
    };
  }

  /** Retires the least recently used tables (other than `replacing`, which goes anyway) until `bytes` more fit. */
  private async makeRoom(bytes: number, replacing: WarmEntry | undefined): Promise<void> {
    let total = this.heldBytes() - (replacing?.bytes ?? 0);
    const victims: WarmEntry[] = [];
    for (const e of [...this.entries.values()].filter((x) => x !== replacing).sort((a, b) => a.lastUsed - b.lastUsed)) {
      if (total + bytes <= this.budgetBytes) break;
      victims.push(e);
      total -= e.bytes;
    }
    await this.retire(victims);
  }

  private async retire(entries: WarmEntry[]): Promise<void> {
    const now: string[] = [];
    for (const e of entries) {
      if (this.entries.get(e.key) === e) this.entries.delete(e.key);
      if (e.retired) continue;
      e.retired = true;
      if (e.users === 0) now.push(e.name);
    }
    if (now.length) await this.drop(now);
  }
}
