/**
 * The SQL engine: for one query, parse it with DuckDB, scan exactly the columns and rows it needs from each SLAF
 * table into a per-query DuckDB schema, then run the user's SQL unchanged into a result table. The database is
 * sandboxed (sandbox.ts); estimates are in preview.ts, execution in execute.ts, error wording in query-errors.ts.
 */
import type { DuckDBConnection } from "@duckdb/node-api";
import type { ColumnInfo, QueryPreview } from "../../../shared/ipc/contract";
import type { OpenDataset } from "../datasets/open-dataset";
import { throwIfAborted } from "../errors";
import { qualifiedName, quoteIdent } from "../sql-text";
import { analyzeQuery, type Analysis } from "./analyze";
import { ANY_INT, catalogTable, SLAF_SQL_TABLES, type Catalog, type CatalogTable, type ColumnKind, type RelationInfo, type ResolvedColumn } from "./catalog";
import { DatasetTables } from "./dataset-tables";
import { ColumnWidths } from "./estimate";
import { QueryRun, type RunContext, type RunReport } from "./execute";
import { DEFAULT_ID_SET_LIMITS, type IdSetLimits } from "./id-sets";
import { parseSql, type ParsedQuery } from "./parse";
import { mayNeedConfirmation, previewQuery, roughRows, type EstimateOptions } from "./preview";
import { DEFAULT_FILE_ACCESS_HINT } from "./query-errors";
import { closeSandbox, createSandbox, defaultMemoryLimit, type Sandbox, type SandboxOptions } from "./sandbox";
import { ScanWorkers, scanWorkerPath } from "./scan-workers";
import { canBlock } from "./scan-stream";
import { StreamSources } from "./stream-function";
import { WARM_SCHEMA, WarmTables } from "./warm-tables";
import { HeldFacts } from "./held-columns";

export type { RunContext, RunReport } from "./execute";

export const RESULTS_SCHEMA = "results";

export interface EngineOptions extends SandboxOptions, EstimateOptions {
  /** Lance scan batch size (64k–256k). */
  batchRows?: number;
  /** How a user allows SQL to read a folder, said when a read is refused. */
  fileAccessHint?: string;
  /** When ids derived from cells/genes filters or named results go to Lance as ranges or IN lists, not bitmaps. */
  idSetLimits?: Partial<IdSetLimits>;
  /** The most bytes of table columns kept loaded between queries; 0 turns it off. Default: a quarter of the memory limit. */
  warmBudgetBytes?: number;
  /** Fact tables with at least this many rows are held in memory once read twice (within the budget). Default DEFAULT_WARM_FACT_MIN_ROWS (execute.ts). */
  warmFactMinRows?: number;
  /** The scan worker bundle (default: dist/main/query-scan-worker.mjs when built); null scans on the main thread. */
  scanWorker?: string | null;
  /** Read expression as partial aggregates when a GROUP BY allows it (pre-aggregate.ts). Default true. */
  preAggregate?: boolean;
  /** Stream fact tables of local datasets into the query from a scan worker instead of appending them (stream-function.ts). Default true. */
  stream?: boolean;
  /** Only scans expected to deliver at least this many rows are streamed. Default DEFAULT_STREAM_MIN_ROWS (execute.ts). */
  streamMinRows?: number;
}

/** A named result as the planner sees it. */
export interface NamedRelation {
  name: string;
  columns: ColumnInfo[];
  rowCount: number;
}

/** How a named result's column may be compared (its predicates run in DuckDB, on the result itself). */
function relationKind(c: ColumnInfo): ColumnKind {
  switch (c.kind) {
    case "int":
      return ANY_INT;
    case "float":
      return { kind: "float", bits: 64 };
    case "string":
    case "bool":
      return { kind: c.kind };
    default:
      return { kind: "other" };
  }
}

function relationInfo(n: NamedRelation): RelationInfo {
  const byLower = new Map<string, ResolvedColumn>();
  for (const c of n.columns) {
    const key = c.name.toLowerCase();
    if (!byLower.has(key)) byLower.set(key, { name: c.name, kind: relationKind(c) });
  }
  return { name: n.name.toLowerCase(), rowCount: n.rowCount, byLower };
}

