/**
 * Running one planned query: scan what it needs from Lance into a fresh DuckDB schema, then run the user's SQL
 * into a result table. Cells and genes come first (from the warm tables when they can, warm-tables.ts), so their
 * filtered ids can restrict expression and layers (id-sets.ts: Lance ranges, IN lists or a bitmap over batches);
 * fixed-width tables of local datasets are scanned in a worker (scan-workers.ts); a GROUP BY that allows it reads
 * expression as partial aggregates and runs DuckDB's rewrite of the SQL (pre-aggregate.ts), else the SQL runs
 * unchanged. The plan is only read: a scan widened at run time is a copy of the plan's needs.
 */
import type { DuckDBConnection } from "@duckdb/node-api";
import type * as lancedb from "@lancedb/lancedb";
import type { ScanReport } from "../../../shared/ipc/contract";
import { isAppFailure } from "../../../shared/result";
import { SCAN_BATCH_ROWS } from "../arrow";
import { rethrowLanceError } from "../datasets/lance-errors";
import { fail, throwIfAborted } from "../errors";
import { qualifiedName, quoteIdent, stringLiteral } from "../sql-text";
import type { Analysis, IdLink, SlafRef, TableNeeds } from "./analyze";
import { FACT_TABLES, type CatalogColumn } from "./catalog";
import { scanColumns, type DatasetTables } from "./dataset-tables";
import type { QueryPlan } from "./engine";
import { rowBytes, selectivity } from "./estimate";
import type { IdBitmap } from "./id-bitmap";
import { deriveIdSet, type IdSetLimits, type IdSource } from "./id-sets";
import { flatBytes, flatKind } from "./flat-batch";
import { canFilterRows, createTable, ingestLanceScan, planColumn, type IngestOptions, type IngestResult, type RowFilter } from "./lance-to-duckdb";
import type { AggregateSpec } from "./partial-aggregator";
import { isPartialAggregateUnsupported, maxKeys } from "./partial-aggregator";
import { checkedRewrite, partialColumns } from "./pre-aggregate-checks";
import { planPreAggregation, type PreAggregation } from "./pre-aggregate";
import { lanceBatches, readAhead, scannedBatches, type FlatScanSpec, type ScannedBatch } from "./flat-scan";
import type { ScanWorkers } from "./scan-workers";
import type { StreamedScan } from "./scan-stream";
import { canStream, STREAM_FUNCTION, type StreamSource, type StreamSources } from "./stream-function";
import { WARM_SCHEMA, type WarmLease, type WarmTables } from "./warm-tables";
import { appendHeld, HeldStream, type HeldColumns, type HeldFacts } from "./held-columns";
import { andOf, DUCKDB, LANCE, orOfRefs, renderPred, type Pred } from "./pushdown";
import { explainError, missingColumn } from "./query-errors";

export interface RunContext {
  signal: AbortSignal;
  onRows(rowsScanned: number): void;
  /** Called when scanning is done and the SQL starts (`streaming`: tables are still read while it runs). */
  onSql?(streaming: boolean): void;
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
  /** When derived ids go to Lance as ranges or an IN list rather than a bitmap over batches. */
  idSetLimits?: IdSetLimits;
  /** Where table columns stay loaded between queries; null to scan them for each query. */
  warm?: WarmTables | null;
  /** Where fact tables' warm columns are held (the warm tables keep their budget and leases); null never holds them. */
  held?: HeldFacts | null;
  /** Fact tables with fewer rows are never kept warm (a filtered scan of them is cheap). Default DEFAULT_WARM_FACT_MIN_ROWS. */
  warmFactMinRows?: number;
  /** Threads that scan fixed-width tables of local datasets while this one appends; null to scan here. */
  workers?: ScanWorkers | null;
  /** DuckDB's aggregate function names, to aggregate expression early (pre-aggregate.ts); null never does. */
  aggregates?: Set<string> | null;
  /** Where fact tables of local datasets are streamed into the query from a scan worker (stream-function.ts); null appends them. */
  streams?: StreamSources | null;
  /** Scans expected to deliver fewer rows are appended, not streamed. Default DEFAULT_STREAM_MIN_ROWS. */
  streamMinRows?: number;
}

/** Appending a million rows costs some 25–80 ms; below that, streaming saves little. */
export const DEFAULT_STREAM_MIN_ROWS = 1_000_000;

