/**
 * Early aggregation: GROUP BY queries over expression read partial aggregates per cell or gene instead of rows.
 * Every answer (values, column names and types) is DuckDB's over the whole tables; shapes that must not be
 * rewritten read rows.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { QuerySummary, ScanReport } from "../../../shared/ipc/contract";
import { PartialAggregator } from "../../../main/services/query/partial-aggregator";
import { canonical, openEnv, run, useQueryEnvironment, type Env } from "./helpers";

// What is not aggregated early is streamed into the query, however few rows (stream-function.ts).
const q = useQueryEnvironment({ beforeAll, afterAll }, { streamMinRows: 0 });
let rowsEnv: Env;
beforeAll(async () => {
  rowsEnv = await openEnv(q.fixture, { preAggregate: false });
});
afterAll(async () => {
  await rowsEnv?.close();
});

const JOIN_CELLS = "expression e JOIN cells c ON e.cell_integer_id = c.cell_integer_id";
const JOIN_GENES = "expression e JOIN genes g ON e.gene_integer_id = g.gene_integer_id";

function expressionScan(summary: QuerySummary): ScanReport {
  return summary.scans.find((s) => s.table === "expression")!;
}

/** Runs `sql` with and without early aggregation: same rows as the oracle, same column names and types. */
async function same(sql: string): Promise<ScanReport> {
  const { summary, rows } = await run(q.env, sql);
  const oracle = await q.oracle.rowObjects(sql);
  expect(canonical(rows), sql).toEqual(canonical(oracle.map((o) => Object.values(o).map((v) => (typeof v === "bigint" ? Number(v) : v)))));
  expect(
    summary.columns.map((c) => c.name),
    sql,
  ).toEqual(oracle.length ? Object.keys(oracle[0]) : summary.columns.map((c) => c.name));
  const plain = await run(rowsEnv, sql);
  expect(summary.columns, sql).toEqual(plain.summary.columns);
  expect(expressionScan(plain.summary).aggregated ?? null, sql).toBeNull();
  return expressionScan(summary);
}

