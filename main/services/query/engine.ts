/**
 * The SQL engine: for one query, parse it with DuckDB, scan exactly the columns and rows it needs from each SLAF
 * table into a per-query DuckDB schema, then run the user's SQL unchanged into a result table.
 */
import fs from "node:fs";
import { DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api";
import type * as lancedb from "@lancedb/lancedb";
import type { QueryPreview, ScanEstimate, ScanReport } from "../../../shared/ipc/contract";
import { AppFailure } from "../../../shared/result";
import { fail, throwIfAborted } from "../errors";
import type { OpenDataset } from "../datasets/open-dataset";
import { analyzeQuery, type Analysis, type IdLink, type SlafRef, type TableNeeds } from "./analyze";
import { catalogTable, FACT_TABLES, SLAF_SQL_TABLES, type Catalog, type CatalogColumn, type CatalogTable } from "./catalog";
import { ColumnWidths, rowBytes, selectivity } from "./estimate";
import { createTable, ingestLanceScan, quoteIdent } from "./lance-to-duckdb";
import { describeDuckError, parseSql, withoutStatementTerminators, type ParsedQuery } from "./parse";
import { andOf, DUCKDB, LANCE, orOfRefs, renderPred, type Pred } from "./pushdown";

export const RESULTS_SCHEMA = "results";

export interface EngineOptions {
  tempDir: string;
  /** DuckDB memory_limit, e.g. "4GB"; DuckDB spills to tempDir beyond it. Default: DuckDB's (80% of RAM). */
  memoryLimit?: string;
  /** Estimated bytes above which a query needs `confirmed: true`: local datasets. */
  confirmBytes?: number;
  /** Same, for remote datasets (hf://, s3://). */
  confirmBytesRemote?: number;
  /** Lance scan batch size (64k–256k). */
  batchRows?: number;
  /** Tables up to this many rows are counted exactly (countRows with the filter) for previews, when local. */
  exactCountRows?: number;
}

export interface QueryPlan {
  parsed: ParsedQuery;
  analysis: Analysis;
  catalog: Catalog;
}

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

/** A derived restriction that no row can meet (no source ids). */
const EMPTY = "empty" as const;
const IN_LIST_MAX = 4096;
const DEFAULT_CONFIRM = 2 * 1024 ** 3;
const DEFAULT_CONFIRM_REMOTE = 256 * 1024 ** 2;

export class SqlEngine {
  private instance: Promise<DuckDBInstance> | null = null;
  private readonly schemas = new WeakMap<OpenDataset, Promise<Map<string, CatalogTable>>>();
  private readonly widths = new ColumnWidths();
  private nextSchema = 1;

  constructor(readonly options: EngineOptions) {}

  private db(): Promise<DuckDBInstance> {
    if (!this.instance) {
      this.instance = (async () => {
        fs.mkdirSync(this.options.tempDir, { recursive: true });
        const config: Record<string, string> = { temp_directory: this.options.tempDir };
        if (this.options.memoryLimit) config.memory_limit = this.options.memoryLimit;
        const inst = await DuckDBInstance.create(":memory:", config);
        const conn = await inst.connect();
        try {
          await conn.run(`CREATE SCHEMA IF NOT EXISTS ${RESULTS_SCHEMA}`);
        } finally {
          conn.closeSync();
        }
        return inst;
      })();
    }
    return this.instance;
  }

  async connect(): Promise<DuckDBConnection> {
    return (await this.db()).connect();
  }

  async close(): Promise<void> {
    const inst = this.instance;
    this.instance = null;
    if (inst) (await inst).closeSync();
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

  async plan(ds: OpenDataset, sql: string, namedResults: Iterable<string>): Promise<QueryPlan> {
    const catalog: Catalog = { tables: await this.slafTables(ds), namedResults: new Set([...namedResults].map((n) => n.toLowerCase())) };
    const conn = await this.connect();
    try {
      const parsed = await parseSql(conn, sql);
      return { parsed, analysis: analyzeQuery(parsed, catalog), catalog };
    } finally {
      conn.closeSync();
    }
  }

  private lance(ds: OpenDataset, name: string): lancedb.Table {
    const t = ds.tables.get(name);
    if (!t) fail("TABLE_UNKNOWN", `Dataset ${ds.summary.name} has no table "${name}"`);
    return t;
  }

  private tableRows(ds: OpenDataset, name: string): number {
    return ds.summary.tables.find((t) => t.name === name)?.rows ?? 0;
  }

  private async tableWidths(ds: OpenDataset, needs: TableNeeds): Promise<Map<string, number>> {
    return this.widths.widths(`${ds.summary.datasetId}/${needs.table.name}`, this.lance(ds, needs.table.name), needs.table);
  }

  /** The columns actually scanned: what the query needs, or the narrowest column when it needs none (COUNT(*)). */
  scanColumns(needs: TableNeeds): CatalogColumn[] {
    const cols = needs.table.columns.filter((c) => needs.columns.has(c.name));
    if (cols.length) return cols;
    const width = (c: CatalogColumn) => (c.kind.kind === "int" ? c.kind.bits : c.kind.kind === "bool" ? 1 : c.kind.kind === "float" ? c.kind.bits : 1000);
    return [[...needs.table.columns].sort((a, b) => width(a) - width(b))[0]];
  }

  /** The part of each reference's restriction known before scanning (its own predicates). */
  private staticFilter(needs: TableNeeds): Pred | null {
    return orOfRefs(needs.refs.map((r) => andOf(r.preds)));
  }

  private idRanges(ds: OpenDataset): Map<string, number> {
    return new Map([
      ["cell_integer_id", ds.config.n_cells ?? 0],
      ["gene_integer_id", ds.config.n_genes ?? 0],
    ].filter(([, n]) => Number(n) > 0) as [string, number][]);
  }

  private async fraction(ds: OpenDataset, table: string, pred: Pred | null, exact: boolean): Promise<number> {
    if (!pred) return 1;
    const rows = this.tableRows(ds, table);
    const filter = renderPred(pred, LANCE);
    if (exact && filter && rows > 0) {
      try {
        return (await this.lance(ds, table).countRows(filter)) / rows;
      } catch {
        // fall through to the rule of thumb
      }
    }
    return selectivity(pred, this.idRanges(ds));
  }

  async preview(ds: OpenDataset, plan: QueryPlan): Promise<QueryPreview> {
    const remote = ds.summary.source !== "local";
    const exactMax = this.options.exactCountRows ?? 5_000_000;
    const scans: ScanEstimate[] = [];
    for (const needs of plan.analysis.tables.values()) {
      const name = needs.table.name;
      const rows = this.tableRows(ds, name);
      const exact = !remote && rows <= exactMax;
      let frac = 0;
      for (const ref of needs.refs) {
        let f = await this.fraction(ds, name, andOf(ref.preds), exact);
        for (const link of ref.links) {
          const src = plan.analysis.refs.get(link.sourceRefId)!;
          const srcRows = this.tableRows(ds, src.table);
          f *= await this.fraction(ds, src.table, andOf(src.preds), !remote && srcRows <= exactMax);
        }
        frac = Math.min(1, frac + f);
      }
      const columns = this.scanColumns(needs).map((c) => c.name);
      const widths = await this.tableWidths(ds, needs);
      const estimatedRows = Math.round(rows * frac);
      scans.push({
        table: name,
        columns,
        filter: describeFilter(needs, plan.analysis),
        estimatedRows,
        estimatedBytes: Math.round(estimatedRows * rowBytes(widths, columns)),
      });
    }
    const estimatedRows = scans.reduce((s, x) => s + x.estimatedRows, 0);
    const estimatedBytes = scans.reduce((s, x) => s + x.estimatedBytes, 0);
    return { scans, estimatedRows, estimatedBytes, needsConfirmation: estimatedBytes > this.threshold(ds), namedResults: plan.analysis.namedResults };
  }

  /** Whether a query could be over the confirmation threshold at all: reading every row of what it needs. */
  async mayNeedConfirmation(ds: OpenDataset, plan: QueryPlan): Promise<boolean> {
    let upper = 0;
    for (const needs of plan.analysis.tables.values()) {
      const widths = await this.tableWidths(ds, needs);
      upper += this.tableRows(ds, needs.table.name) * rowBytes(widths, this.scanColumns(needs).map((c) => c.name));
    }
    return upper > this.threshold(ds);
  }

  private threshold(ds: OpenDataset): number {
    return ds.summary.source !== "local" ? (this.options.confirmBytesRemote ?? DEFAULT_CONFIRM_REMOTE) : (this.options.confirmBytes ?? DEFAULT_CONFIRM);
  }

  /** A cheap row estimate (no counting) for progress totals. */
  roughRows(ds: OpenDataset, plan: QueryPlan): number {
    let total = 0;
    for (const needs of plan.analysis.tables.values()) total += this.tableRows(ds, needs.table.name) * selectivity(this.staticFilter(needs), this.idRanges(ds));
    return Math.round(total);
  }

  /**
   * Scans what the plan needs into a fresh schema, then runs the SQL into `resultTable` (in RESULTS_SCHEMA).
   * `named` maps named-result names the query reads to their result tables.
   */
  async run(ds: OpenDataset, plan: QueryPlan, resultTable: string, named: Map<string, string>, ctx: RunContext): Promise<RunReport> {
    const conn = await this.connect();
    const schema = `q${this.nextSchema++}`;
    const onAbort = () => conn.interrupt();
    ctx.signal.addEventListener("abort", onAbort);
    const reports = new Map<string, ScanReport>();
    let scanMs: number;
    let sqlMs: number;
    try {
      await conn.run(`CREATE SCHEMA ${schema}`);
      for (const [name, table] of named) await conn.run(`CREATE VIEW ${schema}.${quoteIdent(name)} AS SELECT * FROM ${RESULTS_SCHEMA}.${quoteIdent(table)}`);
      const t0 = performance.now();
      // Cells and genes first: their filtered ids can restrict expression and layers.
      const order = [...plan.analysis.tables.values()].sort((a, b) => Number(FACT_TABLES.has(a.table.name)) - Number(FACT_TABLES.has(b.table.name)));
      for (const needs of order) reports.set(needs.table.name, await this.scanTable(ds, conn, schema, needs, plan.analysis, ctx));
      scanMs = performance.now() - t0;
      const body = withoutStatementTerminators(plan.parsed.sql);
      ctx.onSql?.();
      await conn.run(`SET search_path = '${schema}'`);
      for (let attempt = 0; ; attempt++) {
        throwIfAborted(ctx.signal, "QUERY_CANCELLED");
        const t1 = performance.now();
        try {
          await conn.run(`CREATE OR REPLACE TABLE ${RESULTS_SCHEMA}.${quoteIdent(resultTable)} AS\n${body}\n`);
          sqlMs = performance.now() - t1;
          break;
        } catch (e) {
          throwIfAborted(ctx.signal, "QUERY_CANCELLED");
          const message = e instanceof Error ? e.message : String(e);
          const missing = missingColumn(message);
          // A column our analysis did not see (it errs towards reading more, but never guesses wrong silently):
          // read the tables that have it whole and run again.
          const widen = missing ? [...plan.analysis.tables.values()].filter((n) => n.table.byLower.has(missing) && !n.columns.has(n.table.byLower.get(missing)!.name)) : [];
          if (attempt === 0 && widen.length) {
            for (const needs of widen) {
              needs.allColumns = true;
              for (const c of needs.table.columns) needs.columns.add(c.name);
              reports.set(needs.table.name, await this.scanTable(ds, conn, schema, needs, plan.analysis, ctx));
            }
            continue;
          }
          throw new AppFailure("QUERY_INVALID", ...explainError(message, plan, missing));
        }
      }
    } catch (e) {
      throwIfAborted(ctx.signal, "QUERY_CANCELLED");
      throw e;
    } finally {
      ctx.signal.removeEventListener("abort", onAbort);
      await conn.run(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
      conn.closeSync();
    }
    return { scans: [...reports.values()], scanMs, sqlMs };
  }


  private async scanTable(ds: OpenDataset, conn: DuckDBConnection, schema: string, needs: TableNeeds, analysis: Analysis, ctx: RunContext): Promise<ScanReport> {
    const name = needs.table.name;
    const restrictions: (Pred | null | typeof EMPTY)[] = [];
    for (const ref of needs.refs) restrictions.push(await this.refRestriction(conn, schema, ref, analysis));
    const live = restrictions.filter((r): r is Pred | null => r !== EMPTY);
    const filterPred = orOfRefs(live);
    let filter = live.length === 0 ? "false" : filterPred && renderPred(filterPred, LANCE);
    const columns = this.scanColumns(needs);
    const widths = await this.tableWidths(ds, needs);
    const tableRows = this.tableRows(ds, name);
    const report: ScanReport = {
      table: name,
      columns: columns.map((c) => c.name),
      filter,
      rowsScanned: 0,
      bytesScanned: 0,
      tableRows,
      tableBytes: Math.round(tableRows * rowBytes(widths, needs.table.columns.map((c) => c.name))),
    };
    const lance = this.lance(ds, name);
    const ingest = (f: string | null) =>
      ingestLanceScan(conn, schema, name, lance, columns, f, {
        signal: ctx.signal,
        batchRows: this.options.batchRows,
        onRows: (n) => ctx.onRows(n),
      });
    let result;
    if (live.length === 0) {
      // No id can match: create the empty table without reading anything.
      await createTable(conn, schema, name, columns);
      result = { rows: 0, bytes: 0 };
    } else {
      try {
        result = await ingest(filter);
      } catch (e) {
        throwIfAborted(ctx.signal, "QUERY_CANCELLED");
        if (!filter) throw e;
        // Lance refused the predicate (a type it compares differently): read unfiltered, DuckDB filters anyway.
        filter = null;
        result = await ingest(null);
      }
    }
    throwIfAborted(ctx.signal, "QUERY_CANCELLED");
    report.filter = filter;
    report.rowsScanned = result.rows;
    report.bytesScanned = result.bytes;
    return report;
  }

  /** One reference's restriction: its predicates AND id ranges derived from already-scanned cells/genes. */
  private async refRestriction(conn: DuckDBConnection, schema: string, ref: SlafRef, analysis: Analysis): Promise<Pred | null | typeof EMPTY> {
    const preds = [...ref.preds];
    for (const link of ref.links) {
      const src = analysis.refs.get(link.sourceRefId)!;
      if (src.preds.length === 0) continue;
      const target = analysis.tables.get(ref.table)!.table.byLower.get(link.column.toLowerCase())!;
      const derived = await deriveIds(conn, schema, src, link, target);
      if (derived === EMPTY) return EMPTY;
      if (derived) preds.push(derived);
    }
    return andOf(preds);
  }
}

async function deriveIds(conn: DuckDBConnection, schema: string, src: SlafRef, link: IdLink, target: CatalogColumn): Promise<Pred | null | typeof EMPTY> {
  const where = renderPred(andOf(src.preds)!, DUCKDB);
  if (!where || target.kind.kind !== "int") return null;
  const { min: lo, max: hi } = target.kind;
  const col = quoteIdent(link.sourceColumn);
  const from = `${schema}.${quoteIdent(src.table)} WHERE ${where} AND ${col} BETWEEN ${lo} AND ${hi}`;
  const stats = (await conn.runAndReadAll(`SELECT min(${col})::DOUBLE, max(${col})::DOUBLE, count(DISTINCT ${col})::DOUBLE, (SELECT count(*) FROM ${schema}.${quoteIdent(src.table)})::DOUBLE FROM ${from}`)).getRows()[0];
  const [min, max, distinct, srcRows] = stats.map((v) => (v === null ? null : Number(v)));
  if (!distinct || min === null || max === null) return EMPTY;
  if (distinct <= IN_LIST_MAX) {
    const ids = (await conn.runAndReadAll(`SELECT DISTINCT ${col}::DOUBLE FROM ${from} ORDER BY 1`)).getRows().map((r) => Number(r[0]));
    return { op: "in", column: target.name, values: ids.map((v) => ({ kind: "number", value: v })) };
  }
  // A range that covers (nearly) every id restricts nothing worth a filter.
  if (srcRows !== null && max - min + 1 >= 0.9 * srcRows) return null;
  return { op: "between", column: target.name, low: { kind: "number", value: min }, high: { kind: "number", value: max } };
}

function describeFilter(needs: TableNeeds, analysis: Analysis): string | null {
  const parts: (string | null)[] = needs.refs.map((ref) => {
    const own = ref.preds.length ? renderPred(andOf(ref.preds)!, LANCE) : null;
    const derived = ref.links
      .map((l) => ({ l, src: analysis.refs.get(l.sourceRefId)! }))
      .filter(({ src }) => src.preds.length > 0)
      .map(({ l, src }) => `\`${l.column}\` IN <${l.sourceColumn} of ${src.table} where ${renderPred(andOf(src.preds)!, LANCE)}>`);
    const all = [own, ...derived].filter((x): x is string => Boolean(x));
    return all.length ? all.join(" AND ") : null;
  });
  if (parts.some((p) => p === null)) return null;
  const unique = [...new Set(parts as string[])];
  return unique.length === 1 ? unique[0] : unique.map((p) => `(${p})`).join(" OR ");
}

function missingColumn(message: string): string | null {
  const m = /Referenced column "([^"]+)" not found/.exec(message) ?? /does not have a column named "([^"]+)"/.exec(message);
  return m ? m[1].toLowerCase() : null;
}

function explainError(message: string, plan: QueryPlan, missing: string | null): [string, { detail?: string; position?: { line: number; column: number; offset: number } }] {
  const e = describeDuckError(message, plan.parsed.sql, 1);
  let text = e.message;
  if (missing) {
    const tables = [...plan.analysis.tables.values()].map((n) => `${n.table.name}: ${n.table.columns.map((c) => c.name).join(", ")}`);
    const candidates = /Candidate bindings: (.*)/.exec(e.message)?.[1];
    const original = /"([^"]+)"/.exec(e.message)?.[1] ?? missing;
    text = `Unknown column "${original}".${tables.length ? ` Columns available — ${tables.join("; ")}` : ""}${!tables.length && candidates ? ` Candidates: ${candidates}` : ""}`;
  }
  return [text, { detail: e.detail, position: e.position }];
}
