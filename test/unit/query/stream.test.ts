/**
 * Fact tables streamed into the query from the scan worker (stream-function.ts, the built query-scan-worker.mjs):
 * answers equal the DuckDB oracle over whole tables, in order where order is defined, the stream is used (its
 * counter moves), the id filter applies in the worker, a cancel mid-stream ends cleanly (the worker closes its
 * tables and ends by itself), a failure inside the worker is a named error, and two queries stream at once.
 */
import fs from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { QuerySummary, ScanReport } from "../../../shared/ipc/contract";
import { scanWorkerPath } from "../../../main/services/query/scan-workers";
import { unwrap } from "../../fixtures/result";
import { DOC_QUERIES, ORDERED } from "./doc-queries";
import { canonical, openEnv, run, runJob, useQueryEnvironment, type Env } from "./helpers";

// Rows, not partial aggregates, so every GROUP BY over expression streams too.
// Every scan streams here, however few rows it expects (by default fewer than 1M are appended).
const q = useQueryEnvironment({ beforeAll, afterAll }, { preAggregate: false, idSetLimits: { inList: 4, ranges: 2 }, batchRows: 20_000, streamMinRows: 0 });
const JOIN = "expression e JOIN cells c ON e.cell_integer_id = c.cell_integer_id";

beforeAll(() => {
  if (!scanWorkerPath()) throw new Error("dist/main/query-scan-worker.mjs is not built (npm run build:main)");
});

const opened = (env: Env) => env.query.engine.streams!.opened;

function expressionScan(summary: QuerySummary): ScanReport {
  const s = summary.scans.find((x) => x.table === "expression");
  if (!s) throw new Error(`no expression scan: ${JSON.stringify(summary.scans)}`);
  return s;
}

/** Runs `sql` streamed, checks it against the oracle (in order when `ordered`) and that it streamed once. */
async function streamedSame(sql: string, ordered = false): Promise<QuerySummary> {
  const before = opened(q.env);
  const { summary, rows } = await run(q.env, sql);
  expect(opened(q.env) - before, sql).toBe(1);
  expect(canonical(rows, !ordered), sql).toEqual(canonical(await q.oracle.rows(sql), !ordered));
  // The page and the CLI say so.
  expect(
    summary.scans.filter((s) => s.streamed).map((s) => s.table),
    sql,
  ).toEqual([expressionScan(summary).table]);
  return summary;
}

