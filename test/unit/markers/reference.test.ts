/** Markers on the demo against a dense reference computed here from the raw counts (reference.ts). */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MarkersGene, MarkersRun } from "../../../shared/ipc/contract";
import { loadPbmc } from "../../fixtures/pbmc";
import { useExploreEnvironment } from "../explore/helpers";
import { allGenes, close, defineSet, runByGroup, runMarkers } from "./helpers";
import { densePbmc, referenceComparison, type Dense, type RefGene } from "./reference";

const env = useExploreEnvironment({ beforeAll, afterAll });
const dense = densePbmc("log1p_cp10k");
const FIELDS = ["score", "logfoldchange", "pval", "pvalAdj", "pctGroup", "pctReference", "meanGroup", "meanReference"] as const;

function cellsOf(d: Dense, test: (c: number) => boolean): number[] {
  return Array.from({ length: d.nCells }, (_, c) => c).filter(test);
}

/** Every field of every gene equal to the reference; the list of differences (empty when all agree). */
function differences(genes: MarkersGene[], ref: RefGene[]): string[] {
  const out: string[] = [];
  for (const g of genes)
    for (const f of FIELDS) {
      const e = ref[g.geneIntegerId][f];
      if (!close(g[f], e)) out.push(`${g.symbol} ${f}: ${g[f]} vs ${e}`);
    }
  return out.slice(0, 10);
}

/** Ranked by score, highest first, ties by gene_integer_id; ranks 1..n. */
function expectRanked(genes: MarkersGene[]): void {
  expect(genes.map((g) => g.rank)).toEqual(genes.map((_, k) => k + 1));
  for (let k = 1; k < genes.length; k++) {
    const a = genes[k - 1];
    const b = genes[k];
    expect(a.score > b.score || (a.score === b.score && a.geneIntegerId < b.geneIntegerId)).toBe(true);
  }
}

function topIds(ref: RefGene[], n: number): number[] {
  return ref
    .map((r, id) => ({ id, s: r.score }))
    .sort((a, b) => b.s - a.s || a.id - b.id)
    .slice(0, n)
    .map((r) => r.id);
}

/** Expression rows of the given cells. */
function rowsOf(cells: number[]): number {
  const pbmc = loadPbmc();
  return cells.reduce((n, c) => n + pbmc.cells[c].genes.length, 0);
}

