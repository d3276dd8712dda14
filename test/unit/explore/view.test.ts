/** Explore's reads on the PBMC fixture: embeddings, points, colours, gene values and search, against a DuckDB oracle. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type {
  ExploreCategoricalColors,
  ExploreContinuousColors,
  ExploreGeneSearch,
  ExploreGeneValues,
  ExploreInfo,
  ExplorePending,
  ExplorePointsPage,
} from "../../../shared/ipc/contract";
import { failure } from "../../fixtures/result";
import { ipcColumns, useExploreEnvironment } from "./helpers";

const env = useExploreEnvironment({ beforeAll, afterAll });

async function geneId(symbol: string): Promise<number> {
  const [[id]] = (await env.oracle.rows(`SELECT gene_integer_id FROM genes WHERE gene_id = '${symbol}'`)) as number[][];
  return id;
}

describe("explore reads", () => {
  it("describes embeddings and colourable columns from the cells schema", async () => {
    const info = await env.ok<ExploreInfo>("explore", "info", { datasetId: env.datasetId });
    expect(info.nCells).toBe(160);
    expect(info.nGenes).toBe(8674);
    expect(info.embeddings).toEqual([{ name: "X_umap", dims: 2 }]);
    const byName = Object.fromEntries(info.columns.map((c) => [c.name, c.kind]));
    expect(byName).toMatchObject({ cell_type: "categorical", nCount_RNA: "continuous", seurat_clusters: "categorical" });
    expect(byName.cell_id).toBeUndefined();
    expect(byName.cell_integer_id).toBeUndefined();
    expect(info.symbolColumn).toBe("gene_id");
  });

  it("pages every point with its coordinates and the bounds of all of them", async () => {
    const rows = (await env.oracle.rows("SELECT cell_integer_id, X_umap[1], X_umap[2] FROM cells ORDER BY cell_integer_id")) as number[][];
    const xs: number[] = [];
    const ys: number[] = [];
    const ids: number[] = [];
    let bounds: ExplorePointsPage["bounds"] | null = null;
    for (let offset = 0; offset < 160;) {
      const page = await env.ok<ExplorePointsPage>("explore", "points", { datasetId: env.datasetId, column: "X_umap", dims: [0, 1], offset, limit: 64 });
      expect(page.totalRows).toBe(160);
      bounds ??= page.bounds;
      expect(page.bounds).toEqual(bounds);
      const cols = ipcColumns(page.arrow);
      xs.push(...Array.from(cols.x));
      ys.push(...Array.from(cols.y));
      ids.push(...Array.from(cols.cell_integer_id));
      offset += page.numRows;
    }
    expect(ids).toEqual(rows.map((r) => r[0]));
    expect(xs).toEqual(rows.map((r) => Math.fround(r[1])));
    expect(ys).toEqual(rows.map((r) => Math.fround(r[2])));
    const [[minX, maxX, minY, maxY]] = (await env.oracle.rows(
      "SELECT min(X_umap[1]), max(X_umap[1]), min(X_umap[2]), max(X_umap[2]) FROM cells",
    )) as number[][];
    expect(bounds).toEqual({ x: [Math.fround(minX), Math.fround(maxX)], y: [Math.fround(minY), Math.fround(maxY)] });
    // Swapped dims are the same points mirrored.
    const swapped = ipcColumns(
      (await env.ok<ExplorePointsPage>("explore", "points", { datasetId: env.datasetId, column: "X_umap", dims: [1, 0], offset: 0, limit: 160 })).arrow,
    );
    expect(Array.from(swapped.x)).toEqual(ys);
  });

  it("colours by cell_type: 8 categories of 20, codes per cell_integer_id", async () => {
    const c = await env.ok<ExploreCategoricalColors>("explore", "colors", { datasetId: env.datasetId, column: "cell_type" });
    expect(c.kind).toBe("categorical");
    expect(c.categories).toHaveLength(8);
    expect(c.categories.every((k) => k.cells === 20)).toBe(true);
    expect(c.categories.map((k) => k.value)).toEqual([...c.categories.map((k) => k.value)].sort((a, b) => a!.localeCompare(b!, "en", { numeric: true })));
    const codes = ipcColumns(c.arrow).code;
    expect(codes).toBeInstanceOf(Uint16Array);
    const truth = (await env.oracle.rows("SELECT cell_type FROM cells ORDER BY cell_integer_id")) as string[][];
    expect(Array.from(codes).map((k) => c.categories[k].value)).toEqual(truth.map((r) => r[0]));
  });

  it("orders numeric categories by value and colours floats as continuous with quantiles", async () => {
    const clusters = await env.ok<ExploreCategoricalColors>("explore", "colors", { datasetId: env.datasetId, column: "seurat_clusters", as: "categorical" });
    const values = clusters.categories.map((k) => Number(k.value));
    expect(values).toEqual([...values].sort((a, b) => a - b));
    const n = await env.ok<ExploreContinuousColors>("explore", "colors", { datasetId: env.datasetId, column: "nCount_RNA" });
    expect(n.kind).toBe("continuous");
    const truth = ((await env.oracle.rows("SELECT nCount_RNA FROM cells ORDER BY cell_integer_id")) as number[][]).map((r) => r[0]);
    expect(Array.from(ipcColumns(n.arrow).value)).toEqual(truth.map(Math.fround));
    const sorted = [...truth].sort((a, b) => a - b);
    expect(n.min).toBe(Math.fround(sorted[0]));
    expect(n.max).toBe(Math.fround(sorted[159]));
    expect(n.q01).toBe(Math.fround(sorted[Math.ceil(0.01 * 160) - 1]));
    expect(n.q99).toBe(Math.fround(sorted[Math.ceil(0.99 * 160) - 1]));
    expect(failure(await env.call("explore", "colors", { datasetId: env.datasetId, column: "cell_type", as: "continuous" })).code).toBe(
      "EXPLORE_COLUMN_INVALID",
    );
  });

  it("reads a gene's values with the filter pushed down, equal to a direct SQL read", async () => {
    const lyz = await geneId("LYZ");
    const g = await env.ok<ExploreGeneValues>("explore", "gene", { datasetId: env.datasetId, geneIntegerId: lyz, transform: "raw" });
    const truth = (await env.oracle.rows(`SELECT cell_integer_id, value FROM expression WHERE gene_integer_id = ${lyz}`)) as number[][];
    const expected = new Float32Array(160);
    for (const [c, v] of truth) expected[c] = v;
    expect(Array.from(ipcColumns(g.arrow).value)).toEqual(Array.from(expected));
    expect(g.symbol).toBe("LYZ");
    expect(g.nExpressing).toBe(truth.filter((r) => r[1] > 0).length);
    expect(g.rowsRead).toBe(truth.length);
    expect(g.cached).toBe(false);
    expect((await env.ok<ExploreGeneValues>("explore", "gene", { datasetId: env.datasetId, geneIntegerId: lyz, transform: "raw" })).cached).toBe(true);
  });

  it("gives log1p(CP10k) once the counting pass has the per-cell totals", async () => {
    const lyz = await geneId("LYZ");
    let r = await env.ok<ExploreGeneValues | ExplorePending>("explore", "gene", { datasetId: env.datasetId, geneIntegerId: lyz, transform: "log1p_cp10k" });
    if ("pending" in r) {
      expect((await env.waitJob(r.jobId)).state).toBe("done");
      r = await env.ok<ExploreGeneValues | ExplorePending>("explore", "gene", { datasetId: env.datasetId, geneIntegerId: lyz, transform: "log1p_cp10k" });
    }
    if ("pending" in r) throw new Error("still pending after the pass");
    const truth = (await env.oracle.rows(
      `SELECT e.cell_integer_id, ln(1 + e.value / t.total * 10000) FROM expression e JOIN (SELECT cell_integer_id, sum(value) AS total FROM expression WHERE value > 0 GROUP BY 1) t USING (cell_integer_id) WHERE e.gene_integer_id = ${lyz}`,
    )) as number[][];
    const values = ipcColumns(r.arrow).value;
    for (const [c, v] of truth) expect(values[c]).toBeCloseTo(v, 5);
    expect(Array.from(values).filter((v) => v > 0)).toHaveLength(truth.length);
  });

  it("ranks gene matches: exact, prefix, substring, fuzzy; with cells expressing", async () => {
    const search = (query: string, limit = 20) => env.ok<ExploreGeneSearch>("explore", "searchGenes", { datasetId: env.datasetId, query, limit });
    await env.ok("explore", "stats", { datasetId: env.datasetId }).then((j) => env.waitJob((j as { jobId: string }).jobId));
    const lyz = await search("lyz");
    expect(lyz.matches[0]).toMatchObject({ symbol: "LYZ", match: "exact", on: "symbol" });
    const [[n]] = (await env.oracle.rows(
      "SELECT count(*) FROM expression e JOIN genes g USING (gene_integer_id) WHERE g.gene_id = 'LYZ' AND e.value > 0",
    )) as number[][];
    expect(lyz.matches[0].nCells).toBe(n);
    expect(lyz.stats.pass).toBe("ready");

    const cd3 = await search("CD3");
    const prefixes = cd3.matches.filter((m) => m.match === "prefix");
    expect(prefixes.map((m) => m.symbol)).toEqual(expect.arrayContaining(["CD3D", "CD3E", "CD3G"]));
    expect(cd3.matches.findIndex((m) => m.match !== "prefix")).toBeGreaterThanOrEqual(prefixes.length);
    // Within a rank, more expressing cells first.
    for (let i = 1; i < prefixes.length; i++) expect(prefixes[i - 1].nCells!).toBeGreaterThanOrEqual(prefixes[i].nCells!);

    const sub = await search("ND1");
    expect(sub.matches.some((m) => m.symbol === "MT-ND1" && m.match === "substring")).toBe(true);
    const fuzzy = await search("LYX");
    expect(fuzzy.matches).toContainEqual(expect.objectContaining({ symbol: "LYZ", match: "fuzzy", distance: 1 }));
    expect((await search("lyz", 1)).matches).toHaveLength(1);
    expect((await search("   ")).matches).toEqual([]);
  });

  it("a newer read under the same request key cancels the older one", async () => {
    const a = await geneId("CD3D");
    const b = await geneId("MS4A1");
    const first = env.call("explore", "gene", { datasetId: env.datasetId, geneIntegerId: a, transform: "raw", requestKey: "slot-a" });
    const second = env.call("explore", "gene", { datasetId: env.datasetId, geneIntegerId: b, transform: "raw", requestKey: "slot-a" });
    const [r1, r2] = await Promise.all([first, second]);
    expect(r2.ok).toBe(true);
    expect(r1.ok ? "done" : r1.error.code).toBe("EXPLORE_CANCELLED");
  });

  it("answers malformed requests with named errors", async () => {
    const bad = async (method: string, arg: unknown) => failure(await env.call("explore", method, arg)).code;
    expect(await bad("points", { datasetId: env.datasetId, column: "cell_type", dims: [0, 1], offset: 0, limit: 10 })).toBe("EXPLORE_COLUMN_INVALID");
    expect(await bad("points", { datasetId: env.datasetId, column: "X_umap", dims: [0, 2], offset: 0, limit: 10 })).toBe("EXPLORE_COLUMN_INVALID");
    expect(await bad("points", { datasetId: env.datasetId, column: "X_umap", dims: [0], offset: 0, limit: 10 })).toBe("INVALID_ARGUMENT");
    expect(await bad("points", { datasetId: env.datasetId, column: "X_umap", dims: [0, 1], offset: -1, limit: 10 })).toBe("INVALID_ARGUMENT");
    expect(await bad("colors", { datasetId: env.datasetId, column: "no_such_column" })).toBe("EXPLORE_COLUMN_INVALID");
    expect(await bad("colors", { datasetId: env.datasetId, column: "X_umap" })).toBe("EXPLORE_COLUMN_INVALID");
    expect(await bad("gene", { datasetId: env.datasetId, geneIntegerId: 10_000_000, transform: "raw" })).toBe("EXPLORE_GENE_NOT_FOUND");
    expect(await bad("gene", { datasetId: env.datasetId, geneIntegerId: 1, transform: "log2" })).toBe("INVALID_ARGUMENT");
    expect(await bad("gene", { datasetId: env.datasetId, geneIntegerId: 1.5, transform: "raw" })).toBe("INVALID_ARGUMENT");
    expect(await bad("info", { datasetId: "ds999" })).toBe("DATASET_NOT_OPEN");
    expect(await bad("searchGenes", { datasetId: env.datasetId, query: 7 })).toBe("INVALID_ARGUMENT");
    expect(await bad("qcData", { datasetId: env.datasetId, set: "nope" })).toBe("EXPLORE_NOT_READY");
  });
});