describe("early aggregation", () => {
  it("reads one partial row per cell for a GROUP BY over cells' columns", async () => {
    const e = await same(
      `SELECT c.cell_type, SUM(e.value) AS total, AVG(e.value), COUNT(*), COUNT(e.value) AS n, MIN(e.value), MAX(e.value) FROM ${JOIN_CELLS} GROUP BY c.cell_type ORDER BY 1`,
    );
    expect(e.aggregated).toBe("per cell_integer_id: count, sum/count/min/max of value");
    expect(e.rowsScanned).toBe(151_815);
    expect(e.rowsAppended).toBe(160);
  });

  it("combines with the cells filter, HAVING, expressions over aggregates, ORDER BY and LIMIT", async () => {
    const filtered = await same(
      `SELECT c.cell_type, SUM(e.value) * 1.0 / COUNT(*) AS mean, MAX(e.value) - MIN(e.value) AS spread FROM ${JOIN_CELLS} WHERE c.cell_type IN ('B', 'NK') AND c.nCount_RNA > 1000 GROUP BY 1 HAVING COUNT(*) > 100 ORDER BY mean DESC LIMIT 1`,
    );
    expect(filtered.aggregated).toMatch(/^per cell_integer_id/);
    expect(filtered.rowsAppended).toBeLessThanOrEqual(40);
    const byCell = await same(
      "SELECT cell_integer_id, SUM(value), COUNT(*) FROM expression WHERE cell_integer_id < 80 GROUP BY cell_integer_id ORDER BY 2 DESC, 1 LIMIT 10",
    );
    expect(byCell.rowsAppended).toBe(80);
  });

  it("reads one partial row per gene for a GROUP BY over genes' columns", async () => {
    const e = await same(
      `SELECT g.gene_id, COUNT(e.value) AS expressed_cells, AVG(e.value) AS mean_expression, MAX(e.value) FROM ${JOIN_GENES} WHERE g.highly_variable GROUP BY g.gene_id HAVING expressed_cells > 100`,
    );
    expect(e.aggregated).toMatch(/^per gene_integer_id/);
    expect(e.rowsAppended).toBeLessThan(8674);
  });

  it("reads a single partial row for aggregates over all of expression, also when no row matches", async () => {
    expect((await same("SELECT SUM(value), AVG(value), COUNT(*), MIN(value), MAX(value) FROM expression")).rowsAppended).toBe(1);
    await same(`SELECT COUNT(*), SUM(e.value), AVG(e.value) FROM ${JOIN_CELLS} WHERE c.cell_type = 'none'`);
  });

  it("takes JOIN … USING as the same join as ON, the merged column unqualified too", async () => {
    const byType = await same(
      "SELECT c.cell_type, SUM(e.value) AS total, COUNT(*) AS n FROM expression e JOIN cells c USING (cell_integer_id) WHERE c.cell_type IN ('B', 'NK') GROUP BY c.cell_type ORDER BY 1",
    );
    expect(byType.aggregated).toBe("per cell_integer_id: count, sum/count/min/max of value");
    expect(byType.rowsAppended).toBeLessThanOrEqual(40);
    const byCell = await same(
      "SELECT cell_integer_id, cell_type, AVG(value) FROM cells JOIN expression USING (cell_integer_id) GROUP BY cell_integer_id, cell_type ORDER BY 3 DESC, 1 LIMIT 5",
    );
    expect(byCell.aggregated).toMatch(/^per cell_integer_id/);
    const byGene = await same(
      "SELECT g.highly_variable, MAX(e.value), COUNT(e.value) FROM genes g JOIN expression e USING (gene_integer_id) GROUP BY 1 ORDER BY 1",
    );
    expect(byGene.aggregated).toMatch(/^per gene_integer_id/);
    // Dimension rows joined among themselves by USING: each cell's rows still meet the same dimension rows.
    const pairs = await same(
      "SELECT COUNT(*), SUM(e.value) FROM (cells c1 JOIN cells c2 USING (cell_type)) JOIN expression e ON e.cell_integer_id = c1.cell_integer_id",
    );
    expect(pairs.aggregated).toMatch(/^per cell_integer_id/);
  });

  it("reads rows for everything it cannot combine from partials", async () => {
    for (const sql of [
      `SELECT c.cell_type, COUNT(DISTINCT e.gene_integer_id) FROM ${JOIN_CELLS} GROUP BY 1`,
      `SELECT c.cell_type, SUM(c.nCount_RNA), SUM(e.value) FROM ${JOIN_CELLS} GROUP BY 1`,
      `SELECT c.cell_type, median(e.value) FROM ${JOIN_CELLS} GROUP BY 1`,
      `SELECT c.cell_type, SUM(e.value * 2) FROM ${JOIN_CELLS} GROUP BY 1`,
      `SELECT c.cell_type, SUM(e.value) FROM ${JOIN_CELLS} WHERE e.value > 3 GROUP BY 1`,
      `SELECT c.cell_type, g.highly_variable, SUM(e.value) FROM ${JOIN_CELLS} JOIN genes g ON e.gene_integer_id = g.gene_integer_id GROUP BY 1, 2`,
      `SELECT c.cell_type, COUNT(e.value) FROM cells c LEFT JOIN expression e ON e.cell_integer_id = c.cell_integer_id GROUP BY 1`,
      `SELECT c.cell_type, SUM(SUM(e.value)) OVER () FROM ${JOIN_CELLS} GROUP BY 1`,
      `SELECT c.cell_type, SUM(e.value) FROM ${JOIN_CELLS} GROUP BY ROLLUP (c.cell_type)`,
      `WITH t AS (SELECT * FROM expression) SELECT COUNT(*) FROM t`,
      `SELECT c.cell_type, (SELECT COUNT(*) FROM genes) AS g, SUM(e.value) FROM ${JOIN_CELLS} GROUP BY 1`,
      `SELECT e.gene_integer_id, e.cell_integer_id FROM ${JOIN_CELLS} WHERE c.cell_type = 'DC' ORDER BY ALL LIMIT 5`,
      // Two keys, one per USING join.
      "SELECT c.cell_type, g.highly_variable, SUM(e.value) FROM expression e JOIN cells c USING (cell_integer_id) JOIN genes g USING (gene_integer_id) GROUP BY 1, 2",
      `SELECT c.cell_type, COUNT(e.value) FROM cells c LEFT JOIN expression e USING (cell_integer_id) GROUP BY 1`,
    ]) {
      const e = await same(sql);
      expect(e.aggregated ?? null, sql).toBeNull();
      expect(e.rowsAppended, sql).toBe(e.rowsScanned);
    }
  });
});