export interface QueryPlan {
  parsed: ParsedQuery;
  analysis: Analysis;
  catalog: Catalog;
}

export class SqlEngine {
  private sandboxing: Promise<Sandbox> | null = null;
  /** Table columns kept loaded between queries (null when the budget is 0). */
  readonly warm: WarmTables | null;
  /** Fact tables' warm columns, held in memory (held-columns.ts). */
  readonly held = new HeldFacts();
  private workers: ScanWorkers | null = null;
  /** The streams of running queries, read by DuckDB through `slafwb_stream` (null when streaming is off). */
  readonly streams: StreamSources | null;
  private aggregates: Promise<Set<string>> | null = null;
  private readonly schemas = new WeakMap<OpenDataset, Promise<Map<string, CatalogTable>>>();
  private readonly widths = new ColumnWidths();
  private nextSchema = 1;

  constructor(readonly options: EngineOptions) {
    const budget = options.warmBudgetBytes ?? Math.floor((options.memoryLimitBytes ?? defaultMemoryLimit()) / 4);
    // Held fact columns are warm entries too (one budget): dropping one lets go of its arrays.
    this.warm = budget > 0 ? new WarmTables(budget, (names) => this.dropWarm(names.filter((n) => !this.held.delete(n)))) : null;
    this.streams = options.stream === false || !canBlock() ? null : new StreamSources();
  }

  /** DuckDB's aggregate function names (read once). */
  private aggregateNames(conn: DuckDBConnection): Promise<Set<string>> {
    if (!this.aggregates) {
      this.aggregates = conn
        .runAndReadAll("SELECT DISTINCT lower(function_name) FROM duckdb_functions() WHERE function_type = 'aggregate'")
        .then((r) => new Set(r.getRows().map((x) => String(x[0]))));
      this.aggregates.catch(() => (this.aggregates = null));
    }
    return this.aggregates;
  }

  /** The scan workers, started on first use; null when there is no worker bundle. */
  scanWorkers(): ScanWorkers | null {
    if (!this.workers) {
      const file = this.options.scanWorker === undefined ? scanWorkerPath() : this.options.scanWorker;
      if (file) this.workers = new ScanWorkers(file);
    }
    return this.workers;
  }

  /** Lets go of what is kept for a dataset (it closed). */
  async releaseDataset(datasetId: string): Promise<void> {
    await this.warm?.releaseDataset(datasetId);
  }

  private async dropWarm(names: string[]): Promise<void> {
    if (!this.sandboxing) return;
    try {
      const conn = await this.connect();
      try {
        for (const n of names) await conn.run(`DROP TABLE IF EXISTS ${qualifiedName(WARM_SCHEMA, n)}`);
      } finally {
        conn.closeSync();
      }
    } catch {
      // The engine closed meanwhile: the tables went with it.
    }
  }

