/** SQL over SLAF tables: DuckDB over Lance scans with projection and predicate pushdown (see engine.ts). */
import { formatBytes } from "../../../shared/format";
import { MAX_PAGE_ROWS, type QueryApi, type QueryPreview, type QuerySummary, type RowPage } from "../../../shared/ipc/contract";
import type { DatasetService } from "../datasets/service";
import type { OpenDataset } from "../datasets/open-dataset";
import { fail, guard, throwIfAborted } from "../errors";
import type { JobContext, JobService } from "../jobs/service";
import { describeColumns, readerToIpc } from "./arrow-out";
import { RESULTS_SCHEMA, SqlEngine, type EngineOptions, type QueryPlan } from "./engine";
import { exportTable } from "./export";
import { quoteIdent } from "./lance-to-duckdb";
import { ResultStore, validateName } from "./results";


export type QueryServiceOptions = EngineOptions;

export class QueryService implements QueryApi {
  readonly engine: SqlEngine;
  private readonly store = new ResultStore();

  constructor(
    readonly datasets: DatasetService,
    readonly jobs: JobService,
    readonly options: QueryServiceOptions,
  ) {
    this.engine = new SqlEngine(options);
  }

  start(req: { datasetId: string; sql: string; name?: string | null; confirmed?: boolean }) {
    return guard(async () => {
      const ds = this.datasets.get(req.datasetId);
      const name = validateName(req.name);
      if (typeof req.sql !== "string") fail("INVALID_ARGUMENT", "sql must be a string");
      const plan = await this.plan(ds, req.sql);
      if (!req.confirmed && (await this.engine.mayNeedConfirmation(ds, plan))) {
        const preview = await this.engine.preview(ds, plan);
        if (preview.needsConfirmation) {
          fail("QUERY_NEEDS_CONFIRMATION", `This query would read about ${formatBytes(preview.estimatedBytes)} (${preview.estimatedRows.toLocaleString("en-US")} rows) from ${preview.scans.map((s) => s.table).join(", ")}; run it again with confirmation`, {
            detail: JSON.stringify(preview),
          });
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
      const r = this.store.get(req.resultId);
      const offset = Math.max(0, Math.floor(Number(req.offset) || 0));
      const limit = Math.min(MAX_PAGE_ROWS, Math.max(0, Math.floor(Number(req.limit) || 0)));
      const conn = await this.engine.connect();
      try {
        const reader = await conn.runAndReadAll(`SELECT * FROM ${RESULTS_SCHEMA}.${quoteIdent(r.table)} LIMIT ${limit} OFFSET ${offset}`);
        return { offset, numRows: reader.currentRowCount, totalRows: r.rowCount, arrow: readerToIpc(reader) };
      } finally {
        conn.closeSync();
      }
    });
  }

  export(req: { resultId: string; format: "csv" | "parquet"; path: string }) {
    return guard(async () => {
      const r = this.store.get(req.resultId);
      await this.datasets.refuseWriteInside(req.path, "Cannot export there");
      const conn = await this.engine.connect();
      try {
        return await exportTable(conn, `${RESULTS_SCHEMA}.${quoteIdent(r.table)}`, req.format, req.path);
      } finally {
        conn.closeSync();
      }
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

  private plan(ds: OpenDataset, sql: string): Promise<QueryPlan> {
    return this.engine.plan(ds, sql, this.store.namedTables(ds.summary.datasetId).keys());
  }

  private async execute(ds: OpenDataset, plan: QueryPlan, name: string | null, ctx: JobContext): Promise<QuerySummary> {
    const t0 = performance.now();
    const { id, table } = this.store.allocate();
    const namedAll = this.store.namedTables(ds.summary.datasetId);
    const named = new Map(plan.analysis.namedResults.map((n) => [n, namedAll.get(n)!] as [string, string]).filter(([, t]) => t));
    const total = this.engine.roughRows(ds, plan);
    let scanned = 0;
    ctx.progress(0, total, "Scanning");
    const report = await this.engine.run(ds, plan, table, named, {
      signal: ctx.signal,
      onRows: (n) => {
        scanned += n;
        ctx.progress(scanned, Math.max(total, scanned), "Scanning");
      },
      onSql: () => ctx.progress(scanned, scanned, "Running SQL"),
    });
    if (ctx.signal.aborted) {
      // Cancelled after the SQL finished: nobody will receive this result, so drop it now.
      await this.drop(table);
      throwIfAborted(ctx.signal, "QUERY_CANCELLED");
    }
    const conn = await this.engine.connect();
    let summary: QuerySummary;
    try {
      const qualified = `${RESULTS_SCHEMA}.${quoteIdent(table)}`;
      const head = await conn.runAndReadAll(`SELECT * FROM ${qualified} LIMIT 0`);
      const count = await conn.runAndReadAll(`SELECT count(*)::DOUBLE FROM ${qualified}`);
      const rowCount = Number(count.getRows()[0][0]);
      const columns = describeColumns(head.columnNames(), head.columnTypes());
      this.store.add({ id, table, datasetId: ds.summary.datasetId, name, columns, rowCount, released: false });
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
    if (name) await this.drop(this.store.setName(ds.summary.datasetId, name, id));
    ctx.progress(scanned, scanned, "Done");
    return summary;
  }

  private async drop(table: string | null): Promise<void> {
    if (!table) return;
    const conn = await this.engine.connect();
    try {
      await conn.run(`DROP TABLE IF EXISTS ${RESULTS_SCHEMA}.${quoteIdent(table)}`);
    } finally {
      conn.closeSync();
    }
  }
}
