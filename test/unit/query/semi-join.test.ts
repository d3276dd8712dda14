/**
 * Semi-join filtering: expression is restricted to the ids of the filtered cells/genes (or of a named result)
 * before DuckDB sees it. The engine here sends at most 4 ids as an IN list and 2 ranges to Lance, so the small
 * fixture's scattered sets take the bitmap path; every answer is compared with DuckDB over the whole tables.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { QuerySummary, ScanReport } from "../../../shared/ipc/contract";
import { DOC_QUERIES, ORDERED } from "./doc-queries";
import { unwrap } from "../../fixtures/result";
import { canonical, run, useQueryEnvironment } from "./helpers";

// Rows, not partial aggregates, so that what the id filter lets through can be counted; streamed into the query
// however few rows a scan expects (stream-function.ts: the id filter applies in the scan worker).
const q = useQueryEnvironment({ beforeAll, afterAll }, { idSetLimits: { inList: 4, ranges: 2 }, preAggregate: false, streamMinRows: 0 });
const JOIN = "expression e JOIN cells c ON e.cell_integer_id = c.cell_integer_id";

function expressionScan(summary: QuerySummary): ScanReport {
  const s = summary.scans.find((x) => x.table === "expression");
  if (!s) throw new Error(`no expression scan: ${JSON.stringify(summary.scans)}`);
  return s;
}

/** Runs `sql` (optionally naming the result) and checks it against the oracle running `oracleSql` (default: the same). */
async function same(sql: string, oracleSql = sql, name?: string): Promise<QuerySummary> {
  const { summary, rows } = await run(q.env, sql, name ? { name } : {});
  const expected = await q.oracle.rows(oracleSql.replace(/;\s*$/, ""));
  expect(canonical(rows), sql).toEqual(canonical(expected));
  return summary;
}

/** Expression rows the oracle joins for a condition on cells: what an exact early filter appends. */
async function joinedRows(cellCondition: string): Promise<number> {
  const [[n]] = await q.oracle.rows(`SELECT count(*) FROM ${JOIN} WHERE ${cellCondition}`);
  return Number(n);
}