  /** The sandboxed database, created (and locked) on first use. */
  sandbox(): Promise<Sandbox> {
    if (!this.sandboxing) {
      this.sandboxing = (async () => {
        const sandbox = await createSandbox(this.options);
        const conn = await sandbox.instance.connect();
        try {
          await conn.run(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(RESULTS_SCHEMA)}`);
          await conn.run(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(WARM_SCHEMA)}`);
          this.streams?.registerFunction(conn);
        } finally {
          conn.closeSync();
        }
        return sandbox;
      })();
      this.sandboxing.catch(() => (this.sandboxing = null));
    }
    return this.sandboxing;
  }

  async connect(): Promise<DuckDBConnection> {
    return (await this.sandbox()).instance.connect();
  }

  async close(): Promise<void> {
    const pending = this.sandboxing;
    this.sandboxing = null;
    this.warm?.forget();
    this.held.clear();
    const workers = this.workers;
    this.workers = null;
    await workers?.close();
    const sandbox = pending && (await pending.catch(() => null));
    if (sandbox) closeSandbox(sandbox);
  }

  /** The SLAF tables of a dataset as SQL sees them (`cells`, `genes`, `expression`, `layers` when present). */
  async slafTables(ds: OpenDataset): Promise<Map<string, CatalogTable>> {
    let p = this.schemas.get(ds);
    if (!p) {
      p = (async () => {
        const out = new Map<string, CatalogTable>();
        for (const name of SLAF_SQL_TABLES) {
          const t = ds.tables.get(name);
          if (t) out.set(name, catalogTable(name, await t.schema()));
        }
        return out;
      })();
      this.schemas.set(ds, p);
    }
    return p;
  }

  /** `namedResults`: the names later queries may read, or what is known of them (their columns make them id sources). */
  async plan(ds: OpenDataset, sql: string, namedResults: Iterable<string | NamedRelation>): Promise<QueryPlan> {
    const named = [...namedResults].map((n) => (typeof n === "string" ? { name: n } : n));
    const relations = new Map(named.filter((n) => "columns" in n).map((n) => [n.name.toLowerCase(), relationInfo(n as NamedRelation)]));
    const catalog: Catalog = { tables: await this.slafTables(ds), namedResults: new Set(named.map((n) => n.name.toLowerCase())), relations };
    const conn = await this.connect();
    try {
      const parsed = await parseSql(conn, sql);
      return { parsed, analysis: analyzeQuery(parsed, catalog), catalog };
    } finally {
      conn.closeSync();
    }
  }

  private tables(ds: OpenDataset): DatasetTables {
    return new DatasetTables(ds, this.widths);
  }

  preview(ds: OpenDataset, plan: QueryPlan): Promise<QueryPreview> {
    return previewQuery(this.tables(ds), plan, this.options, this.warm);
  }

  /** Whether a query could be over the confirmation threshold at all: reading every row of what it needs. */
  mayNeedConfirmation(ds: OpenDataset, plan: QueryPlan): Promise<boolean> {
    return mayNeedConfirmation(this.tables(ds), plan, this.options, this.warm);
  }

  /** A cheap row estimate (no counting) for progress totals. */
  roughRows(ds: OpenDataset, plan: QueryPlan): number {
    return roughRows(this.tables(ds), plan);
  }

  /**
   * Scans what the plan needs into a fresh schema, then runs the SQL into `resultTable` (in RESULTS_SCHEMA).
   * `named` maps named-result names the query reads to their result tables. The plan is not changed.
   */
  async run(ds: OpenDataset, plan: QueryPlan, resultTable: string, named: Map<string, string>, ctx: RunContext): Promise<RunReport> {
    const conn = await this.connect();
    const schema = `q${this.nextSchema++}`;
    const onAbort = () => conn.interrupt();
    ctx.signal.addEventListener("abort", onAbort);
    try {
      const qualifiedNamed = new Map([...named].map(([name, table]) => [name, qualifiedName(RESULTS_SCHEMA, table)]));
      const run = new QueryRun(
        conn,
        schema,
        this.tables(ds),
        plan,
        {
          batchRows: this.options.batchRows,
          fileAccessHint: this.options.fileAccessHint ?? DEFAULT_FILE_ACCESS_HINT,
          idSetLimits: { ...DEFAULT_ID_SET_LIMITS, ...this.options.idSetLimits },
          warm: this.warm,
          held: this.held,
          workers: this.scanWorkers(),
          aggregates: this.options.preAggregate === false ? null : await this.aggregateNames(conn),
          streams: this.streams,
          streamMinRows: this.options.streamMinRows,
          warmFactMinRows: this.options.warmFactMinRows,
        },
        ctx,
      );
      return await run.run(qualifiedName(RESULTS_SCHEMA, resultTable), qualifiedNamed);
    } catch (e) {
      throwIfAborted(ctx.signal, "QUERY_CANCELLED");
      throw e;
    } finally {
      ctx.signal.removeEventListener("abort", onAbort);
      await conn.run(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`).catch(() => undefined);
      conn.closeSync();
    }
  }
}
