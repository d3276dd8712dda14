/**
 * The Markers store against a stand-in main (the markers and explore namespaces as far as the store sees them),
 * and its pure parts: filter form → request, pages within the top N, z-scores, violin outlines, volcano points.
 */
import { Float32, Int32, Table, Utf8, vectorFromArray, tableToIPC } from "apache-arrow";
import { describe, expect, it } from "vitest";
import type { ExploreInfo, JobEvent, MarkersByGroup, MarkersGene, MarkersGroup, MarkersRun } from "../../shared/ipc/contract";
import { err, ok, type Result } from "../../shared/result";
import { DEFAULT_FILTER, filterRequest, pageCount, pageWindow, shownRows } from "../../renderer/stores/markers-filter";
import { matchGroup } from "../../renderer/stores/markers-notebook";
import { geneDistribution, groupCells, significance, violinOutline, volcanoLabels, volcanoPoints, zScoreRows } from "../../renderer/stores/markers-plots";
import { Markers } from "../../renderer/stores/markers.svelte";
import type { NewCell } from "../../renderer/stores/explore-notebook";
import { FakeMain, settle } from "./fake-main";

const INFO: ExploreInfo = {
  datasetId: "ds1",
  nCells: 6,
  nGenes: 3,
  embeddings: [{ name: "X_umap", dims: 2 } as ExploreInfo["embeddings"][number]],
  columns: [
    { name: "n_counts", type: "Float64", kind: "continuous", categories: null },
    { name: "cell_type", type: "Utf8", kind: "categorical", categories: 3 },
  ],
  symbolColumn: "gene_symbols",
  stats: { geneCounts: "pass", pass: "ready", jobId: null },
  geneIndex: { state: "off", jobId: null },
};

const gene = (id: number, symbol: string, score: number, rank: number): MarkersGene => ({
  geneIntegerId: id,
  geneId: `ENSG${id}`,
  symbol,
  rank,
  score,
  logfoldchange: score / 2,
  pval: 0.001,
  pvalAdj: 0.01,
  pctGroup: 0.5,
  pctReference: 0.1,
  meanGroup: 1,
  meanReference: 0.2,
});
const GENES = [gene(7, "LYZ", 9, 1), gene(9, "CD3E", 4, 2), gene(2, "MS4A1", -3, 3)];

function volcanoArrow(): Uint8Array {
  return tableToIPC(
    new Table({
      gene_integer_id: vectorFromArray([7, 9, 2], new Int32()),
      symbol: vectorFromArray(["LYZ", "CD3E", "MS4A1"], new Utf8()),
      logfoldchange: vectorFromArray([3, 0.5, -2], new Float32()),
      neg_log10_pval_adj: vectorFromArray([10, 5, 4], new Float32()),
      score: vectorFromArray([9, 4, -3], new Float32()),
      pct_group: vectorFromArray([0.9, 0.5, 0.1], new Float32()),
    }),
    "stream",
  );
}

