/** Pushdown, named results, paging, export, errors, confirmation, cancel and progress of the SQL engine. */
import fs from "node:fs/promises";
import path from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { QueryPreview, QuerySummary, ScanReport } from "../../../shared/ipc/contract";
import { arrow } from "../../../main/services/arrow";
import { canonical, openEnv, run, runJob, useQueryEnvironment } from "./helpers";
import { unwrap, failure } from "../../fixtures/result";

// Pushdown into Lance is what these tests look at: cells and genes are scanned for each query, never kept warm.
const q = useQueryEnvironment({ beforeAll, afterAll }, { warmBudgetBytes: 0 });

function scan(summary: QuerySummary, table: string): ScanReport {
  const s = summary.scans.find((x) => x.table === table);
  if (!s) throw new Error(`no scan of ${table}: ${JSON.stringify(summary.scans)}`);
  return s;
}

async function checkAgainstOracle(sql: string): Promise<QuerySummary> {
  const { summary, rows } = await run(q.env, sql);
  expect(canonical(rows), sql).toEqual(canonical(await q.oracle.rows(sql)));
  return summary;
}

describe("projection and predicate pushdown", () => {
  it("reads only the columns a query names", async () => {
    const s = await checkAgainstOracle("SELECT cell_type, AVG(nCount_RNA) FROM cells GROUP BY 1");
    const c = scan(s, "cells");
    expect(c.columns.sort()).toEqual(["cell_type", "nCount_RNA"]);
    expect(c.filter).toBeNull();
    expect(c.rowsScanned).toBe(c.tableRows);
    expect(c.bytesScanned).toBeLessThan(c.tableBytes);
  });

  it("reads one narrow column for COUNT(*)", async () => {
    const s = await checkAgainstOracle("SELECT COUNT(*) FROM expression");
    const e = scan(s, "expression");
    expect(e.columns).toEqual(["gene_integer_id"]);
    expect(e.rowsScanned).toBe(151_815);
    expect(e.bytesScanned).toBe(151_815 * 2);
  });

  it("pushes comparisons, IN, BETWEEN, IS NULL and OR into the Lance scan", async () => {
    const cases: [string, RegExp][] = [
      ["SELECT cell_id FROM cells WHERE cell_type = 'B'", /`cell_type` = 'B'/],
      ["SELECT cell_id FROM cells WHERE cell_type IN ('B', 'NK') AND nCount_RNA > 1500", /`cell_type` IN \('B', 'NK'\).*`nCount_RNA` > 1500/],
      ["SELECT cell_id FROM cells WHERE nFeature_RNA BETWEEN 500 AND 700.5", /`nFeature_RNA` BETWEEN 500 AND 700\.5/],
      ["SELECT cell_id FROM cells WHERE cell_type = 'B' OR seurat_clusters = '4'", /\(`cell_type` = 'B' OR `seurat_clusters` = '4'\)/],
      ["SELECT cell_id FROM cells WHERE cell_type IS NULL OR cell_type = 'DC'", /`cell_type` IS NULL/],
    ];
    for (const [sql, pattern] of cases) {
      const c = scan(await checkAgainstOracle(sql), "cells");
      expect(c.filter).toMatch(pattern);
      expect(c.rowsScanned).toBeLessThan(c.tableRows);
      expect(c.bytesScanned).toBeLessThan(c.tableBytes);
    }
  });

  it("restricts expression by the ids a cells or genes filter selects (joins and IN subqueries)", async () => {
    const joined = await checkAgainstOracle(
      "SELECT c.cell_type, g.gene_id, SUM(e.value) FROM cells c JOIN expression e ON c.cell_integer_id = e.cell_integer_id JOIN genes g ON e.gene_integer_id = g.gene_integer_id WHERE g.gene_id IN ('CD3D', 'MS4A1') AND c.cell_type = 'B' GROUP BY ALL",
    );
    const e = scan(joined, "expression");
    expect(e.filter).toMatch(/`cell_integer_id` IN \(/);
    expect(e.filter).toMatch(/`gene_integer_id` IN \(4865, 5153\)/);
    expect(e.rowsScanned).toBeLessThan(100);
    expect(scan(joined, "genes").rowsScanned).toBe(2);

    const sub = await checkAgainstOracle(
      "SELECT SUM(value) FROM expression WHERE cell_integer_id IN (SELECT cell_integer_id FROM cells WHERE cell_type = 'NK')",
    );
    const e2 = scan(sub, "expression");
    expect(e2.filter).toMatch(/`cell_integer_id` (IN|BETWEEN)/);
    expect(e2.rowsScanned).toBeLessThan(e2.tableRows / 4);
  });

  it("reads nothing from expression when the cells filter matches no cell", async () => {
    const s = await checkAgainstOracle(
      "SELECT COUNT(*) FROM cells c JOIN expression e ON c.cell_integer_id = e.cell_integer_id WHERE c.cell_type = 'no such type'",
    );
    expect(scan(s, "expression").rowsScanned).toBe(0);
  });

  it("pushes an id range on expression itself", async () => {
    const e = scan(
      await checkAgainstOracle("SELECT cell_integer_id, COUNT(*) FROM expression WHERE cell_integer_id BETWEEN 0 AND 39 AND value > 0 GROUP BY 1"),
      "expression",
    );
    expect(e.filter).toMatch(/`cell_integer_id` BETWEEN 0 AND 39/);
    expect(e.rowsScanned).toBeLessThan(e.tableRows / 2);
  });

  it("keeps outer-join semantics: only the ON clause restricts the nullable side", async () => {
    const s = await checkAgainstOracle(
      "SELECT c.cell_type, COUNT(e.value) FROM cells c LEFT JOIN expression e ON c.cell_integer_id = e.cell_integer_id AND e.value > 50 GROUP BY 1",
    );
    expect(scan(s, "expression").filter).toBe("`value` > 50");
    expect(scan(s, "cells").filter).toBeNull();
    const t = await checkAgainstOracle(
      "SELECT COUNT(*) FROM cells c LEFT JOIN expression e ON c.cell_integer_id = e.cell_integer_id AND e.gene_integer_id = 5153 WHERE e.value IS NULL",
    );
    expect(scan(t, "expression").filter).toBe("`gene_integer_id` = 5153");
  });

  it("reads the union of what several references of one table need", async () => {
    const s = await checkAgainstOracle(
      "SELECT (SELECT COUNT(*) FROM cells WHERE cell_type = 'B') AS b, (SELECT COUNT(*) FROM cells WHERE cell_type = 'NK') AS nk",
    );
    const c = scan(s, "cells");
    expect(c.rowsScanned).toBe(40);
    expect(c.filter).toMatch(/OR/);
    const all = scan(await checkAgainstOracle("SELECT (SELECT COUNT(*) FROM cells WHERE cell_type = 'B'), (SELECT COUNT(*) FROM cells)"), "cells");
    expect(all.filter).toBeNull();
  });

  it("answers queries it cannot push down exactly as DuckDB does", async () => {
    for (const sql of [
      "SELECT COUNT(*) FROM expression WHERE value > -1", // out of uint16 range: not pushed
      "SELECT COUNT(*) FROM expression WHERE value >= 2.5",
      "SELECT COUNT(*) FROM cells WHERE percent_mt <= 2.5",
      "SELECT COUNT(*) FROM cells WHERE cell_type > 'C' AND lower(cell_type) LIKE '%t%'",
      "WITH cells AS (SELECT * FROM genes WHERE highly_variable) SELECT COUNT(*) FROM cells",
      "SELECT * FROM cells NATURAL JOIN (SELECT 'B' AS cell_type) t",
      "SELECT x.* FROM (SELECT * FROM cells) x WHERE x.cell_type = 'DC'",
      "SELECT cells FROM cells WHERE cell_type = 'DC'",
      "SELECT c.X_umap[1] AS u, c.cell_id FROM cells c WHERE c.cell_type = 'NK'",
      "SELECT * FROM genes g JOIN expression e USING (gene_integer_id) WHERE gene_integer_id = 5153",
      "SELECT cell_type, cnt FROM (SELECT cell_type, COUNT(*) AS cnt FROM cells GROUP BY 1) WHERE cnt > 5 UNION ALL SELECT 'x', 1",
      "SELECT 42 AS answer",
    ]) {
      await checkAgainstOracle(sql);
    }
  });
});

describe("named results", () => {
  it("are readable by name by later queries, replaced on re-run, and released", async () => {
    const first = await run(q.env, "SELECT * FROM cells WHERE cell_type = 'B'", { name: "my_cell" });
    expect(first.summary.name).toBe("my_cell");
    const count = await run(q.env, "SELECT COUNT(*) FROM my_cell");
    expect(count.rows).toEqual([[20]]);
    const joined = await run(q.env, "SELECT COUNT(*) FROM my_cell m JOIN expression e ON m.cell_integer_id = e.cell_integer_id");
    expect(joined.rows).toEqual(
      await q.oracle.rows("SELECT COUNT(*) FROM cells m JOIN expression e ON m.cell_integer_id = e.cell_integer_id WHERE m.cell_type = 'B'"),
    );
    const preview = unwrap(await q.env.query.preview({ datasetId: q.env.datasetId, sql: "SELECT * FROM my_cell" }));
    expect(preview.namedResults).toEqual(["my_cell"]);

    await run(q.env, "SELECT * FROM cells WHERE cell_type IN ('NK', 'DC')", { name: "my_cell" });
    expect((await run(q.env, "SELECT COUNT(*) FROM MY_CELL")).rows).toEqual([[40]]);
    // The replaced result stays readable until released.
    expect(unwrap(await q.env.query.page({ resultId: first.summary.resultId, offset: 0, limit: 5 })).numRows).toBe(5);
    unwrap(await q.env.query.release({ resultId: first.summary.resultId }));
    expect(failure(await q.env.query.page({ resultId: first.summary.resultId, offset: 0, limit: 5 })).code).toBe("RESULT_NOT_FOUND");
  });

  it("refuses names that are not identifiers or are SLAF tables", async () => {
    expect(failure(await q.env.query.start({ datasetId: q.env.datasetId, sql: "SELECT 1", name: "cells" })).code).toBe("INVALID_ARGUMENT");
    expect(failure(await q.env.query.start({ datasetId: q.env.datasetId, sql: "SELECT 1", name: "my cell" })).code).toBe("INVALID_ARGUMENT");
  });
});

describe("paging and export", () => {
  it("pages at most 5,000 rows of Arrow IPC at a time", async () => {
    const event = await runJob(
      q.env,
      "SELECT e.*, c.cell_type FROM expression e JOIN cells c ON e.cell_integer_id = c.cell_integer_id ORDER BY e.cell_integer_id, e.gene_integer_id",
    );
    const summary = event.result as QuerySummary;
    expect(summary.rowCount).toBe(151_815);
    const page = unwrap(await q.env.query.page({ resultId: summary.resultId, offset: 150_000, limit: 100_000 }));
    expect(page.numRows).toBe(1_815);
    expect(page.totalRows).toBe(151_815);
    const big = unwrap(await q.env.query.page({ resultId: summary.resultId, offset: 0, limit: 100_000 }));
    expect(big.numRows).toBe(5_000);
    const t = arrow.tableFromIPC(big.arrow);
    expect(t.numRows).toBe(5_000);
    expect(t.schema.fields.map((f) => `${f.name}:${f.type}`)).toEqual(["cell_integer_id:Uint32", "gene_integer_id:Uint16", "value:Uint16", "cell_type:Utf8"]);
    expect(summary.columns.map((c) => c.type)).toEqual(["Uint32", "Uint16", "Uint16", "Utf8"]);
    const expected = await q.oracle.rows(
      "SELECT e.*, c.cell_type FROM expression e JOIN cells c ON e.cell_integer_id = c.cell_integer_id ORDER BY e.cell_integer_id, e.gene_integer_id LIMIT 3 OFFSET 150000",
    );
    const at = unwrap(await q.env.query.page({ resultId: summary.resultId, offset: 150_000, limit: 3 }));
    const rows = arrow
      .tableFromIPC(at.arrow)
      .toArray()
      .map((r) => Object.values(r.toJSON()));
    expect(rows).toEqual(expected);
    expect(unwrap(await q.env.query.page({ resultId: summary.resultId, offset: 200_000, limit: 10 })).numRows).toBe(0);
  });

  it("exports CSV and Parquet that read back to the same rows", async () => {
    const { summary } = await run(q.env, "SELECT cell_type, COUNT(*) AS n, AVG(nCount_RNA) AS mean FROM cells GROUP BY 1 ORDER BY 1");
    const csv = path.join(q.fixture.dir, "out.csv");
    const parquet = path.join(q.fixture.dir, "out.parquet");
    const a = unwrap(await q.env.query.export({ resultId: summary.resultId, format: "csv", path: csv }));
    const b = unwrap(await q.env.query.export({ resultId: summary.resultId, format: "parquet", path: parquet }));
    expect(a.bytes).toBe((await fs.stat(csv)).size);
    expect(b.bytes).toBe((await fs.stat(parquet)).size);
    const text = await fs.readFile(csv, "utf8");
    expect(text.split("\n")[0]).toBe("cell_type,n,mean");
    const expected = await q.oracle.rows("SELECT cell_type, COUNT(*) AS n, AVG(nCount_RNA) AS mean FROM cells GROUP BY 1 ORDER BY 1");
    const inst = await DuckDBInstance.create(":memory:");
    const conn = await inst.connect();
    for (const file of [csv, parquet]) {
      const back = (await conn.runAndReadAll(`SELECT * FROM '${file}'`)).getRowsJS().map((r) => r.map((v) => (typeof v === "bigint" ? Number(v) : v)));
      expect(canonical(back)).toEqual(canonical(expected));
    }
    conn.closeSync();
    inst.closeSync();
    expect(failure(await q.env.query.export({ resultId: summary.resultId, format: "csv", path: "relative.csv" })).code).toBe("INVALID_ARGUMENT");
    expect((await fs.readdir(q.fixture.dir)).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });
});

describe("errors point at the problem", () => {
  const start = (sql: string) => q.env.query.start({ datasetId: q.env.datasetId, sql });

  it("gives syntax errors a 1-based line and column", async () => {
    const e = failure(await start("SELECT cell_type,\n  COUNT(*)\nFRM cells"));
    expect(e.code).toBe("QUERY_INVALID");
    expect(e.message).toMatch(/syntax error/i);
    // "cells" is the 34th character.
    expect(e.position).toEqual({ line: 3, column: 5, offset: 34 });
  });

  it("names the available tables for an unknown table", async () => {
    const e = failure(await start("SELECT *\nFROM cellz"));
    expect(e.code).toBe("QUERY_INVALID");
    expect(e.message).toContain('"cellz"');
    expect(e.message).toMatch(/cells, genes, expression/);
    expect(e.position).toMatchObject({ line: 2, column: 6 });
  });

  it("names the available columns for an unknown column", async () => {
    const event = await runJob(q.env, "SELECT cell_type,\n  total_counts FROM cells");
    expect(event.state).toBe("failed");
    expect(event.error?.code).toBe("QUERY_INVALID");
    expect(event.error?.message).toContain('"total_counts"');
    expect(event.error?.message).toContain("nCount_RNA");
    expect(event.error?.position).toMatchObject({ line: 2, column: 3 });
  });

  it("passes type errors through readably", async () => {
    const event = await runJob(q.env, "SELECT cell_type + 1 FROM cells");
    expect(event.error?.code).toBe("QUERY_INVALID");
    expect(event.error?.message).toMatch(/^Binder Error: No function matches/);
    expect(event.error?.message).not.toContain("Candidate functions");
    expect(event.error?.position).toMatchObject({ line: 1, column: 18 });
  });

  it("runs only single queries", async () => {
    expect(failure(await start("CREATE TABLE x AS SELECT 1")).message).toMatch(/Only queries/);
    expect(failure(await start("SELECT 1; SELECT 2")).message).toMatch(/one query at a time/);
    expect(failure(await start("  ")).message).toMatch(/empty/);
  });

  it("accepts a trailing semicolon and comments", async () => {
    const { rows } = await run(q.env, "SELECT COUNT(*) FROM cells; -- all of them");
    expect(rows).toEqual([[160]]);
  });

  it("keeps semicolons inside E'' strings, dollar quotes and quoted names", async () => {
    expect((await run(q.env, "SELECT E'\\';' AS x")).rows).toEqual([["';"]]);
    expect((await run(q.env, "SELECT $$;$$ AS x, cell_type AS \"a;b\" FROM cells WHERE cell_type = E'B;' ; -- ;")).rows).toEqual([]);
  });
});

describe("running a plan", () => {
  it("does not change the plan it runs, even when it widens a scan for a column the analysis missed", async () => {
    const ds = q.env.datasets.get(q.env.datasetId);
    const plan = await q.env.query.engine.plan(ds, "SELECT cell_type, nCount_RNA FROM cells WHERE cell_type = 'B'", []);
    // As if the analysis had missed nCount_RNA: the run must find it missing and read cells whole.
    const needs = plan.analysis.tables.get("cells")!;
    needs.columns.delete("nCount_RNA");
    const before = { columns: [...needs.columns].sort(), allColumns: needs.allColumns, tables: [...plan.analysis.tables.keys()] };
    const conn = await q.env.query.engine.connect();
    try {
      const report = await q.env.query.engine.run(ds, plan, "plan_test", new Map(), { signal: new AbortController().signal, onRows: () => undefined });
      expect(report.scans.find((s) => s.table === "cells")!.columns).toContain("nCount_RNA");
      expect((await conn.runAndReadAll("SELECT count(*)::INTEGER FROM results.plan_test")).getRows()).toEqual([[20]]);
      await conn.run("DROP TABLE results.plan_test");
    } finally {
      conn.closeSync();
    }
    const after = plan.analysis.tables.get("cells")!;
    expect(after).toBe(needs);
    expect({ columns: [...after.columns].sort(), allColumns: after.allColumns, tables: [...plan.analysis.tables.keys()] }).toEqual(before);
  });

  it("reads a table unfiltered only when Lance refuses the pushed predicate", async () => {
    const ds = q.env.datasets.get(q.env.datasetId);
    const plan = await q.env.query.engine.plan(ds, "SELECT COUNT(*) FROM cells WHERE cell_type = 'B'", []);
    // A predicate Lance cannot resolve (a number against a list column): planning it fails, so the scan goes unfiltered.
    plan.analysis.tables.get("cells")!.refs[0].preds = [{ op: "cmp", column: "X_umap", cmp: "=", value: { kind: "number", value: 1 } }];
    const conn = await q.env.query.engine.connect();
    try {
      const report = await q.env.query.engine.run(ds, plan, "refused_test", new Map(), { signal: new AbortController().signal, onRows: () => undefined });
      const cells = report.scans.find((s) => s.table === "cells")!;
      expect(cells.filter).toBeNull();
      expect(cells.rowsScanned).toBe(160);
      expect((await conn.runAndReadAll("SELECT * FROM results.refused_test")).getRowsJS()).toEqual([[20n]]);
      await conn.run("DROP TABLE results.refused_test");
    } finally {
      conn.closeSync();
    }
  });
});

describe("cost preview and confirmation", () => {
  it("estimates rows and bytes per scan and asks to confirm over the threshold", async () => {
    const small = await openEnv(q.fixture, { confirmBytes: 1000 });
    try {
      const sql = "SELECT c.cell_type, SUM(e.value) FROM cells c JOIN expression e ON c.cell_integer_id = e.cell_integer_id WHERE c.cell_type = 'B' GROUP BY 1";
      const p = unwrap(await small.query.preview({ datasetId: small.datasetId, sql }));
      const cells = p.scans.find((s) => s.table === "cells")!;
      expect(cells.estimatedRows).toBe(20);
      expect(cells.filter).toBe("`cell_type` = 'B'");
      const expr = p.scans.find((s) => s.table === "expression")!;
      expect(expr.filter).toMatch(/cell_integer_id.*IN <cell_integer_id of cells where `cell_type` = 'B'>/);
      expect(expr.estimatedRows).toBe(Math.round(151_815 / 8));
      expect(expr.estimatedBytes).toBe(expr.estimatedRows * 6);
      expect(p.needsConfirmation).toBe(true);
      const e = failure(await small.query.start({ datasetId: small.datasetId, sql }));
      expect(e.code).toBe("QUERY_NEEDS_CONFIRMATION");
      expect((JSON.parse(e.detail!) as QueryPreview).scans.length).toBe(2);
      const { jobId } = unwrap(await small.query.start({ datasetId: small.datasetId, sql, confirmed: true }));
      expect(unwrap(await small.jobs.wait({ jobId })).state).toBe("done");
      const tiny = unwrap(await small.query.preview({ datasetId: small.datasetId, sql: "SELECT 1" }));
      expect(tiny.needsConfirmation).toBe(false);
    } finally {
      await small.close();
    }
    const p = unwrap(await q.env.query.preview({ datasetId: q.env.datasetId, sql: "SELECT * FROM expression" }));
    expect(p.needsConfirmation).toBe(false);
  });
});

describe("progress and cancel", () => {
  it("streams rows-scanned progress and ends with the summary", async () => {
    const before = q.env.events.length;
    const event = await runJob(q.env, "SELECT COUNT(*) FROM expression");
    const mine = q.env.events.slice(before).filter((e) => e.jobId === event.jobId);
    expect(mine[0].state).toBe("running");
    expect(mine[0].progress.unit).toBe("rows");
    expect(mine.at(-1)!.state).toBe("done");
    expect(mine.at(-1)!.progress.done).toBe(151_815);
  });

  it("stops the Lance scan when cancelled", async () => {
    const slow = await openEnv(q.fixture, { batchRows: 512 });
    try {
      slow.onEvent = (e) => {
        if (e.state === "running") void slow.jobs.cancel({ jobId: e.jobId });
      };
      const { jobId } = unwrap(await slow.query.start({ datasetId: slow.datasetId, sql: "SELECT SUM(value) FROM expression" }));
      const end = unwrap(await slow.jobs.wait({ jobId }));
      expect(end.state).toBe("cancelled");
      expect(end.error?.code).toBe("QUERY_CANCELLED");
      expect(end.progress.done).toBeLessThan(151_815);
      slow.onEvent = null;
      expect((await run(slow, "SELECT COUNT(*) FROM cells")).rows).toEqual([[160]]);
    } finally {
      await slow.close();
    }
  });

  it("interrupts DuckDB when cancelled while the SQL runs", async () => {
    const { jobId } = unwrap(
      await q.env.query.start({
        datasetId: q.env.datasetId,
        sql: "SELECT COUNT(*) FROM expression a JOIN expression b ON a.value + b.value > 3 * (a.gene_integer_id % 7)",
        confirmed: true,
      }),
    );
    for (;;) {
      const job = unwrap(await q.env.jobs.list()).find((j) => j.jobId === jobId)!;
      if (job.progress.message === "Running SQL" || job.state !== "running") break;
      await new Promise((r) => setTimeout(r, 10));
    }
    unwrap(await q.env.jobs.cancel({ jobId }));
    const end = unwrap(await q.env.jobs.wait({ jobId }));
    expect(end.state).toBe("cancelled");
    expect(end.error?.code).toBe("QUERY_CANCELLED");
    expect((await run(q.env, "SELECT COUNT(*) FROM genes")).rows).toEqual([[8674]]);
  });
});