describe("partial aggregates", () => {
  it("count, sum, min and max per key, nulls skipped, a null key its own row, keys past the expected range too", () => {
    const acc = new PartialAggregator({ key: 0, columns: [1], span: 2 });
    const bits = (xs: number[]) => {
      const out = new Uint8Array(Math.ceil(xs.length / 8));
      xs.forEach((x, i) => x && (out[i >> 3] |= 1 << (i & 7)));
      return out;
    };
    acc.add({
      rows: 5,
      columns: [
        { values: Uint32Array.from([0, 1, 0, 5, 9]), validity: bits([1, 1, 1, 1, 0]) },
        { values: Float32Array.from([1.5, 2, 3, 7, 4]), validity: bits([1, 0, 1, 1, 1]) },
      ],
    });
    acc.add({
      rows: 2,
      columns: [
        { values: Uint32Array.from([1, 5]), validity: null },
        { values: Float32Array.from([-1, 0.25]), validity: null },
      ],
    });
    const r = acc.result();
    expect(r.rows).toBe(4);
    const [keys, n, sum, cnt, min, max] = r.columns;
    const isValid = (c: { validity: Uint8Array | null }, i: number) => !c.validity || ((c.validity[i >> 3] >> (i & 7)) & 1) === 1;
    expect([0, 1, 2, 3].map((i) => (isValid(keys, i) ? keys.values[i] : null))).toEqual([0, 1, 5, null]);
    expect(Array.from(n.values as Float64Array)).toEqual([2, 2, 2, 1]);
    expect(Array.from(sum.values as Float64Array)).toEqual([4.5, -1, 7.25, 4]);
    expect(Array.from(cnt.values as Float64Array)).toEqual([2, 1, 2, 1]);
    expect(min.values).toBeInstanceOf(Float32Array);
    expect(Array.from(min.values as Float32Array)).toEqual([1.5, -1, 0.25, 4]);
    expect(Array.from(max.values as Float32Array)).toEqual([3, -1, 7, 4]);
  });

  it("give the same partials without nulls (runs of equal keys), for sorted and shuffled keys over several batches", () => {
    const keys = Uint32Array.from({ length: 3000 }, (_, i) => Math.floor(i / 7) % 300);
    const shuffled = Uint32Array.from(keys, (_, i) => keys[(i * 7919) % keys.length]);
    const a = Uint16Array.from(keys, (_, i) => (i * 31) % 97);
    const b = Float64Array.from(keys, (_, i) => Math.sin(i));
    for (const k of [keys, shuffled]) {
      const acc = new PartialAggregator({ key: 0, columns: [1, 2], span: 10 });
      for (let off = 0; off < k.length; off += 1000) {
        acc.add({
          rows: 1000,
          columns: [
            { values: k.subarray(off, off + 1000), validity: null },
            { values: a.subarray(off, off + 1000), validity: null },
            { values: b.subarray(off, off + 1000), validity: null },
          ],
        });
      }
      const r = acc.result();
      const expected = new Map<number, number[]>();
      k.forEach((key, i) => {
        const e = expected.get(key) ?? [0, 0, Infinity, -Infinity, 0, Infinity, -Infinity];
        const x = a[i];
        const y = b[i];
        expected.set(key, [e[0] + 1, e[1] + x, Math.min(e[2], x), Math.max(e[3], x), e[4] + y, Math.min(e[5], y), Math.max(e[6], y)]);
      });
      expect(r.rows).toBe(expected.size);
      const got = (i: number) => r.columns.map((c) => Number(c.values[i]));
      for (let i = 0; i < r.rows; i++) {
        const [key, n, sumA, cntA, minA, maxA, sumB, cntB, minB, maxB] = got(i);
        const e = expected.get(key)!;
        expect([n, sumA, cntA, minA, maxA, cntB, minB, maxB]).toEqual([e[0], e[1], e[0], e[2], e[3], e[0], e[5], e[6]]);
        expect(sumB).toBeCloseTo(e[4], 9);
      }
    }
  });

  it("gives up (for the query to read rows) on sums that float64 cannot hold exactly", () => {
    const acc = new PartialAggregator({ key: null, columns: [0], span: 1 });
    const big = new Uint32Array(4096).fill(2 ** 32 - 1);
    for (let i = 0; i < 600; i++) acc.add({ rows: big.length, columns: [{ values: big, validity: null }] });
    expect(() => acc.result()).toThrow(/^Partial aggregation not possible/);
  });
});