function fake() {
  const main = new FakeMain();
  const api = main.client as unknown as Record<string, Record<string, (req: never) => Promise<Result<unknown>>>>;
  const calls: { method: string; req: Record<string, unknown> }[] = [];
  const released: string[] = [];
  const cancelled: string[] = [];
  const sent: NewCell[][] = [];
  /** The final event of each job; absent: done with the default result. */
  const ends = new Map<string, Partial<JobEvent>>();
  let seq = 0;
  const on = (ns: string, method: string, fn: (req: Record<string, unknown>) => Result<unknown>) => {
    api[ns][method] = (async (req: Record<string, unknown>) => {
      calls.push({ method: `${ns}.${method}`, req });
      return fn(req);
    }) as never;
  };
  const runs = new Map<string, MarkersRun>();
  const groupOf = (name: string | null, vsRest = true): MarkersGroup => ({
    group: name,
    reference: vsRest ? "rest" : "T",
    vsRest,
    cellsGroup: 2,
    cellsReference: 4,
  });
  on("explore", "info", () => ok(INFO));
  on("explore", "listSets", () => ok([]));
  on("explore", "colors", (req) =>
    ok({
      kind: "categorical",
      column: req.column,
      categories: [
        { value: "B", cells: 2 },
        { value: "T", cells: 3 },
        { value: null, cells: 1 },
      ],
      arrow: new Uint8Array(),
    }),
  );
  on("markers", "start", (req) => {
    const jobId = `job${++seq}`;
    const comparison = req.comparison as MarkersRun["comparison"];
    const groups =
      comparison.kind === "all" ? [groupOf("B"), groupOf("T"), groupOf(null)] : [groupOf(comparison.kind === "column" ? comparison.group : comparison.group)];
    runs.set(jobId, {
      markersId: `m${seq}`,
      datasetId: "ds1",
      comparison,
      normalization: "log1p_cp10k",
      normalizationNote: "Counts: log1p(CP10k) applied",
      groups,
      genes: 3,
      rows: 12,
      ms: 5,
    });
    return ok({ jobId });
  });
  on("markers", "table", (req) => {
    if (req.markersId === "gone") return err("MARKERS_NOT_FOUND", "run again");
    return ok({
      markersId: req.markersId,
      group: groupOf((req.group as string | null | undefined) ?? "B"),
      total: GENES.length,
      offset: req.offset ?? 0,
      rows: GENES,
    });
  });
  on("markers", "volcano", (req) => ok({ markersId: req.markersId, group: groupOf("B"), arrow: volcanoArrow() }));
  on("markers", "topPerGroup", (req) =>
    ok({ markersId: req.markersId, groups: [groupOf("B"), groupOf("T"), groupOf(null)].map((g) => ({ group: g, genes: GENES.slice(0, 2) })) }),
  );
  on("markers", "release", (req) => (released.push(req.id as string), ok(null)));
  on("markers", "byGroup", (req) => {
    const jobId = `plot${++seq}`;
    runs.set(jobId, { markersId: `bg${seq}` } as MarkersRun);
    expect(req.groupBy).toEqual({ kind: "column", column: "cell_type" });
    return ok({ jobId });
  });
  on("markers", "byGroupData", (req) => {
    const ids = (calls.filter((c) => c.method === "markers.byGroup").at(-1)!.req.geneIntegerIds as number[]) ?? [];
    const data: MarkersByGroup = {
      byGroupId: req.byGroupId as string,
      datasetId: "ds1",
      groupBy: { kind: "column", column: "cell_type" },
      normalization: "log1p_cp10k",
      normalizationNote: "",
      groups: [
        { group: "B", cells: 2 },
        { group: null, cells: 1 },
      ],
      genes: ids.map((id) => ({ geneIntegerId: id, geneId: `ENSG${id}`, symbol: GENES.find((g) => g.geneIntegerId === id)!.symbol, max: 2 })),
      bins: 4,
      values: ids.map((_, gi) =>
        [1, 3].map((m) => ({ mean: m + gi, fracExpressing: 0.5, meanExpressing: 2, min: 0, q1: 0, median: 1, q3: 2, max: 2, histogram: [2, 0, 1, 1] })),
      ),
      rows: 6,
      ms: 1,
    };
    return ok(data);
  });
  const jobs = {
    async wait(jobId: string): Promise<JobEvent> {
      await settle();
      const run = runs.get(jobId)!;
      const end = ends.get(jobId);
      const base = { jobId, kind: "markers", progress: { done: 1, total: 1, unit: "rows", ratePerSecond: null, etaSeconds: null }, startedAt: 0 };
      if (end) return { ...base, ...end } as JobEvent;
      const result = jobId.startsWith("plot") ? { task: "byGroup", byGroupId: run.markersId, datasetId: "ds1", rows: 6, ms: 1 } : { task: "rank", ...run };
      return { ...base, state: "done", result } as JobEvent;
    },
    async cancel(jobId: string): Promise<void> {
      cancelled.push(jobId);
    },
  };
  const markers = new Markers(main.client, {
    jobs,
    notebook: { send: async (cells) => void sent.push(cells), names: () => ["dotplot_cell_type"] },
    colourEmbedding: async () => undefined,
  });
  const of = (method: string) => calls.filter((c) => c.method === method).map((c) => c.req);
  return { markers, api, calls, of, released, cancelled, sent, ends };
}

