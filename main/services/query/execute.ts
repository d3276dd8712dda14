/**
 * Running one planned query: scan what it needs from Lance into a fresh DuckDB schema (cells and genes first, so
 * their filtered ids can restrict expression and layers), then run the user's SQL unchanged into a result table.
 * The plan is only read: a scan widened at run time is a copy of the plan's needs.
 */
import type { DuckDBConnection } from "@duckdb/node-api";
import type * as lancedb from "@lancedb/lancedb";
import type { ScanReport } from "../../../shared/ipc/contract";
import { isAppFailure } from "../../../shared/result";
import { rethrowLanceError } from "../datasets/lance-errors";
import { fail, throwIfAborted } from "../errors";
import { qualifiedName, quoteIdent, stringLiteral } from "../sql-text";
import type { Analysis, IdLink, SlafRef, TableNeeds } from "./analyze";
import { FACT_TABLES, type CatalogColumn } from "./catalog";
import { scanColumns, type DatasetTables } from "./dataset-tables";
import type { QueryPlan } from "./engine";
import { rowBytes } from "./estimate";
import { createTable, ingestLanceScan, type IngestResult } from "./lance-to-duckdb";
import { andOf, DUCKDB, LANCE, orOfRefs, renderPred, type Pred } from "./pushdown";
import { explainError, missingColumn } from "./query-errors";

export interface RunContext {
  signal: AbortSignal;
  onRows(rowsScanned: number): void;
  /** Called when scanning is done and the SQL starts. */
  onSql?(): void;
}

export interface RunReport {
  scans: ScanReport[];
  scanMs: number;
  sqlMs: number;
}

export interface ExecuteOptions {
  /** Lance scan batch size (64k–256k). */
  batchRows?: number;
  /** How to allow SQL to read a folder, for the message when a read is refused. */
  fileAccessHint: string;
}

/** A derived restriction that no row can meet (no source ids). */
const EMPTY = "empty" as const;
const IN_LIST_MAX = 4096;

/**
 * Runs `sql` into the table `target` (schema-qualified, quoted). The text goes to DuckDB unchanged behind
 * `CREATE TABLE … AS`, and DuckDB's own statement splitter drops trailing `;` and comments, so strings and
 * comments holding `;` (E'\';', $$;$$, "a;b", -- ;) are never cut by a text scan of ours. Exactly one statement
 * must come out, or nothing runs.
 */
export async function createTableAs(conn: DuckDBConnection, target: string, sql: string, signal?: AbortSignal): Promise<void> {
  const statements = await conn.extractStatements(`CREATE OR REPLACE TABLE ${target} AS\n${sql}\n`);
  if (statements.count !== 1) fail("QUERY_INVALID", `Run one query at a time: this text holds ${statements.count} statements`);
  const prepared = await statements.prepare(0);
  if (signal) throwIfAborted(signal, "QUERY_CANCELLED");
  // A cancel that interrupts the connection before DuckDB has started the statement is lost: repeat it while the
  // statement runs, until it ends.
  const repeat = signal ? setInterval(() => signal.aborted && conn.interrupt(), 100) : undefined;
  try {
    await prepared.run();
  } finally {
    clearInterval(repeat);
  }
}

export class QueryRun {
  private readonly needs: Map<string, TableNeeds>;
  private readonly reports = new Map<string, ScanReport>();

  constructor(
    private readonly conn: DuckDBConnection,
    private readonly schema: string,
    private readonly tables: DatasetTables,
    private readonly plan: QueryPlan,
    private readonly options: ExecuteOptions,
    private readonly ctx: RunContext,
  ) {
    this.needs = new Map(plan.analysis.tables);
  }

  /** `named` maps the named results the query reads to their tables (qualified). */
  async run(resultTable: string, named: Map<string, string>): Promise<RunReport> {
    const { conn, schema, ctx } = this;
    await conn.run(`CREATE SCHEMA ${quoteIdent(schema)}`);
    for (const [name, table] of named) await conn.run(`CREATE VIEW ${qualifiedName(schema, name)} AS SELECT * FROM ${table}`);
    const t0 = performance.now();
    const order = [...this.needs.values()].sort((a, b) => Number(FACT_TABLES.has(a.table.name)) - Number(FACT_TABLES.has(b.table.name)));
    for (const needs of order) await this.scan(needs);
    const scanMs = performance.now() - t0;
    ctx.onSql?.();
    await conn.run(`SET search_path = ${stringLiteral(schema)}`);
    let sqlMs: number;
    for (let attempt = 0; ; attempt++) {
      throwIfAborted(ctx.signal, "QUERY_CANCELLED");
      const t1 = performance.now();
      try {
        await createTableAs(conn, resultTable, this.plan.parsed.sql, ctx.signal);
        sqlMs = performance.now() - t1;
        break;
      } catch (e) {
        throwIfAborted(ctx.signal, "QUERY_CANCELLED");
        if (isAppFailure(e)) throw e;
        const message = e instanceof Error ? e.message : String(e);
        // A column our analysis did not see (it errs towards reading more, but never guesses wrong silently):
        // read the tables that have it whole and run again.
        const missing = missingColumn(message);
        const widen = missing ? [...this.needs.values()].filter((n) => n.table.byLower.has(missing) && !n.columns.has(n.table.byLower.get(missing)!.name)) : [];
        if (attempt > 0 || widen.length === 0) throw explainError(message, this.plan.parsed.sql, this.plan.analysis, this.options.fileAccessHint);
        for (const needs of widen) {
          const whole: TableNeeds = { ...needs, allColumns: true, columns: new Set(needs.table.columns.map((c) => c.name)) };
          this.needs.set(needs.table.name, whole);
          await this.scan(whole);
        }
      }
    }
    return { scans: [...this.reports.values()], scanMs, sqlMs };
  }

