/** SQL over SLAF tables: DuckDB over Lance scans with projection and predicate pushdown (see engine.ts). */
import { formatBytes } from "../../../shared/format";
import {
  MAX_PAGE_BYTES,
  type ColumnInfo,
  type ExportFormat,
  type QueryApi,
  type QueryPreview,
  type QuerySummary,
  type RowPage,
} from "../../../shared/ipc/contract";
import type { DatasetService } from "../datasets/service";
import type { OpenDataset } from "../datasets/open-dataset";
import { fail, guard, throwIfAborted } from "../errors";
import type { JobContext, JobService } from "../jobs/service";
import { qualifiedName } from "../sql-text";
import { describeColumns } from "./arrow-out";
import { RESULTS_SCHEMA, SqlEngine, type EngineOptions, type NamedRelation, type QueryPlan } from "./engine";
import { checkExportTarget, exportTable } from "./export";
import { clampPage, readPage } from "./pages";
import { rowSizing, tableBytes } from "./result-size";
import { ResultStore, validateName } from "./results";
import { defaultMemoryLimit } from "./sandbox";

export interface QueryServiceOptions extends EngineOptions {
  /** The most bytes one page of rows carries. Default MAX_PAGE_BYTES. */
  maxPageBytes?: number;
  /** The most bytes unreleased results hold before the least recently used are evicted. Default: half the memory limit. */
  resultBudgetBytes?: number;
}

/** A table another service keeps in the results schema for a dataset, read by SQL under `name` (explore's cell_sets). */
export interface ExtraRelation extends NamedRelation {
  /** Its table (or view) in RESULTS_SCHEMA. */
  table: string;
}

export class QueryService implements QueryApi {
  readonly engine: SqlEngine;
  private readonly store: ResultStore;
  private extraRelations: (datasetId: string) => Promise<ExtraRelation[]> = async () => [];

  constructor(
    readonly datasets: DatasetService,
    readonly jobs: JobService,
    readonly options: QueryServiceOptions,
  ) {
    this.engine = new SqlEngine(options);
    datasets.onDispose((ds) => void this.engine.releaseDataset(ds.summary.datasetId));
    this.store = new ResultStore(options.resultBudgetBytes ?? Math.floor((options.memoryLimitBytes ?? defaultMemoryLimit()) / 2));
  }

  start(req: { datasetId: string; sql: string; name?: string | null; confirmed?: boolean }) {
    return guard(async () => {
      const ds = this.datasets.get(req.datasetId);
      const name = validateName(req.name);
      if (typeof req.sql !== "string") fail("INVALID_ARGUMENT", "sql must be a string");
      const plan = await this.plan(ds, req.sql);
      // A named result this query reads may have been evicted: say so now rather than fail the job.
      this.store.holdNamed(ds.summary.datasetId, plan.analysis.namedResults).release();
      if (!req.confirmed && (await this.engine.mayNeedConfirmation(ds, plan))) {
        const preview = await this.engine.preview(ds, plan);
        if (preview.needsConfirmation) {
          fail(
            "QUERY_NEEDS_CONFIRMATION",
            `This query would read about ${formatBytes(preview.estimatedBytes)} (${preview.estimatedRows.toLocaleString("en-US")} rows) from ${preview.scans.map((s) => s.table).join(", ")}; run it again with confirmation`,
            {
              detail: JSON.stringify(preview),
            },
          );
        }
      }
      // Hold the dataset open while the job runs.
      const held = await this.datasets.acquire(ds.root);
      const jobId = this.jobs.start("query", "rows", async (ctx) => {
        try {
          return await this.execute(held, plan, name, ctx);
        } finally {
          await this.datasets.close({ datasetId: held.summary.datasetId });
        }
      });
      return { jobId };
    });
  }

  preview(req: { datasetId: string; sql: string }) {
    return guard(async (): Promise<QueryPreview> => {
      const ds = this.datasets.get(req.datasetId);
      return this.engine.preview(ds, await this.plan(ds, req.sql));
    });
  }

  page(req: { resultId: string; offset: number; limit: number }) {
    return guard(async (): Promise<RowPage> => {
      const page = clampPage(req);
      return this.store.use(req.resultId, async (r) => {
        const conn = await this.engine.connect();
        try {
          return await readPage(conn, qualifiedName(RESULTS_SCHEMA, r.table), r.sizing, r.rowCount, page, this.options.maxPageBytes ?? MAX_PAGE_BYTES);
        } finally {
          conn.closeSync();
        }
      });
    });
  }

