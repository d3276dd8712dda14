/**
 * Fact tables kept warm: a large `expression` read by a second query has its columns held in memory (one scan)
 * and served from there after that, through the query's id filter, streamed or appended, within the budget; a
 * first read keeps its filtered scan.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { failure, unwrap } from "../../fixtures/result";
import { openEnv, runJob, sameAsOracle, scanOf, useQueryEnvironment, type Env } from "./helpers";

const q = useQueryEnvironment({ beforeAll, afterAll });

const same = (env: Env, sql: string) => sameAsOracle(env, q.oracle, sql);

const CELL_FILTER =
  "SELECT c.cell_type, SUM(e.value) AS total, COUNT(*) AS n FROM expression e JOIN cells c ON e.cell_integer_id = c.cell_integer_id WHERE c.cell_type = 'NK' GROUP BY 1";
const GENE_FILTER =
  "SELECT g.gene_id, AVG(e.value), COUNT(*) FROM expression e JOIN genes g ON e.gene_integer_id = g.gene_integer_id WHERE g.gene_id IN ('LYZ', 'CD3D') GROUP BY 1";

function warmKeys(env: Env): string[] {
  return [...env.query.engine.warm!.snapshot().keys()].map((k) => k.split("/")[1]).sort();
}

describe("warm fact tables", () => {
  it("keep a first read's filtered scan, hold expression on the second read, then stream it from memory", async () => {
    const env = await openEnv(q.fixture, { warmFactMinRows: 0, streamMinRows: 0 });
    try {
      const first = scanOf(await same(env, CELL_FILTER), "expression");
      expect(first.warm).toBeUndefined();
      expect(first.rowsAppended).toBeLessThan(first.tableRows);

      const streams = env.query.engine.streams!.opened;
      // The load reads the two halves of the table in two workers; the held rows keep table order.
      const workers = env.query.engine.scanWorkers()!;
      workers.splitMinRows = 2;
      const splits = workers.splits;
      const second = scanOf(await same(env, CELL_FILTER), "expression");
      expect(workers.splits).toBe(splits + 1);
      expect(second).toMatchObject({ warm: true, rowsScanned: second.tableRows, streamed: true });
      // The held rows still pass the cells' id filter before DuckDB sees them.
      expect(second.idFilter).toMatch(/cell_integer_id in/);
      const nk = await q.oracle.rows("SELECT COUNT(*) FROM expression e JOIN cells c ON e.cell_integer_id = c.cell_integer_id WHERE c.cell_type = 'NK'");
      expect(second.rowsAppended).toBe(Number(nk[0][0]));
      expect(env.query.engine.streams!.opened).toBe(streams + 1);
      expect(second.columns.sort()).toEqual(["cell_integer_id", "value"]);
      // Every column is held, as the table stores them: uint32 cell ids, uint16 gene ids and values.
      expect(env.query.engine.held.bytes()).toBe(second.tableRows * 8);
      const heldIds = (await same(env, "SELECT cell_integer_id FROM expression LIMIT 100000 OFFSET 20000")).rowCount;
      expect(heldIds).toBe(100_000);

      const third = scanOf(await same(env, "SELECT cell_integer_id % 7 AS k, MAX(value), COUNT(*) FROM expression WHERE value > 3 GROUP BY 1"), "expression");
      expect(third).toMatchObject({ warm: true, rowsScanned: 0, bytesScanned: 0 });
      // A GROUP BY the workers can pre-aggregate, over every row: their partials beat streaming the held rows.
      const grouped = scanOf(
        await same(env, "SELECT c.cell_type, SUM(e.value), COUNT(*) FROM expression e JOIN cells c ON e.cell_integer_id = c.cell_integer_id GROUP BY 1"),
        "expression",
      );
      expect(grouped.aggregated).toBeTruthy();
      expect(grouped.warm).toBeUndefined();

      // A query on a column the first ones did not ask for reads memory too: every column was held.
      const key = [...env.query.engine.warm!.snapshot().keys()].find((k) => k.endsWith("/expression"))!;
      expect(env.query.engine.warm!.snapshot().get(key)).toEqual(["cell_integer_id", "gene_integer_id", "value"]);
      expect(scanOf(await same(env, GENE_FILTER), "expression")).toMatchObject({ warm: true, rowsScanned: 0 });
      expect(scanOf(await same(env, CELL_FILTER), "expression").rowsScanned).toBe(0);
      // Outer joins and self-joins read the warm table like any other.
      await same(
        env,
        "SELECT c.cell_type, COUNT(e.value) FROM cells c LEFT JOIN expression e ON c.cell_integer_id = e.cell_integer_id AND e.value > 20 GROUP BY 1",
      );
      await same(
        env,
        "SELECT COUNT(*) FROM expression a JOIN expression b ON a.cell_integer_id = b.cell_integer_id AND a.gene_integer_id = b.gene_integer_id WHERE a.value > 30",
      );
      // A query that reads its held stream twice gets the rows appended instead, and the same answer.
      const twice = scanOf(
        await same(
          env,
          "WITH x AS NOT MATERIALIZED (SELECT * FROM expression) SELECT (SELECT COUNT(*) FROM x), (SELECT SUM(value) FROM x WHERE gene_integer_id < 100)",
        ),
        "expression",
      );
      expect(twice).toMatchObject({ warm: true, rowsScanned: 0, rowsAppended: twice.tableRows });
      expect(twice.streamed).toBeUndefined();
      expect(warmKeys(env)).toEqual(["cells", "expression"]);

      expect((await env.datasets.close({ datasetId: env.datasetId })).ok).toBe(true);
      await waitFor(() => env.query.engine.warm!.snapshot().size === 0);
      await waitFor(() => env.query.engine.held.bytes() === 0);
    } finally {
      await env.close();
    }
  });

  it("stay off below the row threshold and outside the budget", async () => {
    // The default threshold (a million rows) is far above this fixture's expression table.
    for (let i = 0; i < 3; i++) expect(scanOf(await same(q.env, CELL_FILTER), "expression").warm).toBeUndefined();
    expect(warmKeys(q.env)).not.toContain("expression");

    // A GROUP BY of every row that the workers pre-aggregate never holds expression: partials each time.
    const grouping = await openEnv(q.fixture, { warmFactMinRows: 0 });
    try {
      for (let i = 0; i < 3; i++) {
        const s = scanOf(
          await same(grouping, "SELECT c.cell_type, AVG(e.value) FROM expression e JOIN cells c ON e.cell_integer_id = c.cell_integer_id GROUP BY 1"),
          "expression",
        );
        expect(s.aggregated).toBeTruthy();
        expect(s.warm).toBeUndefined();
      }
      expect(grouping.query.engine.held.bytes()).toBe(0);
    } finally {
      await grouping.close();
    }

    // Room for the dimension tables' columns, not for expression's.
    const env = await openEnv(q.fixture, { warmFactMinRows: 0, warmBudgetBytes: 200_000 });
    try {
      for (let i = 0; i < 3; i++) {
        const s = scanOf(await same(env, CELL_FILTER), "expression");
        expect(s.warm).toBeUndefined();
        expect(s.rowsAppended).toBeLessThan(s.tableRows);
      }
      expect(warmKeys(env)).toEqual(["cells"]);
    } finally {
      await env.close();
    }
  });

  it("hold the query's columns when every column does not fit, and load again for a column they lack", async () => {
    // Room for expression's cell ids and values (6 bytes a row) and the cells' columns, not for all 8 bytes a row.
    const rows = Number((await q.oracle.rows("SELECT COUNT(*) FROM expression"))[0][0]);
    const env = await openEnv(q.fixture, { warmFactMinRows: 0, streamMinRows: 0, warmBudgetBytes: rows * 7 });
    try {
      await same(env, CELL_FILTER);
      expect(scanOf(await same(env, CELL_FILTER), "expression")).toMatchObject({ warm: true, rowsScanned: rows });
      const key = () => [...env.query.engine.warm!.snapshot().keys()].find((k) => k.endsWith("/expression"))!;
      expect(env.query.engine.warm!.snapshot().get(key())).toEqual(["cell_integer_id", "value"]);
      expect(scanOf(await same(env, CELL_FILTER), "expression").rowsScanned).toBe(0);
      // Gene ids are missing and the union does not fit: the query's own columns replace the held ones.
      expect(scanOf(await same(env, GENE_FILTER), "expression")).toMatchObject({ warm: true, rowsScanned: rows });
      expect(env.query.engine.warm!.snapshot().get(key())).toEqual(["gene_integer_id", "value"]);
      expect(env.query.engine.held.bytes()).toBe(rows * 4);
      expect(scanOf(await same(env, GENE_FILTER), "expression").rowsScanned).toBe(0);
    } finally {
      await env.close();
    }
  });

  it("ask no confirmation for a table read from memory: the preview says so and counts it for nothing", async () => {
    const env = await openEnv(q.fixture, { warmFactMinRows: 0, streamMinRows: 0, confirmBytes: 10 });
    try {
      const before = unwrap(await env.query.preview({ datasetId: env.datasetId, sql: GENE_FILTER }));
      expect(before.scans.find((x) => x.table === "expression")).toMatchObject({ inMemory: false });
      expect(before.needsConfirmation).toBe(true);
      expect(failure(await env.query.start({ datasetId: env.datasetId, sql: GENE_FILTER })).code).toBe("QUERY_NEEDS_CONFIRMATION");
      // Two runs hold expression's columns (and keep genes warm): the same query then reads no table.
      for (let i = 0; i < 2; i++) await same(env, GENE_FILTER);
      const after = unwrap(await env.query.preview({ datasetId: env.datasetId, sql: GENE_FILTER }));
      expect(after.scans.map((x) => [x.table, x.inMemory]).sort()).toEqual([
        ["expression", true],
        ["genes", true],
      ]);
      expect(after.scans.find((x) => x.table === "expression")!.estimatedBytes).toBe(before.scans.find((x) => x.table === "expression")!.estimatedBytes);
      expect([after.estimatedRows, after.estimatedBytes, after.needsConfirmation]).toEqual([0, 0, false]);
      const { jobId } = unwrap(await env.query.start({ datasetId: env.datasetId, sql: GENE_FILTER }));
      expect(unwrap(await env.jobs.wait({ jobId })).state).toBe("done");
    } finally {
      await env.close();
    }
  });

  it("append held rows when few pass the filter or nothing can stream; read on this thread without workers", async () => {
    for (const options of [{}, { stream: false }, { scanWorker: null }]) {
      const env = await openEnv(q.fixture, { warmFactMinRows: 0, ...options });
      try {
        await same(env, CELL_FILTER);
        const loaded = scanOf(await same(env, CELL_FILTER), "expression");
        expect(loaded).toMatchObject({ warm: true, rowsScanned: loaded.tableRows });
        expect(loaded.streamed).toBeUndefined();
        expect(loaded.rowsAppended).toBeLessThan(loaded.tableRows / 4);
        const all = scanOf(await same(env, "SELECT CAST(value AS INTEGER) AS v, COUNT(*) FROM expression GROUP BY 1"), "expression");
        expect(all).toMatchObject({ warm: true, rowsAppended: all.tableRows });
      } finally {
        await env.close();
      }
    }

    const cancelled = await openEnv(q.fixture, { warmFactMinRows: 0, batchRows: 1024 });
    try {
      await same(cancelled, CELL_FILTER);
      // Cancel as the load's scan delivers its first batch.
      let jobId = "";
      const workers = cancelled.query.engine.scanWorkers()!;
      const scan = workers.scan.bind(workers);
      workers.scan = async function* (...args) {
        for await (const b of scan(...args)) {
          void cancelled.jobs.cancel({ jobId });
          yield b;
        }
      };
      ({ jobId } = unwrap(await cancelled.query.start({ datasetId: cancelled.datasetId, sql: CELL_FILTER, confirmed: true })));
      const end = unwrap(await cancelled.jobs.wait({ jobId }));
      workers.scan = scan;
      expect(end.state).toBe("cancelled");
      expect(end.error?.code).toBe("QUERY_CANCELLED");
      expect(warmKeys(cancelled)).not.toContain("expression");
      expect(cancelled.query.engine.held.bytes()).toBe(0);
      // The next query loads it properly.
      const after = scanOf(await same(cancelled, CELL_FILTER), "expression");
      expect(after).toMatchObject({ warm: true, rowsScanned: after.tableRows });
      expect((await runJob(cancelled, "SELECT COUNT(*) FROM expression")).state).toBe("done");
    } finally {
      await cancelled.close();
    }
  });
});

async function waitFor(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error("condition not met");
}