  private async scan(needs: TableNeeds): Promise<void> {
    const name = needs.table.name;
    const restrictions: (Pred | null | typeof EMPTY)[] = [];
    for (const ref of needs.refs) restrictions.push(await this.refRestriction(ref, this.plan.analysis));
    const live = restrictions.filter((r): r is Pred | null => r !== EMPTY);
    const filterPred = orOfRefs(live);
    const columns = scanColumns(needs);
    const tableRows = this.tables.rows(name);
    const widths = await this.tables.widths(needs);
    let filter = live.length === 0 ? "false" : filterPred && renderPred(filterPred, LANCE);
    let result: IngestResult;
    if (live.length === 0) {
      // No id can match: create the empty table without reading anything.
      await createTable(this.conn, this.schema, name, columns);
      result = { rows: 0, bytes: 0 };
    } else {
      ({ result, filter } = await this.ingest(name, columns, filter));
    }
    throwIfAborted(this.ctx.signal, "QUERY_CANCELLED");
    this.reports.set(name, {
      table: name,
      columns: columns.map((c) => c.name),
      filter,
      rowsScanned: result.rows,
      bytesScanned: result.bytes,
      tableRows,
      tableBytes: Math.round(
        tableRows *
          rowBytes(
            widths,
            needs.table.columns.map((c) => c.name),
          ),
      ),
    });
  }

  /**
   * Scans into DuckDB. Lance may refuse a pushed predicate (a type it compares differently): only then is the
   * table read unfiltered (DuckDB applies the user's WHERE anyway). Damaged files and I/O errors are not retried;
   * they fail as TABLE_CORRUPT / PERMISSION_DENIED naming the table.
   */
  private async ingest(name: string, columns: CatalogColumn[], filter: string | null): Promise<{ result: IngestResult; filter: string | null }> {
    const lance = this.tables.lance(name);
    const where = { table: name, tablePath: this.tables.location(name) };
    const ingest = (f: string | null) =>
      ingestLanceScan(this.conn, this.schema, name, lance, columns, f, {
        signal: this.ctx.signal,
        batchRows: this.options.batchRows,
        onRows: (n) => this.ctx.onRows(n),
      });
    try {
      return { result: await ingest(filter), filter };
    } catch (e) {
      throwIfAborted(this.ctx.signal, "QUERY_CANCELLED");
      if (!filter || isAppFailure(e) || !(await filterRefused(lance, filter))) rethrowLanceError(e, where);
    }
    try {
      return { result: await ingest(null), filter: null };
    } catch (e) {
      throwIfAborted(this.ctx.signal, "QUERY_CANCELLED");
      rethrowLanceError(e, where);
    }
  }

  /** One reference's restriction: its predicates AND id ranges derived from already-scanned cells/genes. */
  private async refRestriction(ref: SlafRef, analysis: Analysis): Promise<Pred | null | typeof EMPTY> {
    const preds = [...ref.preds];
    for (const link of ref.links) {
      const src = analysis.refs.get(link.sourceRefId)!;
      if (src.preds.length === 0) continue;
      const target = analysis.tables.get(ref.table)!.table.byLower.get(link.column.toLowerCase())!;
      const derived = await this.deriveIds(src, link, target);
      if (derived === EMPTY) return EMPTY;
      if (derived) preds.push(derived);
    }
    return andOf(preds);
  }

  private async deriveIds(src: SlafRef, link: IdLink, target: CatalogColumn): Promise<Pred | null | typeof EMPTY> {
    const where = renderPred(andOf(src.preds)!, DUCKDB);
    if (!where || target.kind.kind !== "int") return null;
    const { min: lo, max: hi } = target.kind;
    const col = quoteIdent(link.sourceColumn);
    const table = qualifiedName(this.schema, src.table);
    const from = `${table} WHERE ${where} AND ${col} BETWEEN ${lo} AND ${hi}`;
    const stats = (
      await this.conn.runAndReadAll(
        `SELECT min(${col})::DOUBLE, max(${col})::DOUBLE, count(DISTINCT ${col})::DOUBLE, (SELECT count(*) FROM ${table})::DOUBLE FROM ${from}`,
      )
    ).getRows()[0];
    const [min, max, distinct, srcRows] = stats.map((v) => (v === null ? null : Number(v)));
    if (!distinct || min === null || max === null) return EMPTY;
    if (distinct <= IN_LIST_MAX) {
      const ids = (await this.conn.runAndReadAll(`SELECT DISTINCT ${col}::DOUBLE FROM ${from} ORDER BY 1`)).getRows().map((r) => Number(r[0]));
      return { op: "in", column: target.name, values: ids.map((v) => ({ kind: "number", value: v })) };
    }
    // A range that covers (nearly) every id restricts nothing worth a filter.
    if (srcRows !== null && max - min + 1 >= 0.9 * srcRows) return null;
    return { op: "between", column: target.name, low: { kind: "number", value: min }, high: { kind: "number", value: max } };
  }
}

/** Whether Lance refuses the filter itself (planning fails with it); a scan failing for other reasons plans fine. */
async function filterRefused(lance: lancedb.Table, filter: string): Promise<boolean> {
  try {
    await lance.query().where(filter).limit(1).explainPlan();
    return false;
  } catch {
    return true;
  }
}
