/**
 * `slaf-workbench markers --format json` as a user runs it (the built CLI in a child process on the PBMC fixture,
 * 8 cell types × 20 cells): the document shape, ranking and --top, and every number equal to the service's
 * own table for the same comparison, computed in this process through the services container.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadPbmc } from "../../fixtures/pbmc";
import { expectedJson, GENE_KEYS, useMarkersCli, type AllJson, type ComparisonJson } from "./helpers";

const env = useMarkersCli({ beforeAll, afterAll });

function cellTypes(): string[] {
  const pbmc = loadPbmc();
  const k = pbmc.obsColumns.indexOf("cell_type");
  return [...new Set(pbmc.obs.map((r) => String(r[k])))];
}

function expectRanked(doc: Pick<ComparisonJson, "genes">): void {
  for (const g of doc.genes) expect(Object.keys(g)).toEqual(GENE_KEYS);
  const scores = doc.genes.map((g) => g.score ?? 0);
  for (let i = 1; i < scores.length; i++) expect(scores[i], `gene ${i}`).toBeLessThanOrEqual(scores[i - 1]);
}

describe("markers --format json", () => {
  it("one group vs the rest: the top 20 by score, keys exactly the issue's, numbers equal to the service's table", async () => {
    const doc = await env.json(["--groupby", "cell_type", "--group", "B", env.root]);
    expect(doc).toMatchObject({ group: "B", reference: "rest", normalization: "log1p_cp10k", cells_group: 20, cells_reference: 140 });
    expect(doc.genes).toHaveLength(20);
    expectRanked(doc);
    // B cells: the B-cell markers lead.
    expect(doc.genes.slice(0, 10).map((g) => g.gene_id)).toContain("CD79A");
    const { genes } = await env.serviceGenes({ kind: "column", column: "cell_type", group: "B", reference: { kind: "rest" } });
    expect(doc.genes).toEqual(genes.get("B")!.slice(0, 20).map(expectedJson));
  });

  it("--reference VALUE compares with one other group; --top N and --top all", async () => {
    const doc = await env.json(["--groupby", "cell_type", "--group", "NK", "--reference", "CD8 T", "--top", "7", env.root]);
    expect(doc).toMatchObject({ group: "NK", reference: "CD8 T", cells_group: 20, cells_reference: 20 });
    expect(doc.genes).toHaveLength(7);
    expectRanked(doc);
    const { genes } = await env.serviceGenes({ kind: "column", column: "cell_type", group: "NK", reference: { kind: "group", name: "CD8 T" } });
    const all = genes.get("NK")!;
    expect(doc.genes).toEqual(all.slice(0, 7).map(expectedJson));

    const every = await env.json(["--groupby", "cell_type", "--group", "NK", "--reference", "CD8 T", "--top", "all", env.root]);
    expect(every.genes).toHaveLength(loadPbmc().nGenes);
    expect(every.genes).toEqual(all.map(expectedJson));
    expectRanked(every);
    const zero = await env.json(["--groupby", "cell_type", "--group", "NK", "--reference", "CD8 T", "--top", "0", env.root]);
    expect(zero.genes).toHaveLength(loadPbmc().nGenes);
  });

  it("--all: every cell type vs the rest, each ranked, equal to the service's run", async () => {
    const doc = await env.json<AllJson>(["--groupby", "cell_type", "--all", "--top", "5", env.root]);
    expect(doc.groupby).toBe("cell_type");
    expect(doc.normalization).toBe("log1p_cp10k");
    expect(doc.groups.map((g) => g.group).sort()).toEqual(cellTypes().sort());
    const { genes } = await env.serviceGenes({ kind: "all", column: "cell_type" });
    for (const g of doc.groups) {
      expect(g).toMatchObject({ reference: "rest", cells_group: 20, cells_reference: 140 });
      expect(Object.keys(g)).toEqual(["group", "reference", "cells_group", "cells_reference", "genes"]);
      expect(g.genes).toHaveLength(5);
      expectRanked(g);
      expect(g.genes, String(g.group)).toEqual(genes.get(g.group)!.slice(0, 5).map(expectedJson));
    }
  });

  it("filters: --direction down ranks the lowest first; --min-pct and --max-pval-adj keep what passes", async () => {
    const down = await env.json(["--groupby", "cell_type", "--group", "B", "--direction", "down", "--top", "10", env.root]);
    expect(down.genes).toHaveLength(10);
    for (let i = 0; i < down.genes.length; i++) {
      expect(down.genes[i].score!).toBeLessThan(0);
      if (i > 0) expect(down.genes[i].score!).toBeGreaterThanOrEqual(down.genes[i - 1].score!);
    }
    const kept = await env.json(["--groupby", "cell_type", "--group", "B", "--min-pct", "0.9", "--max-pval-adj", "0.01", "--top", "all", env.root]);
    const { genes } = await env.serviceGenes(
      { kind: "column", column: "cell_type", group: "B", reference: { kind: "rest" } },
      { minPctGroup: 0.9, maxPvalAdj: 0.01 },
    );
    expect(kept.genes.length).toBeGreaterThan(0);
    expect(kept.genes.length).toBeLessThan(loadPbmc().nGenes / 10);
    for (const g of kept.genes) {
      expect(g.pct_group!).toBeGreaterThanOrEqual(0.9);
      expect(g.pval_adj!).toBeLessThanOrEqual(0.01);
    }
    expect(kept.genes).toEqual(genes.get("B")!.map(expectedJson));
  });

  it("--normalization none takes the stored counts as they are: other numbers, still the service's", async () => {
    const comparison = { kind: "column", column: "cell_type", group: "B", reference: { kind: "rest" } } as const;
    const raw = await env.json(["--groupby", "cell_type", "--group", "B", "--normalization", "none", "--top", "10", env.root]);
    expect(raw.normalization).toBe("none");
    const { genes } = await env.serviceGenes(comparison, undefined, "none");
    expect(raw.genes).toEqual(genes.get("B")!.slice(0, 10).map(expectedJson));
    const logged = await env.json(["--groupby", "cell_type", "--group", "B", "--top", "10", env.root]);
    expect(raw.genes.map((g) => g.score)).not.toEqual(logged.genes.map((g) => g.score));
  });
});