  export(req: { resultId: string; format: ExportFormat; path: string; overwrite?: boolean }) {
    return guard(async () => {
      const target = { format: req.format, path: req.path, overwrite: req.overwrite === true };
      this.store.get(req.resultId);
      // Refused before asking about an existing file: "Replace config.json?" must never be asked of a dataset.
      await this.datasets.refuseWriteInside(req.path, "Cannot export there");
      await checkExportTarget(target);
      const { stagingDir } = await this.engine.sandbox();
      return this.store.use(req.resultId, async (r) => {
        const conn = await this.engine.connect();
        try {
          return await exportTable(conn, qualifiedName(RESULTS_SCHEMA, r.table), target, stagingDir);
        } finally {
          conn.closeSync();
        }
      });
    });
  }

  release(req: { resultId: string }) {
    return guard(async () => {
      await this.drop(this.store.release(req.resultId));
      return null;
    });
  }

  async dispose(): Promise<void> {
    await this.engine.close();
  }

  /** Lets another service put tables before SQL on a dataset, as named results that win over a result of the same name. */
  provideRelations(provider: (datasetId: string) => Promise<ExtraRelation[]>): void {
    this.extraRelations = provider;
  }

  /** Runs `body` with a result's table (qualified name) held, for a service that reads a whole result (explore's cell sets). */
  useResult<T>(resultId: string, body: (table: string, columns: ColumnInfo[], rowCount: number) => Promise<T>): Promise<T> {
    return this.store.use(resultId, (r) => body(qualifiedName(RESULTS_SCHEMA, r.table), r.columns, r.rowCount));
  }

  private async plan(ds: OpenDataset, sql: string): Promise<QueryPlan> {
    const named = [...this.store.named(ds.summary.datasetId)].map(([name, r]) => ({ name, columns: r.columns, rowCount: r.rowCount }));
    const extra = await this.extraRelations(ds.summary.datasetId);
    return this.engine.plan(ds, sql, [...named, ...extra.map(({ name, columns, rowCount }) => ({ name, columns, rowCount }))]);
  }

  private async execute(ds: OpenDataset, plan: QueryPlan, name: string | null, ctx: JobContext): Promise<QuerySummary> {
    const t0 = performance.now();
    const { id, table } = this.store.allocate();
    const named = this.store.holdNamed(ds.summary.datasetId, plan.analysis.namedResults);
    const total = this.engine.roughRows(ds, plan);
    let scanned = 0;
    // Streamed tables are read while the SQL runs: their rows count under "Running SQL".
    let phase = "Scanning";
    ctx.progress(0, total, phase);
    let report;
    try {
      const tables = new Map(named.tables);
      for (const r of await this.extraRelations(ds.summary.datasetId))
        if (plan.analysis.namedResults.includes(r.name.toLowerCase())) tables.set(r.name.toLowerCase(), r.table);
      report = await this.engine.run(ds, plan, table, tables, {
        signal: ctx.signal,
        onRows: (n) => {
          scanned += n;
          ctx.progress(scanned, Math.max(total, scanned), phase);
        },
        onSql: (streaming) => {
          phase = "Running SQL";
          ctx.progress(scanned, streaming ? Math.max(total, scanned) : scanned, phase);
        },
      });
    } finally {
      named.release();
    }
    if (ctx.signal.aborted) {
      // Cancelled after the SQL finished: nobody will receive this result, so drop it now.
      await this.drop(table);
      throwIfAborted(ctx.signal, "QUERY_CANCELLED");
    }
    const conn = await this.engine.connect();
    let summary: QuerySummary;
    let evicted: string[];
    try {
      const qualified = qualifiedName(RESULTS_SCHEMA, table);
      const head = await conn.runAndReadAll(`SELECT * FROM ${qualified} LIMIT 0`);
      const count = await conn.runAndReadAll(`SELECT count(*)::DOUBLE FROM ${qualified}`);
      const rowCount = Number(count.getRows()[0][0]);
      const columns = describeColumns(head.columnNames(), head.columnTypes());
      const sizing = rowSizing(head.columnNames(), head.columnTypes());
      const bytes = await tableBytes(conn, qualified, sizing, rowCount);
      evicted = this.store.add({ id, table, datasetId: ds.summary.datasetId, name, columns, rowCount, bytes, sizing });
      summary = {
        resultId: id,
        name,
        columns,
        rowCount,
        elapsedMs: performance.now() - t0,
        scans: report.scans,
        scanMs: report.scanMs,
        sqlMs: report.sqlMs,
      };
    } finally {
      conn.closeSync();
    }
    for (const t of evicted) await this.drop(t);
    if (name) await this.drop(this.store.setName(ds.summary.datasetId, name, id));
    ctx.progress(scanned, scanned, "Done");
    return summary;
  }

  private async drop(table: string | null): Promise<void> {
    if (!table) return;
    const conn = await this.engine.connect();
    try {
      await conn.run(`DROP TABLE IF EXISTS ${qualifiedName(RESULTS_SCHEMA, table)}`);
    } finally {
      conn.closeSync();
    }
  }
}