describe("streaming expression into the query", () => {
  it("answers full scans, joins, GROUP BY, DISTINCT, HAVING and windows as DuckDB over whole tables", async () => {
    for (const sql of [
      "SELECT COUNT(*), SUM(value), MIN(gene_integer_id), MAX(cell_integer_id) FROM expression",
      "SELECT gene_integer_id, SUM(value) AS total, COUNT(*) AS n FROM expression GROUP BY 1 HAVING COUNT(*) > 20",
      "SELECT DISTINCT cell_integer_id FROM expression WHERE value > 5",
      `SELECT c.cell_type, SUM(e.value) AS total, AVG(e.value) AS mean, COUNT(*) AS n FROM ${JOIN} GROUP BY 1`,
      "SELECT g.gene_id, COUNT(*) FROM expression e JOIN genes g ON e.gene_integer_id = g.gene_integer_id GROUP BY 1",
      "SELECT cell_integer_id, gene_integer_id, value, rank() OVER (PARTITION BY cell_integer_id ORDER BY value DESC, gene_integer_id) AS r FROM expression WHERE cell_integer_id < 5",
    ]) {
      const e = expressionScan(await streamedSame(sql));
      expect(e.rowsScanned, sql).toBeGreaterThan(0);
      expect(e.rowsAppended, sql).toBe(e.rowsScanned);
    }
  });

  it("answers every documentation query as DuckDB over whole tables (in order where it is defined)", async () => {
    for (const [name, sql] of Object.entries(DOC_QUERIES)) {
      const { rows } = await run(q.env, sql);
      const expected = await q.oracle.rows(sql.replace(/;\s*$/, ""));
      expect(canonical(rows), name).toEqual(canonical(expected));
      if (ORDERED.has(name)) expect(canonical(rows, false), name).toEqual(canonical(expected, false));
    }
  });

  it("keeps the table's row order where the query has one (no ORDER BY, LIMIT, a copy of every row)", async () => {
    await streamedSame("SELECT * FROM expression LIMIT 7", true);
    await streamedSame("SELECT * FROM expression LIMIT 5 OFFSET 60000", true);
    await streamedSame("SELECT cell_integer_id, gene_integer_id, value FROM expression", true);
  });

  it("applies the id filter in the worker, before rows reach DuckDB", async () => {
    const sql = `SELECT c.cell_type, SUM(e.value) AS total, COUNT(*) AS n FROM ${JOIN} WHERE c.cell_type = 'B' GROUP BY 1`;
    const e = expressionScan(await streamedSame(sql));
    expect(e.idFilter).toMatch(/^cell_integer_id in 20 ids of cells where "cell_type" = 'B'$/);
    expect(e.rowsScanned).toBe(e.tableRows);
    const [[joined]] = await q.oracle.rows(`SELECT count(*) FROM ${JOIN} WHERE c.cell_type = 'B'`);
    expect(e.rowsAppended).toBe(Number(joined));
  });

  it("appends instead when the query reads expression twice, with the same answers", async () => {
    for (const sql of [
      "SELECT COUNT(*) FROM expression a JOIN expression b ON a.cell_integer_id = b.cell_integer_id AND a.gene_integer_id = b.gene_integer_id",
      "WITH x AS MATERIALIZED (SELECT * FROM expression) SELECT (SELECT COUNT(*) FROM x), (SELECT SUM(value) FROM x WHERE gene_integer_id < 100)",
      "WITH x AS NOT MATERIALIZED (SELECT * FROM expression) SELECT (SELECT COUNT(*) FROM x), (SELECT SUM(value) FROM x WHERE gene_integer_id < 100)",
    ]) {
      const { summary, rows } = await run(q.env, sql);
      expect(canonical(rows), sql).toEqual(canonical(await q.oracle.rows(sql)));
      expect(expressionScan(summary).rowsAppended, sql).toBe(expressionScan(summary).tableRows);
    }
  });

  it("runs two streamed queries at once", async () => {
    const a = `SELECT c.cell_type, SUM(e.value) FROM ${JOIN} GROUP BY 1`;
    const b = "SELECT gene_integer_id, COUNT(*), MAX(value) FROM expression GROUP BY 1";
    const before = opened(q.env);
    const [ra, rb] = await Promise.all([run(q.env, a), run(q.env, b)]);
    expect(opened(q.env) - before).toBe(2);
    expect(canonical(ra.rows)).toEqual(canonical(await q.oracle.rows(a)));
    expect(canonical(rb.rows)).toEqual(canonical(await q.oracle.rows(b)));
  });

  it("stops mid-stream when cancelled; the worker ends by itself and the next query streams", async () => {
    const slow = await openEnv(q.fixture, { preAggregate: false, batchRows: 512, streamMinRows: 0 });
    try {
      const workers = slow.query.engine.scanWorkers()!;
      const streams = slow.query.engine.streams!;
      let jobId = "";
      // Cancel as DuckDB takes the stream's first batch (cancel aborts at once, inside the table function's call).
      const add = streams.add.bind(streams);
      streams.add = (source) => add({ ...source, onRows: (n) => (source.onRows(n), void slow.jobs.cancel({ jobId })) });
      ({ jobId } = unwrap(await slow.query.start({ datasetId: slow.datasetId, sql: "SELECT SUM(value), COUNT(*) FROM expression", confirmed: true })));
      const end = unwrap(await slow.jobs.wait({ jobId }));
      streams.add = add;
      expect(end.state).toBe("cancelled");
      expect(end.error?.code).toBe("QUERY_CANCELLED");
      expect(end.progress.done).toBeGreaterThan(0);
      expect(end.progress.done).toBeLessThan(151_815);
      expect(slow.query.engine.streams!.opened).toBe(1);
      // The cancelled scan's worker is not reused: it is asked to end, finishes its read, closes its tables, ends.
      for (let i = 0; i < 500 && workers.ended.closed === 0; i++) await new Promise((r) => setTimeout(r, 10));
      expect(workers.ended).toEqual({ closed: 1, terminated: 0 });
      const again = await run(slow, "SELECT COUNT(*) FROM expression");
      expect(again.rows).toEqual([[151_815]]);
      expect(slow.query.engine.streams!.opened).toBe(2);
    } finally {
      await slow.close();
    }
  });

  it("fails with the worker's named error when the scan fails mid-stream, and does not hang", async () => {
    // A worker that sends one batch of the request's columns, then the error a damaged table gives.
    const file = path.join(q.fixture.dir, "failing-worker.mjs");
    await fs.writeFile(
      file,
      `import { parentPort } from "node:worker_threads";
parentPort.on("message", (req) => {
  if (req.t === "close") return parentPort.close();
  const counter = new Int32Array(req.notify);
  const send = (m) => { req.port.postMessage(m); Atomics.add(counter, 0, 1); Atomics.notify(counter, 0); };
  const columns = req.spec.columns.map(() => ({ values: new Uint16Array(100).fill(1), validity: null }));
  send({ t: "batch", batch: { rows: 100, columns, scanned: 100, bytes: 600 } });
  setTimeout(() => send({ t: "error", message: "boom", appError: { code: "TABLE_CORRUPT", message: "Table \\"expression\\" is damaged" } }), 50);
});
`,
    );
    const failing = await openEnv(q.fixture, { preAggregate: false, scanWorker: file, streamMinRows: 0 });
    try {
      const end = await runJob(failing, "SELECT SUM(gene_integer_id) FROM expression");
      expect(end.state).toBe("failed");
      expect(end.error).toMatchObject({ code: "TABLE_CORRUPT", message: 'Table "expression" is damaged' });
      expect(failing.query.engine.streams!.opened).toBe(1);
    } finally {
      await failing.close();
    }
  });

  it("appends when streaming is off, or when a scan expects fewer rows than the minimum, with the same answers", async () => {
    const plain = await openEnv(q.fixture, { preAggregate: false, stream: false });
    const small = await openEnv(q.fixture, { preAggregate: false });
    try {
      const sql = `SELECT c.cell_type, SUM(e.value), COUNT(*) FROM ${JOIN} WHERE c.cell_type IN ('NK', 'B') GROUP BY 1`;
      const a = await run(plain, sql);
      const b = await streamedSame(sql);
      expect(plain.query.engine.streams).toBeNull();
      expect(canonical(a.rows)).toEqual(canonical((await run(q.env, sql)).rows));
      expect(expressionScan(a.summary).rowsAppended).toBe(expressionScan(b).rowsAppended);
      // The fixture's 151,815 expression rows are under the default minimum of 1M.
      const c = await run(small, sql);
      expect(small.query.engine.streams!.opened).toBe(0);
      expect(c.summary.scans.some((s) => s.streamed)).toBe(false);
      expect(canonical(c.rows)).toEqual(canonical(a.rows));
    } finally {
      await plain.close();
      await small.close();
    }
  });
});