describe("markers store", () => {
  it("groups by the cell-type column, runs a group vs the rest, and pages its table with the filters mapped", async () => {
    const f = fake();
    await f.markers.attach("ds1");
    expect(f.markers.column).toBe("cell_type");
    expect(f.markers.groupColumns).toEqual(["cell_type"]);
    expect(f.markers.categories.map((c) => c.value)).toEqual(["B", "T", null]);
    expect(f.markers.blocked).toBe("Pick a group");
    f.markers.setGroup("B");
    expect(f.markers.blocked).toBeNull();
    f.markers.setReference({ kind: "group", name: "B" });
    expect(f.markers.blocked).toBe("The reference is the group itself");
    f.markers.setReference({ kind: "rest" });

    await f.markers.start();
    expect(f.of("markers.start")[0]).toEqual({
      datasetId: "ds1",
      comparison: { kind: "column", column: "cell_type", group: "B", reference: { kind: "rest" } },
      normalization: "auto",
    });
    expect(f.markers.run?.markersId).toBe("m1");
    expect(f.markers.page?.rows.map((g) => g.symbol)).toEqual(["LYZ", "CD3E", "MS4A1"]);
    // A single comparison: no group argument; the first page of the top 100.
    expect(f.of("markers.table")[0]).toEqual({ markersId: "m1", filter: { direction: "up" }, offset: 0, limit: 50 });

    f.markers.setFilter({ minAbsLogfc: "1", maxPvalAdj: "0.05", minPctGroup: "25", direction: "both", search: "  cd " });
    await settle();
    expect(f.of("markers.table").at(-1)).toEqual({
      markersId: "m1",
      filter: { minAbsLogfc: 1, maxPvalAdj: 0.05, minPctGroup: 0.25, search: "cd" },
      offset: 0,
      limit: 50,
    });
    f.markers.setFilter({ maxPvalAdj: "abc", top: 25 });
    await settle();
    expect(f.markers.problems).toEqual(['adjusted p ≤ must be a number from 0 to 1 (got "abc"); not applied.']);
    expect(f.of("markers.table").at(-1)).toEqual({ markersId: "m1", filter: { minAbsLogfc: 1, minPctGroup: 0.25, search: "cd" }, offset: 0, limit: 25 });

    // The volcano is read when its tab opens; a click on a point selects the gene (its row when on the page).
    f.markers.showTab("volcano");
    await settle();
    expect(f.markers.volcano?.map((p) => [p.symbol, p.side])).toEqual([
      ["LYZ", "up"],
      ["CD3E", "ns"],
      ["MS4A1", "down"],
    ]);
    f.markers.selectById(9);
    expect(f.markers.selected).toMatchObject({ symbol: "CD3E", geneId: "ENSG9", row: { score: 4 } });
  });

  it("a new run releases the one before; a cancelled run keeps the results shown and says so", async () => {
    const f = fake();
    await f.markers.attach("ds1");
    f.markers.setGroup(null);
    await f.markers.start();
    expect(f.of("markers.start")[0].comparison).toMatchObject({ group: null });
    f.markers.setGroup("T");
    await f.markers.start();
    expect(f.released).toEqual(["m1"]);
    f.ends.set("job3", { state: "cancelled", error: { code: "MARKERS_CANCELLED", message: "cancelled" } });
    await f.markers.start();
    expect(f.markers.run?.markersId).toBe("m2");
    expect(f.markers.notice).toMatch(/Cancelled/);
    expect(f.markers.error).toBeNull();
    // A failed run shows main's named error.
    f.ends.set("job4", { state: "failed", error: { code: "MARKERS_INVALID", message: 'The group "T" has no cells' } });
    await f.markers.start();
    expect(f.markers.error?.code).toBe("MARKERS_INVALID");
    await f.markers.detach();
    expect(f.released).toEqual(["m1", "m2"]);
  });

  it("a set deleted in Explore is no longer the group or the reference", async () => {
    const f = fake();
    let sets = [
      { name: "a", size: 2, version: 1 },
      { name: "b", size: 3, version: 1 },
    ];
    (f.api.explore as Record<string, unknown>).listSets = async () => ok(sets);
    await f.markers.attach("ds1");
    f.markers.setSource("sets");
    await settle();
    f.markers.setGroup("a");
    f.markers.setReference({ kind: "group", name: "b" });
    expect(f.markers.comparison()).toEqual({ kind: "sets", group: "a", reference: { kind: "group", name: "b" } });
    sets = [{ name: "a", size: 2, version: 1 }];
    await f.markers.attach("ds1");
    await settle();
    expect(f.markers.group).toBe("a");
    expect(f.markers.reference).toEqual({ kind: "rest" });
    sets = [];
    await f.markers.refreshSets();
    expect(f.markers.group).toBeUndefined();
    expect(f.markers.blocked).toMatch(/No cell sets yet/);
  });

  it("all groups: the top genes per group, a group opened by its name (null included)", async () => {
    const f = fake();
    await f.markers.attach("ds1");
    await f.markers.start(true);
    expect(f.of("markers.start")[0].comparison).toEqual({ kind: "all", column: "cell_type" });
    expect(f.markers.tab).toBe("groups");
    expect(f.of("markers.topPerGroup")[0]).toEqual({ markersId: "m1", n: 5, filter: { direction: "up" } });
    expect(f.markers.top?.groups).toHaveLength(3);
    expect(f.of("markers.table")[0]).toMatchObject({ group: "B" });
    f.markers.openGroup(null);
    await settle();
    expect(f.markers.tab).toBe("table");
    expect(f.of("markers.table").at(-1)).toMatchObject({ markersId: "m1", group: null });
    // The top 2 of every group into the dot plot, each gene once, in group order.
    f.markers.addTopPerGroupToPlot(2);
    expect(f.markers.plotGenes.map((g) => g.symbol)).toEqual(["LYZ", "CD3E"]);
  });

  it("genes added to the plot are summarised by group in one job; sent to the notebook as SQL and a dot plot", async () => {
    const f = fake();
    await f.markers.attach("ds1");
    f.markers.setGroup("B");
    await f.markers.start();
    f.markers.addToPlot(GENES[0]);
    f.markers.addToPlot(GENES[1]);
    f.markers.addToPlot(GENES[1]);
    await settle();
    await settle();
    expect(f.markers.plotGenes.map((g) => g.symbol)).toEqual(["LYZ", "CD3E"]);
    expect(f.of("markers.byGroup").at(-1)).toMatchObject({ datasetId: "ds1", geneIntegerIds: [7, 9], normalization: "log1p_cp10k" });
    expect(f.markers.byGroup?.genes.map((g) => g.symbol)).toEqual(["LYZ", "CD3E"]);
    // The first summary (one gene) was superseded before its job id came back: that job is cancelled, not left running.
    expect(f.cancelled).toEqual(["plot2"]);
    await f.markers.sendPlot("dot");
    const cells = f.sent[0];
    expect(cells.map((c) => c.kind)).toEqual(["markdown", "sql", "plot"]);
    const sql = cells[1] as Extract<NewCell, { kind: "sql" }>;
    expect(sql.name).toBe("dotplot_cell_type_2");
    expect(sql.text).toContain("gene_integer_id IN (7, 9)");
    expect(sql.text).toContain("gene_symbols AS gene");
    expect(cells[2]).toMatchObject({
      kind: "plot",
      source: "dotplot_cell_type_2",
      spec: { mark: "dot", x: "cell_type", y: "gene", fill: "mean", r: "frac_expressing" },
    });
    f.markers.removeFromPlot(7);
    expect(f.markers.violinGene).toBe(9);
  });
});