describe("markers against a dense reference", () => {
  it("one cell type vs the rest: every gene's numbers, ranked, with log1p(CP10k) said", async () => {
    const run = await runMarkers(env, { kind: "column", column: "cell_type", group: "B", reference: { kind: "rest" } });
    expect(run.normalization).toBe("log1p_cp10k");
    expect(run.normalizationNote).toMatch(/log1p\(CP10k\)/);
    expect(run.groups).toEqual([{ group: "B", reference: "rest", vsRest: true, cellsGroup: 20, cellsReference: 140 }]);
    expect(run.genes).toBe(8674);
    expect(run.rows).toBe(loadPbmc().nnz);
    // One pass: each cell's total came from its own rows, not from Explore's counting pass.
    expect(env.services.explore.passStats(env.datasetId)).toBeNull();
    const genes = await allGenes(env, run.markersId);
    expect(genes).toHaveLength(8674);
    const ref = referenceComparison(
      dense,
      cellsOf(dense, (c) => dense.cellType[c] === "B"),
      cellsOf(dense, (c) => dense.cellType[c] !== "B"),
    );
    expect(differences(genes, ref)).toEqual([]);
    expectRanked(genes);
    expect(genes.slice(0, 30).map((g) => g.geneIntegerId)).toEqual(topIds(ref, 30));
    // Known B cell markers lead.
    expect(genes.slice(0, 10).map((g) => g.symbol)).toEqual(expect.arrayContaining(["CD79A", "CD79B"]));
    expect(genes.some((g) => g.pval < 1e-20 && g.pval > 0)).toBe(true);
  });

  it("one cell type vs another reads only their cells", async () => {
    const run = await runMarkers(env, { kind: "column", column: "cell_type", group: "CD14+ Mono", reference: { kind: "group", name: "FCGR3A+ Mono" } });
    const a = cellsOf(dense, (c) => dense.cellType[c] === "CD14+ Mono");
    const b = cellsOf(dense, (c) => dense.cellType[c] === "FCGR3A+ Mono");
    expect(run.groups).toEqual([{ group: "CD14+ Mono", reference: "FCGR3A+ Mono", vsRest: false, cellsGroup: 20, cellsReference: 20 }]);
    expect(run.rows).toBe(rowsOf([...a, ...b]));
    const genes = await allGenes(env, run.markersId);
    expect(differences(genes, referenceComparison(dense, a, b))).toEqual([]);
    expectRanked(genes);
  });

  it("a set vs an overlapping set (cells of both count on both sides)", async () => {
    const a = [...cellsOf(dense, (c) => dense.cellType[c] === "NK" || dense.cellType[c] === "B"), ...Array.from({ length: 30 }, (_, c) => c)];
    const b = Array.from({ length: 80 }, (_, k) => 20 + k);
    await defineSet(env, "A", a);
    await defineSet(env, "B", b);
    const run = await runMarkers(env, { kind: "sets", group: "A", reference: { kind: "group", name: "B" } });
    const aSorted = [...new Set(a)].sort((x, y) => x - y);
    expect(run.groups).toEqual([{ group: "A", reference: "B", vsRest: false, cellsGroup: aSorted.length, cellsReference: 80 }]);
    const genes = await allGenes(env, run.markersId);
    expect(differences(genes, referenceComparison(dense, aSorted, b))).toEqual([]);
    // A set vs the rest too.
    const rest = await runMarkers(env, { kind: "sets", group: "B", reference: { kind: "rest" } });
    const restGenes = await allGenes(env, rest.markersId);
    expect(
      differences(
        restGenes,
        referenceComparison(
          dense,
          b,
          cellsOf(dense, (c) => c < 20 || c >= 100),
        ),
      ),
    ).toEqual([]);
  });

  it("all cell types at once: each group vs its rest, from the category moments the B vs rest pass kept", async () => {
    const run: MarkersRun = await runMarkers(env, { kind: "all", column: "cell_type" });
    const colours = await env.ok<{ categories: { value: string; cells: number }[] }>("explore", "colors", { datasetId: env.datasetId, column: "cell_type" });
    expect(run.groups.map((g) => g.group)).toEqual(colours.categories.map((c) => c.value));
    // No read: "B vs rest" kept every cell_type's moments and the whole (moments-cache.test.ts: the same numbers as a pass).
    expect(run.rows).toBe(0);
    for (const g of run.groups) {
      expect(g).toMatchObject({ reference: "rest", vsRest: true, cellsGroup: 20, cellsReference: 140 });
      const genes = await allGenes(env, run.markersId, g.group);
      const ref = referenceComparison(
        dense,
        cellsOf(dense, (c) => dense.cellType[c] === g.group),
        cellsOf(dense, (c) => dense.cellType[c] !== g.group),
      );
      expect(differences(genes, ref), String(g.group)).toEqual([]);
    }
    const top = await env.ok<{ groups: { genes: MarkersGene[] }[] }>("markers", "topPerGroup", { markersId: run.markersId, n: 5 });
    expect(top.groups).toHaveLength(8);
    expect(top.groups.every((g) => g.genes.length === 5 && g.genes[0].rank === 1)).toBe(true);
  });

  it("per group summaries of chosen genes: means, fractions, quartiles and histograms", async () => {
    const pbmc = loadPbmc();
    const ids = ["CD79A", "LYZ", "NKG7", "MALAT1"].map((s) => pbmc.genes.indexOf(s));
    const unexpressed = Array.from({ length: pbmc.nGenes }, (_, g) => g).find((g) => pbmc.cells.every((c) => !c.genes.includes(g)))!;
    ids.push(unexpressed);
    const data = await runByGroup(env, { groupBy: { kind: "column", column: "cell_type" }, geneIntegerIds: ids, bins: 16 });
    expect(data.normalization).toBe("log1p_cp10k");
    expect(data.genes.map((g) => g.geneIntegerId)).toEqual(ids);
    expect(data.rows).toBe(pbmc.cells.reduce((n, c) => n + c.genes.filter((g) => ids.includes(g)).length, 0));
    data.genes.forEach((gene, gi) => {
      const values = (cells: number[]) => cells.map((c) => dense.y[c * dense.nGenes + gene.geneIntegerId]);
      const max = Math.max(0, ...values(cellsOf(dense, () => true)));
      expect(close(gene.max, max)).toBe(true);
      data.groups.forEach((grp, k) => {
        const v = values(cellsOf(dense, (c) => dense.cellType[c] === grp.group)).sort((x, y) => x - y);
        const got = data.values[gi][k];
        const pos = v.filter((x) => x > 0);
        const q = (p: number) => {
          const at = p * (v.length - 1);
          const lo = Math.floor(at);
          return v[lo] + (v[Math.min(lo + 1, v.length - 1)] - v[lo]) * (at - lo);
        };
        const expected = {
          mean: v.reduce((a, b) => a + b, 0) / v.length,
          fracExpressing: pos.length / v.length,
          meanExpressing: pos.length ? pos.reduce((a, b) => a + b, 0) / pos.length : 0,
          min: v[0],
          q1: q(0.25),
          median: q(0.5),
          q3: q(0.75),
          max: v[v.length - 1],
        };
        for (const [f, e] of Object.entries(expected)) expect(close(got[f as keyof typeof expected], e, 1e-12), `${gene.symbol} ${grp.group} ${f}`).toBe(true);
        const histogram = new Array(16).fill(0);
        for (const x of v) histogram[max > 0 ? Math.min(15, Math.floor(x / (max / 16))) : 0]++;
        expect(got.histogram).toEqual(histogram);
      });
    });
    // The unexpressed gene is zero everywhere.
    expect(data.values[4].every((s) => s.mean === 0 && s.fracExpressing === 0 && s.max === 0 && s.histogram[0] === 20)).toBe(true);
  });

  it("per set summaries count a cell in every set it belongs to", async () => {
    await defineSet(
      env,
      "first40",
      Array.from({ length: 40 }, (_, c) => c),
    );
    await defineSet(
      env,
      "middle",
      Array.from({ length: 40 }, (_, c) => 20 + c),
    );
    const lyz = loadPbmc().genes.indexOf("LYZ");
    const data = await runByGroup(env, { groupBy: { kind: "sets", sets: ["first40", "middle"] }, geneIntegerIds: [lyz] });
    expect(data.groups).toEqual([
      { group: "first40", cells: 40 },
      { group: "middle", cells: 40 },
    ]);
    const mean = (from: number) => Array.from({ length: 40 }, (_, k) => dense.y[(from + k) * dense.nGenes + lyz]).reduce((a, b) => a + b, 0) / 40;
    expect(close(data.values[0][0].mean, mean(0), 1e-12)).toBe(true);
    expect(close(data.values[0][1].mean, mean(20), 1e-12)).toBe(true);
  });
});