/**
 * Below this, a fact table's filtered scan (ranges, bitmaps, partials) costs little next to keeping its columns in
 * memory; above it, a notebook that reads the table again gets DuckDB's speed on loaded tables.
 */
export const DEFAULT_WARM_FACT_MIN_ROWS = 1_000_000;

/** Held columns are filtered in memory: ids always as bitmaps, never as Lance ranges or IN lists. */
const HELD_ID_SET_LIMITS: IdSetLimits = { ranges: 0, inList: 0 };

/** A derived restriction that no row can meet (no source ids). */
const EMPTY = "empty" as const;

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
  private readonly leases: WarmLease[] = [];
  private preAggregation: PreAggregation | null = null;
  /** The query over partial aggregates, once expression was read as partials. */
  private rewritten: string | null = null;
  /** Fact tables to stream once every other table is loaded, and the streams open (their views read them). */
  private toStream: TableScan[] = [];
  private readonly streamed = new Map<string, OpenStream>();

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
    try {
      return await this.runHeld(resultTable, named);
    } finally {
      for (const lease of this.leases.splice(0)) lease.release();
      for (const s of this.streamed.values()) s.close();
    }
  }

  private async runHeld(resultTable: string, named: Map<string, string>): Promise<RunReport> {
    const { conn, schema, ctx } = this;
    await conn.run(`CREATE SCHEMA ${quoteIdent(schema)}`);
    await conn.run(`SET search_path = ${stringLiteral(schema)}`);
    for (const [name, table] of named) await conn.run(`CREATE VIEW ${qualifiedName(schema, name)} AS SELECT * FROM ${table}`);
    const t0 = performance.now();
    if (this.options.aggregates) {
      // Never in the way of the query: a plan that cannot be made is no plan.
      this.preAggregation = await planPreAggregation(conn, this.plan.parsed.sql, this.plan.analysis, this.options.aggregates).catch(() => null);
    }
    const order = [...this.needs.values()].sort((a, b) => Number(FACT_TABLES.has(a.table.name)) - Number(FACT_TABLES.has(b.table.name)));
    for (const needs of order) await this.scan(needs);
    for (const t of this.toStream.splice(0)) await this.stream(t);
    const scanMs = performance.now() - t0;
    ctx.onSql?.(this.streamed.size > 0);
    let sqlMs: number;
    for (let attempt = 0; ; attempt++) {
      throwIfAborted(ctx.signal, "QUERY_CANCELLED");
      const t1 = performance.now();
      try {
        await createTableAs(conn, resultTable, this.rewritten ?? this.plan.parsed.sql, ctx.signal);
        sqlMs = performance.now() - t1;
        break;
      } catch (e) {
        throwIfAborted(ctx.signal, "QUERY_CANCELLED");
        const failed = [...this.streamed.values()].find((s) => s.source.failure);
        if (failed) rethrowLanceError(failed.source.failure, failed.where);
        if ([...this.streamed.values()].some((s) => s.source.reread)) {
          // A query that reads a streamed table twice (a self-join, a CTE used twice...): append them and run again.
          attempt--;
          for (const name of [...this.streamed.keys()]) await this.scan(this.needs.get(name)!);
          continue;
        }
        if (this.rewritten) {
          // The rewrite is an optimisation only: read expression as rows and run the query as written.
          this.rewritten = null;
          this.preAggregation = null;
          attempt--;
          await this.scan(this.needs.get("expression")!);
          continue;
        }
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
    for (const s of this.streamed.values()) await s.report();
    return { scans: [...this.reports.values()], scanMs, sqlMs };
  }

  private async scan(needs: TableNeeds): Promise<void> {
    const name = needs.table.name;
    // Scanned again (widened, or rows instead of partials, or appended instead of streamed): never streamed then.
    const again = this.reports.has(name) || this.streamed.has(name);
    this.streamed.get(name)?.close();
    this.streamed.delete(name);
    if (again) await dropRelation(this.conn, qualifiedName(this.schema, name));
    const warm = this.options.warm && this.mayWarm(name) ? this.options.warm : null;
    if (warm && (FACT_TABLES.has(name) ? await this.scanHeld(needs, warm, again) : await this.scanWarm(needs, warm))) return;
    const restrictions = await this.restrictions(needs);
    const live = restrictions.filter((r): r is Restriction => r !== EMPTY);
    const filterPred = orOfRefs(live.map((r) => r.pred));
    const columns = scanColumns(needs);
    const filter = live.length === 0 ? "false" : filterPred && renderPred(filterPred, LANCE);
    const { rowFilter: early, idFilter, share: bitmapShare } = idRowFilter(restrictions, columns);
    const pre = name === "expression" && live.length > 0 ? this.preAggregation : null;
    if (pre && (await this.scanPartials(needs, pre, filter, early, idFilter))) return;
    // Rows the scan should deliver (a rule of thumb): the Lance filter's share, then the bitmaps' share within their bounds.
    const share = selectivity(filterPred, this.tables.idRanges()) * bitmapShare;
    const table: TableScan = { needs, columns, filter, rowFilter: early, idFilter, expectedRows: Math.round(this.tables.rows(name) * share) };
    if (live.length === 0) {
      // No id can match: create the empty table without reading anything.
      await createTable(this.conn, this.schema, name, columns);
      await this.report(table, { rows: 0, bytes: 0, appended: 0 });
    } else if (this.workerStreamable(table, again)) this.toStream.push(table);
    else await this.append(table, false);
  }

  /** Appends a table's scan into the query's schema. */
  private async append(t: TableScan, onThisThread: boolean): Promise<void> {
    const name = t.needs.table.name;
    const { result, filter } = await this.ingest(this.schema, name, name, t.columns, t.filter, t.rowFilter, null, onThisThread);
    throwIfAborted(this.ctx.signal, "QUERY_CANCELLED");
    await this.report({ ...t, filter }, result);
  }

  private async report(t: TableScan, result: IngestResult, streamed = false, warm = false): Promise<void> {
    const name = t.needs.table.name;
    const tableRows = this.tables.rows(name);
    const widths = await this.tables.widths(t.needs);
    this.reports.set(name, {
      table: name,
      columns: t.columns.map((c) => c.name),
      filter: t.filter,
      idFilter: t.idFilter,
      rowsScanned: result.rows,
      rowsAppended: result.appended,
      ...(streamed ? { streamed } : {}),
      ...(warm ? { warm } : {}),
      bytesScanned: result.bytes,
      tableRows,
      tableBytes: Math.round(
        tableRows *
          rowBytes(
            widths,
            t.needs.table.columns.map((c) => c.name),
          ),
      ),
    });
  }

  /**
   * Whether a table's rows can go into the query as a stream: read once by one reference, every column
   * fixed-width, and enough rows expected that appending them would cost more than a little (fewer are appended:
   * DuckDB then plans with their exact count).
   */
  private streamable(t: TableScan, again: boolean): boolean {
    const { streams, streamMinRows } = this.options;
    if (again || t.needs.refs.length !== 1 || !streams) return false;
    return t.expectedRows >= (streamMinRows ?? DEFAULT_STREAM_MIN_ROWS) && t.columns.every((c) => canStream(planColumn(c)));
  }

  /** Whether a scan worker can stream a table: streamable, and a fact table of a local dataset. */
  private workerStreamable(t: TableScan, again: boolean): boolean {
    return !!this.options.workers && !this.tables.remote && FACT_TABLES.has(t.needs.table.name) && this.streamable(t, again);
  }

  /**
   * Makes a fact table a view over a stream from a scan worker (stream-function.ts); appends it instead when no
   * worker is free or the scan fails at once (the append path names the failure, or reads without a refused
   * filter). A query holding a stream's worker appends on this thread: it never waits for a worker while holding one.
   */
  private async stream(t: TableScan): Promise<void> {
    const name = t.needs.table.name;
    const lance = this.tables.lance(name);
    const tablePath = this.tables.location(name);
    if (!tablePath) return this.append(t, this.streamed.size > 0);
    const where = { table: name, tablePath };
    const spec: FlatScanSpec = {
      columns: t.columns.map((c) => ({ name: c.name, flat: flatKind(c.type)! })),
      filter: t.filter,
      rowFilter: t.rowFilter,
      batchRows: this.options.batchRows ?? SCAN_BATCH_ROWS,
    };
    let scan: StreamedScan | null = null;
    try {
      scan = await this.options.workers!.stream(tablePath, await lance.version(), spec, this.ctx.signal);
    } catch {
      throwIfAborted(this.ctx.signal, "QUERY_CANCELLED");
    }
    if (!scan) return this.append(t, this.streamed.size > 0);
    const streamed = scan;
    await this.viewOverStream(t, where, streamed, () => this.report(t, { rows: streamed.scanned, bytes: streamed.bytes, appended: streamed.delivered }, true));
  }

  /** Makes a table a view over `scan` through `slafwb_stream`; `report` says what it delivered once the query ran. */
  private async viewOverStream(
    t: TableScan,
    where: OpenStream["where"],
    scan: StreamSource["scan"] & { close(): void },
    report: () => Promise<void>,
  ): Promise<void> {
    const name = t.needs.table.name;
    const { id, source, remove } = this.options.streams!.add({
      columns: t.columns.map(planColumn),
      scan,
      cardinality: t.expectedRows,
      onRows: (n) => this.ctx.onRows(n),
    });
    const close = (): void => {
      remove();
      scan.close();
    };
    this.streamed.set(name, { source, where, close, report });
    await this.conn.run(`CREATE VIEW ${qualifiedName(this.schema, name)} AS SELECT * FROM ${STREAM_FUNCTION}(${id})`);
  }

  /** Dimension tables may stay warm; fact tables (held in memory) only from DEFAULT_WARM_FACT_MIN_ROWS rows. */
  private mayWarm(name: string): boolean {
    if (!FACT_TABLES.has(name)) return true;
    return !!this.options.held && this.tables.rows(name) >= (this.options.warmFactMinRows ?? DEFAULT_WARM_FACT_MIN_ROWS);
  }

  /**
   * Serves a dimension table from the warm tables (loading every row of the columns it lacks): a view over the
   * warm table. False when the columns do not fit the warm budget, or a filtered table no earlier query read: a
   * one-off query keeps its filtered scan.
   */
  private async scanWarm(needs: TableNeeds, warm: WarmTables): Promise<boolean> {
    const name = needs.table.name;
    const columns = scanColumns(needs);
    const warmed = await this.leaseWarm(
      needs,
      warm,
      needs.refs.every((r) => r.preds.length > 0),
      async (table, wanted) => (await this.ingest(WARM_SCHEMA, table, name, wanted, null, null)).result,
    );
    if (!warmed) return false;
    const list = columns.map((c) => quoteIdent(c.name)).join(", ");
    await this.conn.run(`CREATE VIEW ${qualifiedName(this.schema, name)} AS SELECT ${list} FROM ${qualifiedName(WARM_SCHEMA, warmed.lease.name)}`);
    throwIfAborted(this.ctx.signal, "QUERY_CANCELLED");
    const t: TableScan = { needs, columns, filter: null, rowFilter: null, idFilter: null, expectedRows: this.tables.rows(name) };
    await this.report(t, warmed.loaded, false, true);
    return true;
  }

  /**
   * A lease on the table's warm entry holding the query's columns (`load` fills a new entry with every row of
   * the columns asked for, and of `prefer` when they fit too), with what loading it read; null when it does not
   * fit the budget, or `filtered` and no earlier query read the table.
   */
  private async leaseWarm(
    needs: TableNeeds,
    warm: WarmTables,
    filtered: boolean,
    load: (table: string, columns: CatalogColumn[]) => Promise<IngestResult>,
    prefer?: string[],
  ): Promise<{ lease: WarmLease; loaded: IngestResult } | null> {
    const name = needs.table.name;
    const widths = await this.tables.widths(needs);
    const tableRows = this.tables.rows(name);
    let loaded: IngestResult = { rows: 0, bytes: 0, appended: 0 };
    const lease = await warm.use({
      key: await this.tables.warmKey(name),
      columns: scanColumns(needs).map((c) => c.name),
      prefer,
      filtered,
      bytesOf: (cols) => tableRows * rowBytes(widths, cols),
      load: async (table, cols) => {
        loaded = await load(
          table,
          needs.table.columns.filter((c) => cols.includes(c.name)),
        );
      },
    });
    if (!lease) return null;
    this.leases.push(lease);
    return { lease, loaded };
  }

  /**
   * Serves a fact table from columns held in memory (held-columns.ts), loading them with one whole-table scan on
   * the table's second read: the held batches pass the query's id filter (always as bitmaps: no Lance filter
   * applies to memory) and are streamed into the query, or appended when few, or when the query reads the table
   * more than once. False (nothing read) on a first read, or when the columns do not fit the warm budget.
   */
  private async scanHeld(needs: TableNeeds, warm: WarmTables, again: boolean): Promise<boolean> {
    const name = needs.table.name;
    const columns = scanColumns(needs);
    if (!columns.every((c) => flatKind(c.type) !== null)) return false;
    // A whole table streamed into DuckDB's aggregate costs more than the workers' partial aggregates (both cores,
    // one partial row per key): such a query neither loads held rows nor reads them unless an id filter leaves few.
    const idFiltered = needs.refs.some((r) => r.links.some((l) => this.idSource(l, this.plan.analysis)));
    const partialsFirst = name === "expression" && !!this.preAggregation;
    if (partialsFirst && !idFiltered) return false;
    // Every column of the table is held when it fits (expression has three): a later query that asks for another
    // one then reads memory instead of the whole table again.
    const flat = needs.table.columns.filter((c) => flatKind(c.type) !== null).map((c) => c.name);
    const warmed = await this.leaseWarm(needs, warm, true, (table, wanted) => this.loadHeld(table, name, wanted), flat);
    if (!warmed) return false;
    const { lease, loaded } = warmed;
    const tableRows = this.tables.rows(name);
    const held = this.options.held!.get(lease.name);
    if (!held) fail("INTERNAL", `The held columns of ${name} are gone`);
    const restrictions = await this.restrictions(needs, HELD_ID_SET_LIMITS);
    const live = restrictions.filter((r): r is Restriction => r !== EMPTY);
    const { rowFilter: early, idFilter, share } = idRowFilter(restrictions, columns);
    if (partialsFirst && live.length > 0 && !early && loaded.rows === 0) return false;
    const t: TableScan = { needs, columns, filter: null, rowFilter: early, idFilter, expectedRows: Math.round(tableRows * share) };
    const report = (delivered: number, streamed: boolean) => this.report(t, { rows: loaded.rows, bytes: loaded.bytes, appended: delivered }, streamed, true);
    if (live.length === 0) {
      await createTable(this.conn, this.schema, name, columns);
      await report(0, false);
    } else if (this.streamable(t, again)) {
      const scan = new HeldStream(
        held,
        columns.map((c) => c.name),
        early,
      );
      await this.viewOverStream(t, { table: name, tablePath: this.tables.location(name) ?? name }, scan, () => report(scan.delivered, true));
    } else {
      await report(await appendHeld(this.conn, this.schema, name, columns, held, early, this.ctx), false);
    }
    return true;
  }

  /** Holds every row of a fact table's columns: one scan (in a worker for a local dataset), its batches kept. */
  private async loadHeld(table: string, name: string, columns: CatalogColumn[]): Promise<IngestResult> {
    const lance = this.tables.lance(name);
    const spec: FlatScanSpec = {
      columns: columns.map((c) => ({ name: c.name, flat: flatKind(c.type)! })),
      filter: null,
      rowFilter: null,
      batchRows: this.options.batchRows ?? SCAN_BATCH_ROWS,
      // Two workers read half each when both are free (split-scan.ts).
      tableRows: this.tables.rows(name),
    };
    const held: HeldColumns = { names: columns.map((c) => c.name), batches: [], rows: 0, bytes: 0 };
    let bytes = 0;
    try {
      const fromWorker = await this.workerScanOf(name);
      const source = fromWorker ? fromWorker(spec) : scannedBatches(readAhead(lanceBatches(lance, spec)), spec, true);
      for await (const b of source) {
        throwIfAborted(this.ctx.signal, "QUERY_CANCELLED");
        held.batches.push({ rows: b.rows, columns: b.columns });
        held.rows += b.rows;
        held.bytes += flatBytes(b);
        bytes += b.bytes;
        this.ctx.onRows(b.scanned);
      }
    } catch (e) {
      throwIfAborted(this.ctx.signal, "QUERY_CANCELLED");
      rethrowLanceError(e, { table: name, tablePath: this.tables.location(name) });
    }
    this.options.held!.set(table, held);
    return { rows: held.rows, bytes, appended: 0 };
  }

  /**
   * Reads expression as partial aggregates for the rewritten query, after checking the shape DuckDB plans for the
   * query as written (EXPLAIN: one aggregate over inner joins of plain scans) and that the rewrite gives the same
   * column names and types. False (nothing read) when any of it does not hold.
   */
  private async scanPartials(
    needs: TableNeeds,
    pre: PreAggregation,
    filter: string | null,
    rowFilter: RowFilter | null,
    idFilter: string | null,
  ): Promise<boolean> {
    const { conn, schema } = this;
    const columns = scanColumns(needs);
    const target = qualifiedName(schema, "expression");
    if (!columns.every((c) => flatKind(c.type) !== null)) return false;
    const spec: AggregateSpec = {
      key: pre.key ? columns.findIndex((c) => c.name === pre.key!.name) : null,
      columns: pre.columns.map((c) => columns.findIndex((x) => x.name === c.name)),
      span: pre.key ? (this.tables.idRanges().get(pre.key.name) ?? 1024) : 1,
    };
    // Too many cells (or genes) for the partial arrays: rows it is.
    if (spec.span > maxKeys(spec.columns.length)) return false;
    const partials = partialColumns(columns, pre);
    let rewritten: string | null;
    try {
      rewritten = await checkedRewrite(conn, schema, this.plan.parsed.sql, columns, partials, pre);
    } catch {
      rewritten = null;
    }
    if (!rewritten) {
      await dropRelation(conn, target);
      return false;
    }
    let result: IngestResult;
    try {
      ({ result, filter } = await this.ingest(schema, "expression", "expression", columns, filter, rowFilter, { spec, columns: partials }));
    } catch (e) {
      if (!isPartialAggregateUnsupported(e)) throw e;
      await dropRelation(conn, target);
      return false;
    }
    throwIfAborted(this.ctx.signal, "QUERY_CANCELLED");
    this.rewritten = rewritten;
    const widths = await this.tables.widths(needs);
    const tableRows = this.tables.rows("expression");
    this.reports.set("expression", {
      table: "expression",
      columns: columns.map((c) => c.name),
      filter,
      idFilter,
      aggregated: pre.description,
      rowsScanned: result.rows,
      rowsAppended: result.appended,
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
    return true;
  }

  /**
   * Scans into DuckDB. Lance may refuse a pushed predicate (a type it compares differently): only then is the
   * table read unfiltered (DuckDB applies the user's WHERE anyway). Damaged files and I/O errors are not retried;
   * they fail as TABLE_CORRUPT / PERMISSION_DENIED naming the table. `onThisThread`: never a scan worker.
   */
  /**
   * Scans of a table by a scan worker, or undefined when there are no workers or the table is remote (read through
   * the gateway on this thread's event loop: scanned here).
   */
  private async workerScanOf(name: string): Promise<((spec: FlatScanSpec) => AsyncIterable<ScannedBatch>) | undefined> {
    const workers = this.options.workers;
    const tablePath = this.tables.remote ? null : this.tables.location(name);
    if (!workers || !tablePath) return undefined;
    const version = await this.tables.lance(name).version();
    return (spec) => workers.scan(tablePath, version, spec, this.ctx.signal);
  }

  private async ingest(
    schema: string,
    target: string,
    name: string,
    columns: CatalogColumn[],
    filter: string | null,
    rowFilter: RowFilter | null,
    aggregate: IngestOptions["aggregate"] = null,
    onThisThread = false,
  ): Promise<{ result: IngestResult; filter: string | null }> {
    const lance = this.tables.lance(name);
    const where = { table: name, tablePath: this.tables.location(name) };
    const flatSource = onThisThread ? undefined : await this.workerScanOf(name);
    const ingest = (f: string | null) =>
      ingestLanceScan(this.conn, schema, target, lance, columns, f, {
        signal: this.ctx.signal,
        batchRows: this.options.batchRows,
        onRows: (n) => this.ctx.onRows(n),
        rowFilter,
        flatSource,
        aggregate,
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

  /** Each reference's restriction, in order. */
  private async restrictions(needs: TableNeeds, limits = this.options.idSetLimits): Promise<(Restriction | typeof EMPTY)[]> {
    const out: (Restriction | typeof EMPTY)[] = [];
    for (const ref of needs.refs) out.push(await this.refRestriction(ref, this.plan.analysis, limits));
    return out;
  }

  /**
   * One reference's restriction: its predicates AND what each id link allows (ids of the filtered cells/genes or
   * of a named result, derived from what is already loaded): pushed to Lance where it can say it exactly, else
   * as bitmaps for the batches.
   */
  private async refRestriction(ref: SlafRef, analysis: Analysis, limits = this.options.idSetLimits): Promise<Restriction | typeof EMPTY> {
    const preds = [...ref.preds];
    const bitmaps: DescribedBitmap[] = [];
    for (const link of ref.links) {
      const source = this.idSource(link, analysis);
      if (!source) continue;
      const target = analysis.tables.get(ref.table)!.table.byLower.get(link.column.toLowerCase())!;
      const set = await deriveIdSet(this.conn, source, target, this.tables.idRanges().get(link.column) ?? null, limits);
      if (!set) continue;
      if (set.kind === "empty") return EMPTY;
      if (set.kind === "pred") preds.push(set.pred);
      else {
        if (set.bounds) preds.push(set.bounds);
        bitmaps.push({ ...set.bitmap, description: `${link.column} in ${set.bitmap.count.toLocaleString("en-US")} ids of ${source.describe}` });
      }
    }
    return { pred: andOf(preds), bitmaps };
  }

  /** Where a link's ids come from: a SLAF reference with predicates (else it allows every id), or a named result. */
  private idSource(link: IdLink, analysis: Analysis): (IdSource & { describe: string }) | null {
    const relation = analysis.relations.get(link.sourceRefId);
    if (relation) {
      const own = relation.preds.length ? renderPred(andOf(relation.preds)!, DUCKDB) : null;
      const describe = own ? `${relation.name} where ${own}` : relation.name;
      return { table: qualifiedName(this.schema, relation.name), where: own ? [own] : [], column: link.sourceColumn, describe };
    }
    const src = analysis.refs.get(link.sourceRefId)!;
    const where = src.preds.length ? renderPred(andOf(src.preds)!, DUCKDB) : null;
    if (!where) return null;
    return { table: qualifiedName(this.schema, src.table), where: [where], column: link.sourceColumn, describe: `${src.table} where ${where}` };
  }
}

/** What one table's scan reads: the table, its columns, the Lance filter and the id filter over batches. */
interface TableScan {
  needs: TableNeeds;
  columns: CatalogColumn[];
  filter: string | null;
  rowFilter: RowFilter | null;
  idFilter: string | null;
  /** Rows it should deliver, roughly. */
  expectedRows: number;
}

/** A table streamed into the query: its source, how to close it, and its report once the SQL has read it. */
interface OpenStream {
  source: StreamSource;
  where: { table: string; tablePath: string };
  close(): void;
  report(): Promise<void>;
}

interface DescribedBitmap extends IdBitmap {
  description: string;
}

/** A reference's restriction: a Lance predicate (null: none) and bitmaps the batches must pass. */
interface Restriction {
  pred: Pred | null;
  bitmaps: DescribedBitmap[];
}

/**
 * The id filter batches of a scan of `columns` can take from the restrictions, described for the report, and the
 * share of rows its bitmaps keep. Only for a table read by one reference (several would need an OR of them).
 */
function idRowFilter(
  restrictions: (Restriction | typeof EMPTY)[],
  columns: CatalogColumn[],
): { rowFilter: RowFilter | null; idFilter: string | null; share: number } {
  const live = restrictions.filter((r): r is Restriction => r !== EMPTY);
  const all = live.length === 1 && restrictions.length === 1 && live[0].bitmaps.length > 0 ? toRowFilter(live[0].bitmaps) : null;
  const rowFilter = all && canFilterRows(columns, all) ? all : null;
  if (!rowFilter) return { rowFilter: null, idFilter: null, share: 1 };
  const bitmaps = live[0].bitmaps;
  return {
    rowFilter,
    idFilter: bitmaps.map((b) => b.description).join(" AND "),
    share: bitmaps.reduce((f, b) => f * (b.size > 0 ? b.count / b.size : 0), 1),
  };
}

/** Bitmaps as a row filter; two on one column become their intersection's test (both must pass). */
function toRowFilter(bitmaps: IdBitmap[]): RowFilter {
  return { columns: bitmaps.map((b) => b.column), bitmaps };
}

/** Drops a table or view of a query's schema, whichever it is (a widened scan replaces it). */
async function dropRelation(conn: DuckDBConnection, qualified: string): Promise<void> {
  await conn.run(`DROP VIEW IF EXISTS ${qualified}`).catch(() => undefined);
  await conn.run(`DROP TABLE IF EXISTS ${qualified}`).catch(() => undefined);
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