describe("semi-join filtering", () => {
  it("appends only the expression rows of cells of one type (a bitmap over scattered ids)", async () => {
    const s = await same(`SELECT c.cell_type, SUM(e.value) AS total, AVG(e.value) AS mean, COUNT(*) AS n FROM ${JOIN} WHERE c.cell_type = 'B' GROUP BY 1`);
    const e = expressionScan(s);
    expect(e.idFilter).toMatch(/^cell_integer_id in 20 ids of cells where "cell_type" = 'B'$/);
    expect(e.rowsScanned).toBe(e.tableRows);
    expect(e.rowsAppended).toBe(await joinedRows("c.cell_type = 'B'"));
    expect(e.rowsAppended).toBeLessThan(e.rowsScanned / 4);
  });

  it("takes JOIN … USING (cell_integer_id) of two tables as the same id link as ON", async () => {
    const using = "expression e JOIN cells c USING (cell_integer_id)";
    const e = expressionScan(await same(`SELECT c.cell_type, SUM(e.value), COUNT(*) FROM ${using} WHERE c.cell_type = 'B' GROUP BY 1`));
    expect(e.idFilter).toMatch(/^cell_integer_id in 20 ids of cells where "cell_type" = 'B'$/);
    expect(e.rowsAppended).toBeLessThan(e.rowsScanned / 4);
    // A LEFT JOIN … USING keeps every expression row: never filtered early.
    const left = expressionScan(
      await same(
        `SELECT COUNT(*), COUNT(c.cell_type) FROM expression e LEFT JOIN cells c USING (cell_integer_id) WHERE c.cell_type = 'B' OR c.cell_type IS NULL`,
      ),
    );
    expect(left.idFilter).toBeNull();
  });

  it("filters by a numeric range on cells", async () => {
    const cond = "c.nCount_RNA BETWEEN 1500 AND 2500";
    const e = expressionScan(await same(`SELECT c.cell_type, SUM(e.value), COUNT(*) FROM ${JOIN} WHERE ${cond} GROUP BY 1`));
    expect(e.idFilter).toMatch(/^cell_integer_id in \d+ ids of cells where/);
    expect(e.rowsAppended).toBe(await joinedRows(cond));
    expect(e.rowsAppended).toBeLessThan(e.rowsScanned);
  });

  it("filters by a cell set and by any named result that holds cell ids", async () => {
    const types = "('NK', 'DC', 'B')";
    await run(q.env, `SELECT cell_integer_id FROM cells WHERE cell_type IN ${types}`, { name: "my_set" });
    await run(q.env, `SELECT cell_id, cell_integer_id, cell_type FROM cells WHERE nFeature_RNA > 900`, { name: "busy_cells" });
    const inSet = `e.cell_integer_id IN (SELECT cell_integer_id FROM cells WHERE cell_type IN ${types})`;
    const joined = await same(
      "SELECT s.cell_integer_id, SUM(e.value) FROM my_set s JOIN expression e ON s.cell_integer_id = e.cell_integer_id GROUP BY 1",
      `SELECT e.cell_integer_id, SUM(e.value) FROM expression e WHERE ${inSet} GROUP BY 1`,
    );
    const e = expressionScan(joined);
    expect(e.idFilter).toBe("cell_integer_id in 60 ids of my_set");
    expect(e.rowsAppended).toBe(await joinedRows(`c.cell_type IN ${types}`));

    const sub = expressionScan(
      await same(
        "SELECT COUNT(*), MAX(value) FROM expression WHERE cell_integer_id IN (SELECT cell_integer_id FROM my_set)",
        `SELECT COUNT(*), MAX(value) FROM expression e WHERE ${inSet}`,
      ),
    );
    expect(sub.idFilter).toBe("cell_integer_id in 60 ids of my_set");
    expect(sub.rowsAppended).toBe(e.rowsAppended);

    const busy = expressionScan(
      await same(
        "SELECT b.cell_type, COUNT(*) FROM busy_cells b JOIN expression e USING (cell_integer_id) GROUP BY 1",
        `SELECT c.cell_type, COUNT(*) FROM ${JOIN} WHERE c.nFeature_RNA > 900 GROUP BY 1`,
      ),
    );
    // USING between two plain references links them as ON does.
    expect(busy.idFilter).toMatch(/^cell_integer_id in \d+ ids of busy_cells$/);
    expect(busy.rowsAppended).toBe(await joinedRows("c.nFeature_RNA > 900"));
    const busyOn = expressionScan(
      await same(
        "SELECT b.cell_type, COUNT(*) FROM busy_cells b JOIN expression e ON b.cell_integer_id = e.cell_integer_id GROUP BY 1",
        `SELECT c.cell_type, COUNT(*) FROM ${JOIN} WHERE c.nFeature_RNA > 900 GROUP BY 1`,
      ),
    );
    expect(busyOn.idFilter).toMatch(/^cell_integer_id in \d+ ids of busy_cells$/);
    expect(busyOn.rowsAppended).toBe(await joinedRows("c.nFeature_RNA > 900"));
  });

  it("narrows a named result's ids by the query's own conditions on it (as for cell_sets(set_name, cell_integer_id))", async () => {
    await run(q.env, "SELECT cell_type AS set_name, cell_integer_id FROM cells WHERE cell_type IN ('NK', 'DC', 'B')", { name: "sets" });
    const sets = "(SELECT cell_type AS set_name, cell_integer_id FROM cells WHERE cell_type IN ('NK', 'DC', 'B'))";
    const sql =
      "SELECT s.set_name, COUNT(*), SUM(e.value) FROM sets s JOIN expression e ON s.cell_integer_id = e.cell_integer_id WHERE s.set_name = 'NK' GROUP BY 1";
    const e = expressionScan(await same(sql, sql.replace("FROM sets s", `FROM ${sets} s`)));
    expect(e.idFilter).toBe(`cell_integer_id in 20 ids of sets where "set_name" = 'NK'`);
    expect(e.rowsAppended).toBe(await joinedRows("c.cell_type = 'NK'"));
    const preview = unwrap(await q.env.query.preview({ datasetId: q.env.datasetId, sql }));
    expect(preview.scans.find((s) => s.table === "expression")!.filter).toBe("`cell_integer_id` IN <cell_integer_id of sets where `set_name` = 'NK'>");
  });

  it("filters by a gene symbol list, and by cells and genes at once", async () => {
    const genes = "('CD3D', 'CD8A', 'MS4A1', 'NKG7', 'LYZ')";
    const g = expressionScan(
      await same(
        `SELECT g.gene_id, COUNT(*), AVG(e.value) FROM expression e JOIN genes g ON e.gene_integer_id = g.gene_integer_id WHERE g.gene_id IN ${genes} GROUP BY 1`,
      ),
    );
    expect(g.idFilter).toBe(`gene_integer_id in 5 ids of genes where "gene_id" IN ('CD3D', 'CD8A', 'MS4A1', 'NKG7', 'LYZ')`);
    expect(g.filter).toMatch(/`gene_integer_id` BETWEEN \d+ AND \d+/);
    expect(g.rowsAppended).toBeLessThan(g.rowsScanned / 100);

    const both = expressionScan(
      await same(
        `SELECT c.cell_type, g.gene_id, SUM(e.value) FROM ${JOIN} JOIN genes g ON e.gene_integer_id = g.gene_integer_id WHERE g.gene_id IN ${genes} AND c.cell_type IN ('CD8 T', 'NK') GROUP BY ALL`,
      ),
    );
    expect(both.idFilter).toContain("cell_integer_id in 40 ids of cells where");
    expect(both.idFilter).toContain(" AND ");
    expect(both.idFilter).toContain("gene_integer_id in 5 ids of genes where");
    const [[n]] = await q.oracle.rows(
      `SELECT count(*) FROM ${JOIN} JOIN genes g ON e.gene_integer_id = g.gene_integer_id WHERE g.gene_id IN ${genes} AND c.cell_type IN ('CD8 T', 'NK')`,
    );
    expect(both.rowsAppended).toBe(Number(n));
  });

  it("sends contiguous ids to Lance as ranges instead", async () => {
    const one = expressionScan(await same(`SELECT COUNT(*), SUM(e.value) FROM ${JOIN} WHERE c.cell_integer_id < 40 AND c.nCount_RNA > 0`));
    expect(one.filter).toBe("`cell_integer_id` BETWEEN 0 AND 39");
    expect(one.idFilter ?? null).toBeNull();
    expect(one.rowsAppended).toBe(one.rowsScanned);
    const two = expressionScan(
      await same(`SELECT COUNT(*) FROM ${JOIN} WHERE (c.cell_integer_id < 10 OR c.cell_integer_id BETWEEN 100 AND 109) AND c.nCount_RNA > 0`),
    );
    expect(two.filter).toBe("(`cell_integer_id` BETWEEN 0 AND 9 OR `cell_integer_id` BETWEEN 100 AND 109)");
    expect(two.rowsScanned).toBe(await joinedRows("c.cell_integer_id < 10 OR c.cell_integer_id BETWEEN 100 AND 109"));
  });

  it("answers GROUP BY, DISTINCT and HAVING over filtered expression exactly", async () => {
    for (const sql of [
      `SELECT c.cell_type, SUM(e.value) AS s, AVG(e.value) AS a, COUNT(*) AS n, MIN(e.value), MAX(e.value) FROM ${JOIN} WHERE c.cell_type IN ('B', 'DC') GROUP BY 1`,
      `SELECT DISTINCT e.gene_integer_id FROM ${JOIN} WHERE c.cell_type = 'DC'`,
      `SELECT COUNT(DISTINCT e.gene_integer_id) FROM ${JOIN} WHERE c.cell_type = 'NK'`,
      `SELECT e.gene_integer_id, COUNT(*) AS n FROM ${JOIN} WHERE c.cell_type = 'CD14+ Mono' GROUP BY 1 HAVING COUNT(*) > 10`,
      `SELECT c.cell_id, SUM(e.value) FROM ${JOIN} WHERE c.cell_type = 'B' AND e.value > 2 GROUP BY 1 HAVING SUM(e.value) > 50`,
    ]) {
      const e = expressionScan(await same(sql));
      expect(e.idFilter, sql).toMatch(/^cell_integer_id in (20|40) ids of cells/);
      expect(e.rowsAppended!, sql).toBeLessThan(e.rowsScanned);
    }
  });

  it("never filters the nullable side of an outer join early", async () => {
    for (const sql of [
      `SELECT c.cell_type, COUNT(e.value) FROM cells c LEFT JOIN expression e ON e.cell_integer_id = c.cell_integer_id WHERE c.cell_type = 'B' GROUP BY 1`,
      `SELECT c.cell_type, COUNT(*) FROM expression e LEFT JOIN cells c ON e.cell_integer_id = c.cell_integer_id AND c.cell_type = 'B' GROUP BY 1`,
      `SELECT c.cell_type, COUNT(*) FROM expression e RIGHT JOIN cells c ON e.cell_integer_id = c.cell_integer_id WHERE c.cell_type = 'B' GROUP BY 1`,
      `SELECT c.cell_type, COUNT(*) FROM expression e FULL JOIN cells c ON e.cell_integer_id = c.cell_integer_id WHERE c.cell_type = 'B' GROUP BY 1`,
      `SELECT s.cell_integer_id, COUNT(e.value) FROM my_set s LEFT JOIN expression e ON s.cell_integer_id = e.cell_integer_id GROUP BY 1`,
    ]) {
      const oracleSql = sql.replace("my_set s", "(SELECT cell_integer_id FROM cells WHERE cell_type IN ('NK', 'DC', 'B')) s");
      const e = expressionScan(await same(sql, oracleSql));
      expect(e.idFilter ?? null, sql).toBeNull();
      expect(e.rowsAppended, sql).toBe(e.rowsScanned);
      expect(e.rowsScanned, sql).toBe(e.tableRows);
    }
  });

  it("reads nothing when no cell matches", async () => {
    const e = expressionScan(await same(`SELECT COUNT(*) FROM ${JOIN} WHERE c.cell_type = 'none'`));
    expect(e.rowsScanned).toBe(0);
  });

  for (const [name, sql] of Object.entries(DOC_QUERIES)) {
    it(`documentation query ${name} equals DuckDB over the whole tables`, async () => {
      const { rows } = await run(q.env, sql);
      const expected = await q.oracle.rows(sql.replace(/;\s*$/, ""));
      expect(canonical(rows)).toEqual(canonical(expected));
      if (ORDERED.has(name)) expect(canonical(rows, false)).toEqual(canonical(expected, false));
    });
  }
});
