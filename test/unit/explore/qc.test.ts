/** QC per cell through the app's SQL engine equals the same numbers computed directly in DuckDB over the demo's tables. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CellSetInfo, ExploreQc } from "../../../shared/ipc/contract";
import { cellIdsToBytes } from "../../../shared/notebook/cell-sets";
import { failure } from "../../fixtures/result";
import { ipcColumns, useExploreEnvironment } from "./helpers";

const env = useExploreEnvironment({ beforeAll, afterAll });

const ORACLE = `
  SELECT c.cell_integer_id,
    count(e.value) FILTER (WHERE e.value > 0) AS n_genes,
    coalesce(sum(e.value) FILTER (WHERE e.value > 0), 0) AS total,
    coalesce(sum(e.value) FILTER (WHERE e.value > 0 AND (g.gene_id LIKE 'MT-%' OR g.gene_id LIKE 'mt-%')), 0) AS mito
  FROM cells c LEFT JOIN expression e ON e.cell_integer_id = c.cell_integer_id LEFT JOIN genes g ON g.gene_integer_id = e.gene_integer_id
  GROUP BY 1 ORDER BY 1`;

async function runQc(set: string | null): Promise<ExploreQc> {
  const { jobId, sql } = await env.ok<{ jobId: string; sql: string }>("explore", "qc", { datasetId: env.datasetId, set });
  expect(sql).toContain("FROM expression");
  const event = await env.waitJob(jobId);
  expect(event).toMatchObject({ kind: "explore", state: "done", result: { task: "qc", set } });
  return env.ok<ExploreQc>("explore", "qcData", { datasetId: env.datasetId, set });
}

describe("explore QC", () => {
  it("gives genes, counts and percent mitochondrial per cell equal to DuckDB directly", async () => {
    const qc = await runQc(null);
    const truth = (await env.oracle.rows(ORACLE)) as number[][];
    const cols = ipcColumns(qc.arrow);
    expect(qc.cells).toBe(160);
    expect(Array.from(cols.cell_integer_id)).toEqual(truth.map((r) => r[0]));
    expect(Array.from(cols.n_genes)).toEqual(truth.map((r) => r[1]));
    expect(Array.from(cols.total_counts)).toEqual(truth.map((r) => Math.fround(r[2])));
    truth.forEach((r, i) => expect(cols.pct_mito[i]).toBeCloseTo(r[2] > 0 ? (100 * r[3]) / r[2] : 0, 4));
    // The demo has mitochondrial counts: the numbers are not all zero.
    expect(Array.from(cols.pct_mito).some((v) => v > 0)).toBe(true);
    const [[mito]] = (await env.oracle.rows("SELECT count(*) FROM genes WHERE gene_id LIKE 'MT-%' OR gene_id LIKE 'mt-%'")) as number[][];
    expect(qc.mitoGenes).toBe(mito);
  });

  it("computes QC for a set only, and forgets it when the set changes", async () => {
    const ids = [3, 17, 42, 99, 150];
    await env.ok<CellSetInfo>("explore", "defineSet", { datasetId: env.datasetId, name: "five", from: { kind: "ids", ids: cellIdsToBytes(ids) } });
    const qc = await runQc("five");
    expect(qc.sql).toContain("cell_sets");
    const truth = ((await env.oracle.rows(ORACLE)) as number[][]).filter((r) => ids.includes(r[0]));
    const cols = ipcColumns(qc.arrow);
    expect(Array.from(cols.cell_integer_id)).toEqual(ids);
    expect(Array.from(cols.n_genes)).toEqual(truth.map((r) => r[1]));
    await env.ok("explore", "defineSet", { datasetId: env.datasetId, name: "five", from: { kind: "ids", ids: cellIdsToBytes([1]) }, replace: true });
    expect(failure(await env.call("explore", "qcData", { datasetId: env.datasetId, set: "five" })).code).toBe("EXPLORE_NOT_READY");
    expect(failure(await env.call("explore", "qc", { datasetId: env.datasetId, set: "no such set" })).code).toBe("EXPLORE_SET_NOT_FOUND");
  });
});
