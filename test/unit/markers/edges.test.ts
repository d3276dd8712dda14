/** Markers edge cases on the demo: unexpressed genes, one-cell and identical sets, named errors, cancel, release, reading runs. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { JobEvent, MarkersTablePage, MarkersVolcano } from "../../../shared/ipc/contract";
import { failure } from "../../fixtures/result";
import { loadPbmc } from "../../fixtures/pbmc";
import { ipcColumns, useExploreEnvironment } from "../explore/helpers";
import { arrow } from "../../../main/services/arrow";
import { allGenes, defineSet, runMarkers } from "./helpers";
import { densePbmc } from "./reference";

const env = useExploreEnvironment({ beforeAll, afterAll });
const B_VS_REST = { kind: "column", column: "cell_type", group: "B", reference: { kind: "rest" } } as const;

async function startError(comparison: unknown) {
  return failure(await env.call("markers", "start", { datasetId: env.datasetId, comparison }));
}

describe("markers edge cases", () => {
  it("a gene no cell of either side expresses: score 0, p 1, log2FC 0", async () => {
    const pbmc = loadPbmc();
    const run = await runMarkers(env, B_VS_REST);
    const genes = await allGenes(env, run.markersId);
    const nowhere = new Set(Array.from({ length: pbmc.nGenes }, (_, g) => g).filter((g) => pbmc.cells.every((c) => !c.genes.includes(g))));
    expect(nowhere.size).toBeGreaterThan(0);
    for (const g of genes.filter((x) => nowhere.has(x.geneIntegerId)))
      expect(g).toMatchObject({ score: 0, pval: 1, pvalAdj: 1, logfoldchange: 0, pctGroup: 0, pctReference: 0, meanGroup: 0, meanReference: 0 });
  });

  it("a set of one cell: no variance, so every score is 0 and p 1; its means are the cell's values", async () => {
    await defineSet(env, "one", [7]);
    const run = await runMarkers(env, { kind: "sets", group: "one", reference: { kind: "rest" } });
    expect(run.groups[0]).toMatchObject({ cellsGroup: 1, cellsReference: 159 });
    const genes = await allGenes(env, run.markersId);
    expect(genes.every((g) => g.score === 0 && g.pval === 1)).toBe(true);
    const dense = densePbmc("log1p_cp10k");
    for (const g of genes.slice(0, 200)) expect(g.meanGroup).toBeCloseTo(dense.y[7 * dense.nGenes + g.geneIntegerId], 12);
    // Ties are ranked by gene id.
    expect(genes.slice(0, 5).map((g) => g.geneIntegerId)).toEqual([0, 1, 2, 3, 4]);
  });

  it("a set against itself (or a category against itself): nothing differs", async () => {
    await defineSet(env, "same", [3, 4, 5, 40, 41, 90]);
    const run = await runMarkers(env, { kind: "sets", group: "same", reference: { kind: "group", name: "same" } });
    expect(run.groups[0]).toMatchObject({ cellsGroup: 6, cellsReference: 6, vsRest: false });
    const genes = await allGenes(env, run.markersId);
    expect(genes.every((g) => g.score === 0 && g.pval === 1 && g.logfoldchange === 0 && g.pctGroup === g.pctReference)).toBe(true);
    const cat = await runMarkers(env, { kind: "column", column: "cell_type", group: "NK", reference: { kind: "group", name: "NK" } });
    expect((await allGenes(env, cat.markersId)).every((g) => g.score === 0)).toBe(true);
  });

  it("names what is wrong: unknown column or value, empty or unknown set, no rest, float column", async () => {
    let e = await startError({ kind: "column", column: "cell_type", group: "Nope", reference: { kind: "rest" } });
    expect(e.code).toBe("MARKERS_INVALID");
    expect(e.message).toBe("No cells have cell_type = 'Nope'");
    e = await startError({ kind: "column", column: "cell_type", group: "B", reference: { kind: "group", name: null } });
    expect(e.message).toBe("No cells have cell_type = null");
    e = await startError({ kind: "column", column: "foo", group: "B", reference: { kind: "rest" } });
    expect(e.code).toBe("MARKERS_INVALID");
    // The columns it could have meant (the demo's categorical ones), so a typo is fixed at once.
    expect(e.message).toMatch(/^Column 'foo' is not a cells column; columns that group cells: (.+, )?cell_type(, .+)?$/);
    expect(e.message).not.toContain("nCount_RNA");
    e = await startError({ kind: "all", column: "nCount_RNA" });
    expect(e.code).toBe("MARKERS_INVALID");
    expect(e.message).toMatch(/Column 'nCount_RNA' holds .* numbers, not groups/);
    e = await startError({ kind: "all", column: "orig_ident" });
    expect(e.message).toMatch(/Column 'orig_ident' has one value only \('pbmc3k'\)/);
    e = await startError({ kind: "sets", group: "ghost", reference: { kind: "rest" } });
    expect(e).toMatchObject({ code: "MARKERS_INVALID", message: "Set 'ghost' does not exist" });
    await defineSet(env, "empty", []);
    e = await startError({ kind: "sets", group: "empty", reference: { kind: "rest" } });
    expect(e).toMatchObject({ code: "MARKERS_INVALID", message: "Set 'empty' has no cells" });
    await defineSet(
      env,
      "everyone",
      Array.from({ length: 160 }, (_, c) => c),
    );
    e = await startError({ kind: "sets", group: "everyone", reference: { kind: "rest" } });
    expect(e).toMatchObject({ code: "MARKERS_INVALID", message: "No cells outside set 'everyone' to compare with" });
    e = failure(await env.call("markers", "byGroup", { datasetId: env.datasetId, groupBy: { kind: "column", column: "cell_type" }, geneIntegerIds: [99999] }));
    expect(e).toMatchObject({ code: "MARKERS_INVALID" });
    expect(e.message).toMatch(/No gene with gene_integer_id 99999/);
  });

  it("a malformed request is INVALID_ARGUMENT at the door", async () => {
    for (const arg of [
      { datasetId: env.datasetId, comparison: { kind: "bogus" } },
      { comparison: B_VS_REST },
      { datasetId: env.datasetId, comparison: { kind: "column", column: "cell_type", group: 3, reference: { kind: "rest" } } },
      { datasetId: env.datasetId, comparison: B_VS_REST, normalization: "zscore" },
    ])
      expect(failure(await env.call("markers", "start", arg)).code).toBe("INVALID_ARGUMENT");
    const tooMany = Array.from({ length: 201 }, (_, g) => g);
    expect(
      failure(await env.call("markers", "byGroup", { datasetId: env.datasetId, groupBy: { kind: "column", column: "cell_type" }, geneIntegerIds: tooMany }))
        .code,
    ).toBe("INVALID_ARGUMENT");
    expect(failure(await env.call("markers", "table", { markersId: "markers1", offset: -1 })).code).toBe("INVALID_ARGUMENT");
  });

  it("cancelled: the job ends as MARKERS_CANCELLED", async () => {
    const { jobId } = await env.ok<{ jobId: string }>("markers", "start", { datasetId: env.datasetId, comparison: { kind: "all", column: "cell_type" } });
    await env.ok("jobs", "cancel", { jobId });
    const e: JobEvent = await env.waitJob(jobId);
    expect(e.state).toBe("cancelled");
    expect(e.error?.code).toBe("MARKERS_CANCELLED");
  });

  it("released, unknown and old runs are MARKERS_NOT_FOUND; the newest 8 stay", async () => {
    const run = await runMarkers(env, B_VS_REST);
    await env.ok("markers", "release", { id: run.markersId });
    expect(failure(await env.call("markers", "table", { markersId: run.markersId })).code).toBe("MARKERS_NOT_FOUND");
    expect(failure(await env.call("markers", "volcano", { markersId: "markers999" })).code).toBe("MARKERS_NOT_FOUND");
    expect(failure(await env.call("markers", "byGroupData", { byGroupId: "bygroup999" })).code).toBe("MARKERS_NOT_FOUND");
    expect(await env.ok("markers", "release", { id: "markers999" })).toBeNull();
    const ids: string[] = [];
    for (let i = 0; i < 9; i++) ids.push((await runMarkers(env, { kind: "sets", group: "same", reference: { kind: "rest" } })).markersId);
    expect(failure(await env.call("markers", "table", { markersId: ids[0] })).code).toBe("MARKERS_NOT_FOUND");
    for (const id of ids.slice(1)) expect((await env.ok<MarkersTablePage>("markers", "table", { markersId: id, limit: 1 })).rows).toHaveLength(1);
  });

  it("reads a run: filters, directions, search, pages, the volcano and groups of an 'all' run", async () => {
    const run = await runMarkers(env, B_VS_REST);
    const genes = await allGenes(env, run.markersId);
    const page = (filter: object, offset = 0, limit = 1000) =>
      env.ok<MarkersTablePage>("markers", "table", { markersId: run.markersId, filter, offset, limit });
    const up = await page({ direction: "up", minAbsLogfc: 1, maxPvalAdj: 0.05, minPctGroup: 0.5 });
    const expected = genes.filter((g) => g.score > 0 && Math.abs(g.logfoldchange) >= 1 && g.pvalAdj <= 0.05 && g.pctGroup >= 0.5);
    expect(up.total).toBe(expected.length);
    expect(up.rows).toEqual(expected);
    const down = await page({ direction: "down" }, 0, 3);
    expect(down.rows.map((g) => g.geneIntegerId)).toEqual(
      genes
        .filter((g) => g.score < 0)
        .reverse()
        .slice(0, 3)
        .map((g) => g.geneIntegerId),
    );
    // Ranks stay the ranks by score.
    expect(down.rows[0].rank).toBe(genes.findIndex((g) => g.geneIntegerId === down.rows[0].geneIntegerId) + 1);
    const search = await page({ search: "cd79" });
    expect(search.rows.map((g) => g.symbol).sort()).toEqual(["CD79A", "CD79B"]);
    const second = await page({}, 10, 5);
    expect(second).toMatchObject({ offset: 10, total: genes.length });
    expect(second.rows).toEqual(genes.slice(10, 15));

    const volcano = await env.ok<MarkersVolcano>("markers", "volcano", { markersId: run.markersId });
    const cols = ipcColumns(volcano.arrow);
    expect(Array.from(cols.gene_integer_id)).toEqual(genes.map((g) => g.geneIntegerId));
    expect(Array.from(cols.logfoldchange)).toEqual(genes.map((g) => Math.fround(g.logfoldchange)));
    expect(Array.from(cols.neg_log10_pval_adj)).toEqual(genes.map((g) => Math.fround(g.pvalAdj > 0 ? -Math.log10(g.pvalAdj) : 300)));
    const table = arrow.tableFromIPC(volcano.arrow);
    expect(table.getChild("symbol")!.get(0)).toBe(genes[0].symbol);
    expect(table.schema.fields.map((f) => String(f.type))).toEqual(["Int32", "Utf8", "Float32", "Float32", "Float32", "Float32"]);

    const all = await runMarkers(env, { kind: "all", column: "cell_type" });
    const e = failure(await env.call("markers", "table", { markersId: all.markersId }));
    expect(e.code).toBe("MARKERS_INVALID");
    expect(e.message).toMatch(/compares 8 groups: name one/);
    expect(failure(await env.call("markers", "volcano", { markersId: all.markersId, group: "Nope" })).message).toMatch(/has no group 'Nope'/);
    const nk = await env.ok<MarkersTablePage>("markers", "table", { markersId: all.markersId, group: "NK", limit: 10 });
    expect(nk.group.group).toBe("NK");
    expect(nk.rows.map((g) => g.symbol)).toContain("NKG7");
  });
});

describe("markers runs belong to the page that started them", () => {
  it("are released when the page goes; another page's stay", async () => {
    const datasetId = env.datasetId;
    const start = async (session: string) => {
      await env.ok("datasets", "open", { uri: env.root }, session);
      const { jobId } = await env.ok<{ jobId: string }>("markers", "start", { datasetId, comparison: B_VS_REST }, session);
      return ((await env.waitJob(jobId)).result as { markersId: string }).markersId;
    };
    const mine = await start("page2");
    const theirs = await start("page3");
    await env.services.dispatcher.endSession("page2");
    expect(failure(await env.call("markers", "table", { markersId: mine })).code).toBe("MARKERS_NOT_FOUND");
    expect((await env.ok<MarkersTablePage>("markers", "table", { markersId: theirs, limit: 1 })).rows).toHaveLength(1);
    await env.services.dispatcher.endSession("page3");
  });
});
