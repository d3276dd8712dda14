/** Cells and genes kept loaded between queries: reuse, widening, the budget, eviction, release with the dataset. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WARM_SCHEMA, WarmTables } from "../../../main/services/query/warm-tables";
import { openEnv, sameAsOracle, scanOf, useQueryEnvironment, type Env } from "./helpers";

const q = useQueryEnvironment({ beforeAll, afterAll });

const same = (env: Env, sql: string) => sameAsOracle(env, q.oracle, sql);

async function warmTableCount(env: Env): Promise<number> {
  const conn = await env.query.engine.connect();
  try {
    const r = await conn.runAndReadAll(`SELECT count(*)::INTEGER FROM duckdb_tables() WHERE schema_name = '${WARM_SCHEMA}'`);
    return Number(r.getRows()[0][0]);
  } finally {
    conn.closeSync();
  }
}

describe("warm dimension tables", () => {
  it("load cells once for a notebook of joins, widen for a new column, and give DuckDB's answers", async () => {
    const join = "FROM cells c JOIN expression e ON c.cell_integer_id = e.cell_integer_id";
    const first = scanOf(await same(q.env, `SELECT c.cell_type, SUM(e.value) ${join} GROUP BY 1`), "cells");
    expect(first).toMatchObject({ warm: true, rowsScanned: 160, filter: null });

    const again = scanOf(await same(q.env, `SELECT c.cell_type, COUNT(*) ${join} WHERE c.cell_type = 'B' GROUP BY 1`), "cells");
    expect(again).toMatchObject({ warm: true, rowsScanned: 0, bytesScanned: 0 });

    const wider = scanOf(await same(q.env, `SELECT c.seurat_clusters, MAX(e.value) ${join} WHERE c.nCount_RNA > 2000 GROUP BY 1`), "cells");
    expect(wider).toMatchObject({ warm: true, rowsScanned: 160 });
    expect(wider.columns.sort()).toEqual(["cell_integer_id", "nCount_RNA", "seurat_clusters"]);
    const key = [...q.env.query.engine.warm!.snapshot().keys()].find((k) => k.endsWith("/cells"))!;
    expect(q.env.query.engine.warm!.snapshot().get(key)).toEqual(["cell_integer_id", "cell_type", "nCount_RNA", "seurat_clusters"]);

    // Everything warm now: nothing read from cells; expression is still filtered by the cells' ids.
    const s = await same(q.env, `SELECT c.cell_type, c.seurat_clusters, COUNT(*) ${join} WHERE c.cell_type = 'NK' GROUP BY ALL`);
    expect(scanOf(s, "cells").rowsScanned).toBe(0);
    expect(scanOf(s, "expression").rowsScanned).toBeLessThan(scanOf(s, "expression").tableRows / 4);
    expect(await warmTableCount(q.env)).toBe(1);
  });

  it("keep a filtered one-off scan of a table no query read before, and warm it the next time", async () => {
    const genes = "SELECT gene_id, highly_variable FROM genes WHERE gene_id IN ('CD3D', 'LYZ')";
    const once = scanOf(await same(q.env, genes), "genes");
    expect(once.warm).toBeUndefined();
    expect(once.rowsScanned).toBe(2);
    const twice = scanOf(await same(q.env, genes), "genes");
    expect(twice).toMatchObject({ warm: true, rowsScanned: 8674 });
  });

  it("answer concurrent queries that widen the same table", async () => {
    const sqls = [
      "SELECT percent_mt > 3 AS high, COUNT(*) FROM cells GROUP BY 1",
      "SELECT orig_ident, AVG(nFeature_RNA) FROM cells GROUP BY 1",
      "SELECT cell_type, MIN(percent_mt), MAX(nFeature_RNA) FROM cells GROUP BY 1",
    ];
    await Promise.all(sqls.map((sql) => same(q.env, sql)));
  });

  it("stay within the budget (least recently used first) and go when the dataset closes", async () => {
    // Room for cells' types (160 short strings) but not for the 8,674 gene symbols.
    const env = await openEnv(q.fixture, { warmBudgetBytes: 8000 });
    try {
      const cells = scanOf(await same(env, "SELECT cell_type, COUNT(*) FROM cells GROUP BY 1"), "cells");
      expect(cells.warm).toBe(true);
      expect(await warmTableCount(env)).toBe(1);
      const genes = scanOf(await same(env, "SELECT COUNT(DISTINCT gene_id) FROM genes"), "genes");
      // The gene symbols do not fit: scanned as usual, and cells stay.
      expect(genes.warm).toBeUndefined();
      expect(genes.rowsScanned).toBe(8674);
      expect([...env.query.engine.warm!.snapshot().keys()].map((k) => k.split("/")[1])).toEqual(["cells"]);

      unwrapClose(await env.datasets.close({ datasetId: env.datasetId }));
      await waitFor(async () => (await warmTableCount(env)) === 0);
      expect(env.query.engine.warm!.snapshot().size).toBe(0);
    } finally {
      await env.close();
    }
  });
});

describe("warm table bookkeeping", () => {
  it("never drops a table a running query reads: a replaced or evicted table goes when its last reader is done", async () => {
    const dropped: string[] = [];
    const warm = new WarmTables(100, async (names) => void dropped.push(...names));
    const req = (key: string, columns: string[]) => ({
      key,
      columns,
      filtered: false,
      bytesOf: (cols: string[]) => cols.length * 30,
      load: async () => undefined,
    });
    const a = (await warm.use(req("ds1@1/cells", ["x"])))!;
    expect(a.loaded).toBe(true);
    const b = (await warm.use(req("ds1@1/cells", ["x", "y"])))!;
    expect(b.name).not.toBe(a.name);
    expect(dropped).toEqual([]);
    a.release();
    expect(dropped).toEqual([a.name]);
    // 60 + 60 > 100: the cells table (least recently used) is retired, and dropped once b lets go.
    const c = (await warm.use(req("ds1@1/genes", ["g", "h"])))!;
    expect(warm.snapshot().has("ds1@1/cells")).toBe(false);
    expect(dropped).toEqual([a.name]);
    b.release();
    expect(dropped).toEqual([a.name, b.name]);
    expect(await warm.use(req("ds1@1/cells", ["a", "b", "c", "d"]))).toBeNull();
    // A union over the budget gives way to the columns asked for.
    const d = (await warm.use(req("ds1@1/genes", ["i", "j", "k"])))!;
    expect(warm.snapshot().get("ds1@1/genes")).toEqual(["i", "j", "k"]);
    expect(dropped).toEqual([a.name, b.name]);
    c.release();
    expect(dropped).toEqual([a.name, b.name, c.name]);
    d.release();
    await warm.releaseDataset("ds1");
    expect(dropped).toEqual([a.name, b.name, c.name, d.name]);
  });
});

function unwrapClose(r: { ok: boolean }): void {
  expect(r.ok).toBe(true);
}

async function waitFor(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error("condition not met");
}