describe("markers: pure parts", () => {
  it("filter form → request: blanks and no-op bounds left out, percent as a fraction, bad numbers named", () => {
    expect(filterRequest(DEFAULT_FILTER)).toEqual({ filter: { direction: "up" }, problems: [] });
    expect(filterRequest({ ...DEFAULT_FILTER, direction: "both", minAbsLogfc: "0", maxPvalAdj: "1", minPctGroup: "0" }).filter).toEqual({});
    expect(filterRequest({ ...DEFAULT_FILTER, direction: "down", minAbsLogfc: "1.5", maxPvalAdj: "1e-3", minPctGroup: "10" }).filter).toEqual({
      direction: "down",
      minAbsLogfc: 1.5,
      maxPvalAdj: 0.001,
      minPctGroup: 0.1,
    });
    const bad = filterRequest({ ...DEFAULT_FILTER, minAbsLogfc: "-1", minPctGroup: "150", maxPvalAdj: "x" });
    expect(bad.filter).toEqual({ direction: "up" });
    expect(bad.problems).toHaveLength(3);
  });

  it("pages stay within the top N, and the last page asks only for what is left", () => {
    expect(pageWindow(0, 100)).toEqual({ offset: 0, limit: 50 });
    expect(pageWindow(1, 100)).toEqual({ offset: 50, limit: 50 });
    expect(pageWindow(1, 60)).toEqual({ offset: 50, limit: 10 });
    expect(pageWindow(0, 25)).toEqual({ offset: 0, limit: 25 });
    expect(shownRows(8674, 100)).toBe(100);
    expect(shownRows(30, 100)).toBe(30);
    expect(pageCount(8674, 250)).toBe(5);
    expect(pageCount(0, 100)).toBe(1);
  });

  it("z-scores per gene: mean 0, SD 1; a constant gene is all 0", () => {
    const [a, b] = zScoreRows([
      [1, 2, 3, 6],
      [4, 4, 4, 4],
    ]);
    expect(a.reduce((s, v) => s + v, 0)).toBeCloseTo(0, 12);
    expect(a.reduce((s, v) => s + v * v, 0) / a.length).toBeCloseTo(1, 12);
    expect(a[3]).toBeGreaterThan(a[2]);
    expect(b).toEqual([0, 0, 0, 0]);
  });

  it("violin outline: closed at 0 and the maximum, widths proportional to the bins, the widest bin at 0.45", () => {
    const v = violinOutline("B", [10, 0, 5, 2], 4);
    expect(v.map((p) => p.y)).toEqual([0, 0.5, 1.5, 2.5, 3.5, 4]);
    expect(v.map((p) => p.half)).toEqual([0.45, 0.45, 0, 0.225, 0.09, 0.09]);
    expect(violinOutline("B", [0, 0], 1)).toEqual([]);
    // Every cell at 0: one bin's worth at 0 only.
    expect(violinOutline("B", [5, 0], 0)).toEqual([{ group: "B", y: 0, half: 0.45 }]);
  });

  it("dot plot cells, box rows and violins from a byGroup answer; volcano significance and labels", () => {
    const d = {
      groups: [
        { group: "B", cells: 2 },
        { group: null, cells: 1 },
      ],
      genes: [{ geneIntegerId: 7, geneId: "g7", symbol: "LYZ", max: 2 }],
      bins: 2,
      values: [
        [
          { mean: 1, fracExpressing: 0.5, meanExpressing: 2, min: 0, q1: 0, median: 1, q3: 1.5, max: 2, histogram: [1, 1] },
          { mean: 3, fracExpressing: 1, meanExpressing: 3, min: 3, q1: 3, median: 3, q3: 3, max: 3, histogram: [0, 1] },
        ],
      ],
    } as MarkersByGroup;
    expect(groupCells(d)).toEqual([
      { gene: "LYZ", geneIntegerId: 7, group: "B", mean: 1, frac: 0.5, z: -1, cells: 2 },
      { gene: "LYZ", geneIntegerId: 7, group: "(null)", mean: 3, frac: 1, z: 1, cells: 1 },
    ]);
    const dist = geneDistribution(d, 0);
    expect(dist.boxes.map((b) => [b.group, b.median])).toEqual([
      ["B", 1],
      ["(null)", 3],
    ]);
    expect(new Set(dist.violin.map((p) => p.group))).toEqual(new Set(["B", "(null)"]));

    expect(significance(2, 3)).toBe("up");
    expect(significance(-2, 3)).toBe("down");
    expect(significance(0.5, 3)).toBe("ns");
    expect(significance(2, 1)).toBe("ns");
    expect(significance(NaN, 3)).toBe("ns");
    const points = volcanoPoints(volcanoArrow());
    expect(points.map((p) => p.rank)).toEqual([1, 2, 3]);
    expect(volcanoLabels(points).map((p) => p.symbol)).toEqual(["LYZ", "MS4A1"]);
  });

  it("groups are matched in SQL as the panel names them", () => {
    expect(matchGroup("c.cell_type", "B", false)).toBe("c.cell_type::VARCHAR = 'B'");
    expect(matchGroup("c.cluster", "3", true)).toBe("c.cluster = 3");
    expect(matchGroup("c.cluster", "O'Brien", true)).toBe("c.cluster::VARCHAR = 'O''Brien'");
    expect(matchGroup("c.cell_type", null, false)).toBe("c.cell_type IS NULL");
  });
});
