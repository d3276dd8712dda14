import { Float32, Int32, Table, Uint16, makeData, makeVector, tableToIPC, type DataType, type Vector } from "apache-arrow";
import { describe, expect, it } from "vitest";
import type {
  CellSetInfo,
  CellSetSource,
  ExploreColors,
  ExploreGeneMatch,
  ExploreGeneValues,
  ExploreInfo,
  ExplorePending,
  JobEvent,
} from "../../shared/ipc/contract";
import { cellIdsFromBytes, cellSetsOf } from "../../shared/notebook/cell-sets";
import { parseNotebook, serializeNotebook } from "../../shared/notebook/format";
import { err, ok, type Result } from "../../shared/result";
import { idsToBytes, orderByCode, pointsInPolygon } from "../../renderer/stores/explore-data";
import { FILL, dataToScreen, frameOf } from "../../renderer/stores/explore-frame";
import { binRange, histogramBins } from "../../renderer/stores/explore-histogram";
import { exploreCells, type NewCell } from "../../renderer/stores/explore-notebook";
import { linkCellSetsToNotebook } from "../../renderer/stores/explore-notebook-sets";
import { RAMP_STEPS, binValues, quantileRange } from "../../renderer/stores/explore-palette";
import { Explore, type NotebookSink } from "../../renderer/stores/explore.svelte";
import { Jobs } from "../../renderer/stores/jobs.svelte";
import { createNotebook } from "../../renderer/stores/notebook";
import { FakeMain, fakeDataset, settle } from "./fake-main";

/** Lets timers (the search's debounce) and the promises after them run. */
const later = async (): Promise<void> => {
  await new Promise((r) => setTimeout(r, 5));
  await settle();
};

const col = (type: DataType, data: ArrayLike<number>): Vector => makeVector(makeData({ type, length: data.length, nullCount: 0, data } as never));
const ipc = (columns: Record<string, Vector>): Uint8Array => tableToIPC(new Table(columns), "stream");

/** Seven cells: embedding X_umap, cell_type A/B/C, n_counts (continuous, one null), genes LYZ (id 7) and CD3E (id 9). */
const X = [0, 1, 2, 3, 4, 5, 6];
const Y = [0, 10, 0, 10, 0, 10, 5];
const TYPE = [0, 1, 2, 0, 1, 2, 0];
const COUNTS = [1, 2, 3, 4, 5, NaN, 100];
const LYZ = [0, 2, 0, 4, 0, 8, 0];
const CD3E = [1, 0, 0, 0, 3, 0, 0];

const LYZ_MATCH: ExploreGeneMatch = { geneIntegerId: 7, geneId: "ENSG00000090382", symbol: "LYZ", match: "exact", on: "symbol", distance: 0, nCells: 3 };
const CD3E_MATCH: ExploreGeneMatch = { geneIntegerId: 9, geneId: "ENSG00000198851", symbol: "CD3E", match: "exact", on: "symbol", distance: 0, nCells: 2 };

interface Held {
  release(): void;
}

/** Main's explore namespace as far as the store sees it, over FakeMain; answers can be held to test ordering. */
function fakeExplore(geneIndex: ExploreInfo["geneIndex"] = { state: "off", jobId: null }) {
  const main = new FakeMain();
  const c = main.client;
  const calls: { method: string; req: unknown }[] = [];
  const holds = new Map<string, Promise<void>>();
  const hold = (key: string): Held => {
    let release = () => {};
    holds.set(key, new Promise<void>((r) => (release = r)));
    return { release: () => (holds.delete(key), release()) };
  };
  const gate = async (key: string) => holds.get(key);
  const sets = new Map<string, { ids: Int32Array; version: number }>();
  let version = 0;
  let pendingGene = false;
  const jobEnds = new Map<string, () => void>();
  const jobPromises = new Map<string, Promise<void>>();

  const info: ExploreInfo = {
    datasetId: "ds-1",
    nCells: 7,
    nGenes: 20,
    embeddings: [
      { name: "X_umap", dims: 2 },
      { name: "X_pca", dims: 10 },
    ],
    columns: [
      { name: "cell_type", type: "Utf8", kind: "categorical", categories: 3 },
      { name: "n_counts", type: "Float32", kind: "continuous", categories: null },
    ],
    symbolColumn: "gene_symbol",
    stats: { geneCounts: "pass", pass: "none", jobId: null },
    geneIndex,
  };
  const infoOf = (name: string, s: { ids: Int32Array; version: number }): CellSetInfo => ({ name, size: s.ids.length, version: s.version });
  const define = (name: string, ids: Iterable<number>): CellSetInfo => {
    const s = { ids: Int32Array.from(new Set(ids)).sort(), version: ++version };
    sets.set(name, s);
    return infoOf(name, s);
  };

  c.explore.info = async (req) => (calls.push({ method: "info", req }), ok(info));
  c.explore.points = async (req) => {
    calls.push({ method: "points", req });
    await gate(`points:${req.column}:${req.offset}`);
    const end = Math.min(7, req.offset + req.limit);
    const sign = req.column === "X_pca" ? -1 : 1;
    const xs = X.slice(req.offset, end).map((v) => v * sign);
    return ok({
      column: req.column,
      dims: req.dims,
      offset: req.offset,
      numRows: end - req.offset,
      totalRows: 7,
      bounds: { x: sign > 0 ? [0, 6] : [-6, 0], y: [0, 10] },
      arrow: ipc({
        x: col(new Float32(), Float32Array.from(xs)),
        y: col(new Float32(), Float32Array.from(Y.slice(req.offset, end))),
        cell_integer_id: col(new Int32(), Int32Array.from(X.slice(req.offset, end))),
      }),
    });
  };
  c.explore.colors = async (req): Promise<Result<ExploreColors>> => {
    calls.push({ method: "colors", req });
    if (req.column === "cell_type")
      return ok({
        kind: "categorical",
        column: "cell_type",
        categories: [
          { value: "A", cells: 3 },
          { value: "B", cells: 2 },
          { value: "C", cells: 2 },
        ],
        arrow: ipc({ code: col(new Uint16(), Uint16Array.from(TYPE)) }),
      });
    return ok({
      kind: "continuous",
      column: req.column,
      min: 1,
      max: 100,
      q01: 1,
      q99: 5,
      nulls: 1,
      arrow: ipc({ value: col(new Float32(), Float32Array.from(COUNTS)) }),
    });
  };
  c.explore.gene = async (req): Promise<Result<ExploreGeneValues | ExplorePending>> => {
    calls.push({ method: "gene", req });
    await gate(`gene:${req.geneIntegerId}`);
    if (pendingGene) {
      pendingGene = false;
      return ok({ pending: true, jobId: "stats-1" });
    }
    if (holds.has(`cancelled:${req.geneIntegerId}`)) return err("EXPLORE_CANCELLED", "superseded");
    const raw = req.geneIntegerId === 7 ? LYZ : CD3E;
    const values = req.transform === "raw" ? raw : raw.map((v) => (v ? Math.log1p(v) : 0));
    const pos = values.filter((v) => v > 0);
    return ok({
      geneIntegerId: req.geneIntegerId,
      symbol: req.geneIntegerId === 7 ? "LYZ" : "CD3E",
      transform: req.transform,
      nExpressing: pos.length,
      min: Math.min(...pos),
      max: Math.max(...pos),
      q99: Math.max(...pos),
      arrow: ipc({ value: col(new Float32(), Float32Array.from(values)) }),
      cached: false,
      rowsRead: pos.length,
      bytesRead: pos.length * 8,
      ms: 1,
    });
  };
  c.explore.cancel = async (req) => (calls.push({ method: "cancel", req }), ok(null));
  c.explore.searchGenes = async (req) => {
    calls.push({ method: "searchGenes", req });
    await gate(`search:${req.query}`);
    const all = [LYZ_MATCH, CD3E_MATCH];
    return ok({ query: req.query, matches: all.filter((m) => m.symbol.startsWith(req.query.toUpperCase())), stats: info.stats });
  };
  c.explore.defineSet = async (req) => {
    calls.push({ method: "defineSet", req });
    if (sets.has(req.name) && !req.replace) return err("EXPLORE_SET_EXISTS", `A cell set named ${req.name} exists`);
    const from: CellSetSource = req.from;
    switch (from.kind) {
      case "ids":
        return ok(define(req.name, cellIdsFromBytes(from.ids)));
      case "polygon":
        return ok(define(req.name, pointsInPolygon(Float32Array.from(X), Float32Array.from(Y), 7, from.polygon)));
      case "category":
        return ok(
          define(
            req.name,
            X.filter((i) => from.values.includes(["A", "B", "C"][TYPE[i]])),
          ),
        );
      case "algebra": {
        const members = from.sets.map((n) => new Set(sets.get(n)!.ids));
        const [first, ...rest] = members;
        const out =
          from.op === "union"
            ? members.flatMap((m) => [...m])
            : from.op === "intersection"
              ? [...first].filter((i) => rest.every((m) => m.has(i)))
              : [...first].filter((i) => rest.every((m) => !m.has(i)));
        return ok(define(req.name, out));
      }
      default:
        return err("EXPLORE_SET_INVALID", "not in the fake");
    }
  };
  c.explore.listSets = async () => ok([...sets].map(([name, s]) => infoOf(name, s)));
  c.explore.getSet = async (req) => {
    const s = sets.get(req.name);
    return s ? ok({ ...infoOf(req.name, s), ids: idsToBytes(s.ids) }) : err("EXPLORE_SET_NOT_FOUND", req.name);
  };
  c.explore.renameSet = async (req) => {
    calls.push({ method: "renameSet", req });
    const s = sets.get(req.name)!;
    const entries = [...sets].map(([n, v]): [string, typeof v] => [n === req.name ? req.newName : n, v]);
    sets.clear();
    for (const [n, v] of entries) sets.set(n, v);
    return ok(infoOf(req.newName, s));
  };
  c.explore.deleteSet = async (req) => (calls.push({ method: "deleteSet", req }), sets.delete(req.name), ok(null));
  const exported = new Set<string>();
  c.explore.exportSetCsv = async (req) => {
    calls.push({ method: "exportSetCsv", req });
    if (exported.has(req.path) && !req.overwrite) return err("EXPORT_TARGET_EXISTS", `${req.path} exists`, { path: req.path });
    exported.add(req.path);
    return ok({ path: req.path, bytes: 10, cells: sets.get(req.name)!.ids.length });
  };
  c.datasets.readRows = async (req) => {
    calls.push({ method: "readRows", req });
    return ok({
      offset: req.offset,
      numRows: 1,
      totalRows: 7,
      arrow: ipc({ cell_integer_id: col(new Int32(), Int32Array.of(req.offset)), n_counts: col(new Float32(), Float32Array.of(COUNTS[req.offset])) }),
    });
  };

  const jobFinals = new Map<string, Partial<JobEvent>>();
  const jobs = {
    wait: (jobId: string): Promise<JobEvent> => {
      if (!jobPromises.has(jobId)) jobPromises.set(jobId, new Promise<void>((r) => jobEnds.set(jobId, r)));
      return jobPromises.get(jobId)!.then(
        () =>
          ({
            jobId,
            kind: "explore",
            state: "done",
            progress: { done: 1, total: 1, unit: "rows", ratePerSecond: null, etaSeconds: null },
            startedAt: 0,
            ...jobFinals.get(jobId),
          }) as JobEvent,
      );
    },
  };
  const sent: NewCell[][] = [];
  const sink: NotebookSink = {
    attach: async () => {},
    send: async (cells) => void sent.push(cells),
    names: () => ["x_umap_cell_type"],
    cellResults: () => [],
  };
  const answers: boolean[] = [];
  const explore = new Explore(c, {
    jobs,
    askPath: async (_kind, _title, initial) => initial.replace("~", "/home/me"),
    confirm: async () => answers.shift() ?? false,
    notebook: sink,
    firstPage: 3,
    pageSize: 2,
    searchDelayMs: 0,
  });
  return {
    main,
    explore,
    calls,
    hold,
    sets,
    sent,
    answers,
    endJob: (jobId: string, final?: Partial<JobEvent>) => {
      if (final) jobFinals.set(jobId, final);
      jobs.wait(jobId);
      jobEnds.get(jobId)?.();
    },
    pendingNextGene: () => (pendingGene = true),
    of: (method: string) => calls.filter((x) => x.method === method).map((x) => x.req as Record<string, unknown>),
  };
}

describe("explore store: points and colours", () => {
  it("loads the embedding page by page into typed arrays and colours by the cell-type column", async () => {
    const f = fakeExplore();
    const second = f.hold("points:X_umap:3");
    const attached = f.explore.attach("ds-1");
    await settle();
    // The first page is drawn before the rest arrives, already in the final frame (from the bounds).
    expect(f.explore.loaded).toBe(3);
    expect(f.explore.loadingPoints).toBe(true);
    expect(f.explore.busy).toMatch(/Loading points 3 \/ 7/);
    expect(f.explore.points?.frame).toEqual(frameOf({ xMin: 0, xMax: 6, yMin: 0, yMax: 10 }));
    second.release();
    await attached;
    expect(f.of("points").map((r) => [r.offset, r.limit])).toEqual([
      [0, 3],
      [3, 2],
      [5, 2],
    ]);
    expect(f.explore.loaded).toBe(7);
    expect([...f.explore.points!.x]).toEqual(X);
    expect([...f.explore.points!.y]).toEqual(Y);
    expect(f.explore.busy).toBeNull();
    expect(f.explore.colourBy).toEqual({ kind: "column", column: "cell_type", as: "categorical" });
    const [view] = f.explore.views;
    expect(view.codes).toBeInstanceOf(Float32Array);
    expect([...view.codes!]).toEqual(TYPE);
    expect(view.palette).toHaveLength(3);
    expect(view.shown).toBeNull();
  });

  it("a new embedding stops the older one's load", async () => {
    const f = fakeExplore();
    const held = f.hold("points:X_umap:3");
    void f.explore.attach("ds-1");
    await settle();
    const pca = f.explore.showEmbedding("X_pca", [2, 5]);
    held.release();
    await pca;
    await settle();
    expect(f.explore.points?.column).toBe("X_pca");
    expect(f.explore.dims).toEqual([2, 5]);
    expect([...f.explore.points!.x]).toEqual(X.map((v) => -v));
    // X_umap's load stopped at the page it was waiting for.
    expect(
      f
        .of("points")
        .filter((r) => r.column === "X_umap")
        .map((r) => r.offset),
    ).toEqual([0, 3]);
    expect(
      f
        .of("points")
        .filter((r) => r.column === "X_pca")
        .every((r) => JSON.stringify(r.dims) === "[2,5]"),
    ).toBe(true);
  });

  it("legend: hide and show categories, solo one, select its cells", async () => {
    const f = fakeExplore();
    await f.explore.attach("ds-1");
    f.explore.toggleCategory(1);
    expect(f.explore.views[0].shown).toEqual([0, 2, 3, 5, 6]);
    f.explore.solo(2);
    expect(f.explore.views[0].shown).toEqual([2, 5]);
    f.explore.solo(2);
    expect(f.explore.views[0].shown).toBeNull();
    f.explore.selectCategories([0]);
    expect(f.explore.selection).toMatchObject({ source: "category", column: "cell_type", values: ["A"], indices: [0, 3, 6] });
  });

  it("a continuous column is binned on a ramp clipped to its quantiles; nulls are grey and drawn first", async () => {
    const f = fakeExplore();
    await f.explore.attach("ds-1");
    await f.explore.colourByColumn("n_counts");
    const [v] = f.explore.views;
    expect(v.scale).toMatchObject({ kind: "ramp", lo: 1, hi: 5, min: 1, max: 100, clipped: true, empty: { cells: 1 } });
    // 1 → first ramp step, 5 and the outlier 100 → last, the null → 0 (grey).
    expect([...v.codes!]).toEqual([
      1,
      1 + Math.round(0.25 * (RAMP_STEPS - 1)),
      1 + Math.round(0.5 * (RAMP_STEPS - 1)),
      1 + Math.round(0.75 * (RAMP_STEPS - 1)),
      RAMP_STEPS,
      0,
      RAMP_STEPS,
    ]);
    expect(v.order![0]).toBe(5);
    f.explore.clip = false;
    expect(f.explore.views[0].scale).toMatchObject({ lo: 1, hi: 100, clipped: false });
  });
});

describe("explore store: genes", () => {
  it("colours by a gene: non-expressing cells grey and underneath; raw or log1p; two genes side by side or blended", async () => {
    const f = fakeExplore();
    await f.explore.attach("ds-1");
    await f.explore.pickGene(LYZ_MATCH);
    expect(f.of("gene").at(-1)).toMatchObject({ geneIntegerId: 7, transform: "log1p_cp10k", requestKey: "explore-gene-a" });
    let [v] = f.explore.views;
    expect([...v.codes!].map((c) => c > 0)).toEqual(LYZ.map((x) => x > 0));
    // Grey (code 0) cells first, then by value: the highest expression is drawn last, on top.
    expect(v.order!.slice(0, 4).sort()).toEqual([0, 2, 4, 6]);
    expect(v.order!.at(-1)).toBe(5);
    expect(v.scale).toMatchObject({ kind: "ramp", label: "LYZ · log1p(CP10k)", empty: { label: "not expressing", cells: 4 } });

    f.explore.setTransform("raw");
    await settle();
    expect(f.of("gene").at(-1)).toMatchObject({ geneIntegerId: 7, transform: "raw" });
    expect(f.explore.views[0].scale).toMatchObject({ label: "LYZ · raw", lo: 2, hi: 8 });

    await f.explore.pickGene(CD3E_MATCH, 1);
    expect(f.of("gene").at(-1)).toMatchObject({ geneIntegerId: 9, requestKey: "explore-gene-b" });
    expect(f.explore.views.map((x) => x.title)).toEqual(["LYZ", "CD3E"]);
    f.explore.geneMode = "blend";
    [v] = f.explore.views;
    expect(f.explore.views).toHaveLength(1);
    expect(v.scale).toEqual({ kind: "blend", a: "LYZ", b: "CD3E" });
    // Neither gene: grey; LYZ only, CD3E only and both land on different palette entries.
    expect(v.codes![2]).toBe(0);
    expect(new Set([v.codes![1], v.codes![0], v.codes![4]]).size).toBe(3);
    expect(v.order![0]).toBe(2);

    f.explore.removeGene(0);
    expect(f.explore.genes.map((g) => g?.match.symbol ?? null)).toEqual(["CD3E", null]);
    expect(f.explore.views[0].title).toBe("CD3E");
  });

  it("a gene picked while another is still reading supersedes it: the older answer is dropped", async () => {
    const f = fakeExplore();
    await f.explore.attach("ds-1");
    const slow = f.hold("gene:7");
    const first = f.explore.pickGene(LYZ_MATCH);
    await settle();
    expect(f.explore.busy).toBe("Reading LYZ");
    const second = f.explore.pickGene(CD3E_MATCH);
    await second;
    slow.release();
    await first;
    expect(f.explore.genes[0]?.match.symbol).toBe("CD3E");
    expect([...f.explore.genes[0]!.values!].map((x) => x > 0)).toEqual(CD3E.map((x) => x > 0));
    // Both reads used the slot's request key, so main cancels the older one when the newer arrives.
    expect(f.of("gene").map((r) => r.requestKey)).toEqual(["explore-gene-a", "explore-gene-a"]);
    expect(f.explore.busy).toBeNull();
  });

  it("log1p(CP10k) while main still counts cell totals: waits for that job, then reads again", async () => {
    const f = fakeExplore();
    await f.explore.attach("ds-1");
    f.pendingNextGene();
    const picked = f.explore.pickGene(LYZ_MATCH);
    await settle();
    expect(f.explore.genes[0]?.state).toBe("counting");
    expect(f.explore.busy).toMatch(/Counting/);
    f.endJob("stats-1");
    await picked;
    expect(f.of("gene")).toHaveLength(2);
    expect(f.explore.genes[0]?.state).toBe("ready");
  });

  it("gene search keeps only the answer to the latest query", async () => {
    const f = fakeExplore();
    await f.explore.attach("ds-1");
    const slow = f.hold("search:L");
    f.explore.searchGenes("L");
    await later();
    f.explore.searchGenes("C");
    await later();
    slow.release();
    await later();
    expect(f.explore.geneMatches.map((m) => m.symbol)).toEqual(["CD3E"]);
    f.explore.searchGenes("");
    expect(f.explore.geneMatches).toEqual([]);
  });
});

describe("explore store: the gene index build", () => {
  it("follows a build main started: ready when its job is done", async () => {
    const f = fakeExplore({ state: "building", jobId: "idx-1" });
    await f.explore.attach("ds-1");
    expect(f.explore.info?.geneIndex).toEqual({ state: "building", jobId: "idx-1" });
    f.endJob("idx-1");
    await settle();
    expect(f.explore.info?.geneIndex).toEqual({ state: "ready", jobId: "idx-1" });
    expect(f.explore.geneIndexError).toBeNull();
  });

  it("says why a build failed (e.g. the cache cap), and forgets it with the dataset", async () => {
    const f = fakeExplore({ state: "building", jobId: "idx-2" });
    await f.explore.attach("ds-1");
    const error = { code: "DISK_FULL" as const, message: "The gene index would take 4.1 GB and the cache has 1.0 GB free under its 20 GB cap" };
    f.endJob("idx-2", { state: "failed", error });
    await settle();
    expect(f.explore.info?.geneIndex.state).toBe("failed");
    expect(f.explore.geneIndexError).toEqual(error);
    await f.explore.detach();
    expect(f.explore.geneIndexError).toBeNull();
  });

  it("ignores the end of a build cancelled because the dataset closed", async () => {
    const f = fakeExplore({ state: "building", jobId: "idx-3" });
    await f.explore.attach("ds-1");
    f.endJob("idx-3", { state: "cancelled", error: { code: "EXPLORE_CANCELLED", message: "cancelled" } });
    await settle();
    expect(f.explore.info?.geneIndex.state).toBe("building");
    expect(f.explore.geneIndexError).toBeNull();
  });
});

describe("explore store: selection, sets, hover, notebook", () => {
  it("a lasso selects the cells inside it; saved, main gets the polygon in embedding coordinates", async () => {
    const f = fakeExplore();
    await f.explore.attach("ds-1");
    const frame = f.explore.points!.frame;
    // A box around x 0.5..4.5, y 5..11 in embedding space, given in the scatter's unit space.
    const unit = [
      [0.5, 5],
      [4.5, 5],
      [4.5, 11],
      [0.5, 11],
    ].map(([x, y]) => [(x - frame.cx) * frame.k, (y - frame.cy) * frame.k]);
    f.explore.selectPolygon(unit, "box");
    expect(f.explore.selection?.indices).toEqual([1, 3]);
    expect(await f.explore.saveSelection("top")).toBe(true);
    const req = f.of("defineSet")[0] as { name: string; from: Extract<CellSetSource, { kind: "polygon" }> };
    expect(req.from.kind).toBe("polygon");
    expect(req.from.column).toBe("X_umap");
    expect(req.from.polygon.map((v) => Math.round(v * 1e6) / 1e6)).toEqual([0.5, 5, 4.5, 5, 4.5, 11, 0.5, 11]);
    expect(f.explore.sets.list).toEqual([{ name: "top", size: 2, version: 1 }]);
    expect(f.explore.selection).toMatchObject({ source: "set", name: "top" });
  });

  it("sets: from a category, algebra of ticked sets, rename, delete, export asking before replacing", async () => {
    const f = fakeExplore();
    await f.explore.attach("ds-1");
    await f.explore.sets.fromCategory("A", "cell_type", ["A"]);
    f.explore.selectIndices("a range", [0, 1]);
    await f.explore.saveSelection("first two");
    f.explore.sets.togglePick("A");
    f.explore.sets.togglePick("first two");
    await f.explore.sets.combine("difference");
    expect(f.sets.get("A − first two")?.ids).toEqual(Int32Array.of(3, 6));
    expect(f.explore.sets.picked).toEqual([]);
    // A name in use: asked first; "no" leaves the set as it was.
    f.answers.push(false);
    expect(await f.explore.sets.fromCategory("A", "cell_type", ["B"])).toBeNull();
    expect(f.sets.get("A")?.ids).toEqual(Int32Array.of(0, 3, 6));
    await f.explore.sets.rename("first two", "head");
    await f.explore.sets.remove("A");
    expect(f.explore.sets.list.map((s) => [s.name, s.size])).toEqual([
      ["head", 2],
      ["A − first two", 2],
    ]);
    expect(f.of("renameSet")).toMatchObject([{ name: "first two", newName: "head" }]);
    expect(await f.explore.sets.exportCsv("head")).toBe("/home/me/head.csv");
    f.answers.push(true);
    expect(await f.explore.sets.exportCsv("head")).toBe("/home/me/head.csv");
    expect(f.of("exportSetCsv").map((r) => r.overwrite ?? false)).toEqual([false, false, true]);
    await f.explore.showSet("head");
    expect(f.explore.selection).toMatchObject({ source: "set", name: "head", indices: [0, 1] });
  });

  it("hover reads the cell's row once, then from the cache; a later hover wins", async () => {
    const f = fakeExplore();
    await f.explore.attach("ds-1");
    await f.explore.hover(3, { x: 1, y: 2 });
    expect(f.explore.hovered?.rows).toEqual([
      ["cell_integer_id", "3"],
      ["n_counts", "4"],
    ]);
    await f.explore.hover(3, { x: 5, y: 5 });
    expect(f.of("readRows")).toHaveLength(1);
    const pending = f.explore.hover(4, { x: 1, y: 1 });
    await f.explore.hover(null, { x: 0, y: 0 });
    await pending;
    expect(f.explore.hovered).toBeNull();
  });

  it("send to notebook: SQL and plot cells for the gene colouring, the set shown and QC, with fresh names", async () => {
    const f = fakeExplore();
    await f.explore.attach("ds-1");
    await f.explore.pickGene(LYZ_MATCH);
    f.explore.selectIndices("r", [1, 2]);
    await f.explore.saveSelection("my cells");
    await f.explore.sendToNotebook();
    const cells = f.sent[0];
    const sql = cells.filter((c) => c.kind === "sql");
    expect(sql.map((c) => c.name)).toEqual(["umap_lyz", "set_my_cells_cell_type"]);
    expect(sql[0].text).toContain("WHERE gene_integer_id = 7 -- LYZ");
    expect(sql[0].text).toContain("COALESCE(LN(1 + g0.value / t.total * 10000), 0) AS LYZ");
    expect(sql[0].text).toContain("c.X_umap[1] AS umap_1, c.X_umap[2] AS umap_2");
    expect(sql[1].text).toContain("FROM cell_sets WHERE set_name = 'my cells'");
    const plots = cells.filter((c) => c.kind === "plot");
    expect(plots[0]).toMatchObject({ source: "umap_lyz", spec: { mark: "dot", x: "umap_1", y: "umap_2", fill: "LYZ" } });
    expect(plots[1]).toMatchObject({ source: "set_my_cells_cell_type", spec: { mark: "bar", x: "cell_type", y: "n_cells" } });
  });
});

describe("explore: pure parts", () => {
  it("names are unique, hidden categories and QC go into the SQL", () => {
    const cells = exploreCells(
      {
        embedding: "X_umap",
        dims: [0, 1],
        colour: { kind: "column", column: "cell_type", hidden: ["B", null] },
        set: null,
        groupBy: "cell_type",
        qc: { sql: "SELECT 1 AS n_genes", set: null },
      },
      new Set(["umap_cell_type"]),
    );
    const sql = cells.filter((c): c is Extract<NewCell, { kind: "sql" }> => c.kind === "sql");
    expect(sql.map((c) => c.name)).toEqual(["umap_cell_type_2", "qc"]);
    expect(sql[0].text).toContain("WHERE c.cell_type::VARCHAR NOT IN ('B') AND c.cell_type IS NOT NULL");
    expect(cells.filter((c) => c.kind === "plot").map((c) => (c.kind === "plot" ? c.spec.x : ""))).toEqual(["umap_1", "n_genes", "total_counts", "pct_mito"]);
  });

  it("point in polygon: even-odd, half-open on edges, NaN never inside", () => {
    const x = Float32Array.of(0, 1, 2, 1, NaN, 1);
    const y = Float32Array.of(0, 1, 1, 2, 1, 0);
    // A triangle with its base on y = 0 and its apex at (1, 2): points on the base are in, on the right edge and
    // at the apex out (half-open crossings, as main and the e2e's SQL decide them).
    expect(pointsInPolygon(x, y, 6, [-1, 0, 3, 0, 1, 2])).toEqual([0, 1, 5]);
    expect(pointsInPolygon(x, y, 6, [0, 0, 1])).toEqual([]);
  });

  it("a histogram bin's count is exactly the cells a click on it selects", () => {
    const values = Float32Array.from({ length: 500 }, (_, i) => ((i * 37) % 101) / 7);
    const bins = histogramBins(values);
    expect(bins.counts.reduce((a, b) => a + b, 0)).toBe(500);
    for (let i = 0; i < bins.counts.length; i++) {
      const r = binRange(bins, i, i);
      const n = [...values].filter((v) => v >= r.lo && (v < r.hi || (r.closed && v === r.hi))).length;
      expect(n).toBe(bins.counts[i]);
    }
    expect(histogramBins(Float32Array.of(3, 3, 3)).counts).toEqual([3]);
  });

  it("quantile range, binning and the draw order by palette index", () => {
    const v = Float32Array.from({ length: 101 }, (_, i) => i);
    expect(quantileRange(v, 0.01, false)).toEqual([1, 99]);
    expect(quantileRange(Float32Array.of(0, 0, 5), 0.01, true)).toEqual([5, 5]);
    const out = new Float32Array(4);
    binValues(Float32Array.of(0, 1, 2, NaN), 1, 2, true, out);
    expect([...out]).toEqual([0, 1, RAMP_STEPS, 0]);
    expect(orderByCode(Float32Array.of(2, 0, 1, 0), 4, 3)).toEqual([1, 3, 2, 0]);
  });

  it("the frame puts the embedding's bounds inside the canvas with the aspect kept", () => {
    const f = frameOf({ xMin: 0, xMax: 10, yMin: 0, yMax: 5 });
    const [left] = dataToScreen(f, 0, 2.5, 800, 400);
    const [right, mid] = dataToScreen(f, 10, 2.5, 800, 400);
    expect(mid).toBeCloseTo(200);
    expect(right - left).toBeCloseTo(400 * FILL);
    // A tall canvas: the camera steps back so the width still fits.
    const [l2] = dataToScreen(f, 0, 2.5, 300, 600);
    const [r2] = dataToScreen(f, 10, 2.5, 300, 600);
    expect(r2 - l2).toBeCloseTo(300 * FILL);
  });
});

describe("cell sets saved with the notebook", () => {
  it("a set made in Explore is written into the notebook, saved, and given back to main when the notebook opens again", async () => {
    const f = fakeExplore();
    const ds = f.main.openDataset({ ...fakeDataset("ds-1", "pbmc") });
    const jobs = new Jobs(f.main.client);
    const nb = createNotebook(f.main.client, jobs, { askPath: async () => null, autosaveMs: 60_000 });
    linkCellSetsToNotebook(f.main.client, nb, f.explore.sets);
    await nb.file.attach(ds);
    await f.explore.attach("ds-1");
    f.explore.selectIndices("r", [1, 2, 3, 6]);
    await f.explore.saveSelection("T cells");
    await settle();
    const saved = cellSetsOf(nb.doc.nb).sets;
    expect(saved.map((s) => [s.name, [...s.ids]])).toEqual([["T cells", [1, 2, 3, 6]]]);
    expect(nb.file.dirty).toBe(true);
    expect(await nb.file.save()).toBe(true);
    const path = nb.file.path!;
    expect(f.main.files.get(path)!.text).toContain('```cellset {name="T cells" cells=4}\n1-3 6\n```');

    // Renamed in Explore: the block follows; deleted: the block goes.
    await f.explore.sets.rename("T cells", "T");
    await settle();
    expect(cellSetsOf(nb.doc.nb).sets.map((s) => s.name)).toEqual(["T"]);

    // A new page: main holds no sets; opening the notebook file gives them back.
    const g = fakeExplore();
    g.main.files.set(path, { text: serializeNotebook(nb.doc.nb), mtimeMs: 1 });
    const ds2 = g.main.openDataset({ ...fakeDataset("ds-1", "pbmc") });
    const nb2 = createNotebook(g.main.client, new Jobs(g.main.client), { askPath: async () => null, autosaveMs: 60_000 });
    linkCellSetsToNotebook(g.main.client, nb2, g.explore.sets);
    await g.explore.attach("ds-1");
    await nb2.file.attach(ds2);
    await nb2.file.open(path);
    await settle();
    // (The starter and the opened file are the same file here: it is restored each time it is read.)
    expect(g.of("defineSet").length).toBeGreaterThan(0);
    for (const req of g.of("defineSet")) expect(req).toMatchObject({ name: "T", replace: true, from: { kind: "ids" } });
    expect([...g.sets.get("T")!.ids]).toEqual([1, 2, 3, 6]);
    expect(g.explore.sets.list.map((s) => [s.name, s.size])).toEqual([["T", 4]]);
    // Restoring is not an edit: the notebook opened clean.
    expect(nb2.file.dirty).toBe(false);

    // Deleting the set's block in the notebook deletes the set.
    const block = cellSetsOf(nb2.doc.nb).sets[0];
    nb2.doc.remove(block.cellId);
    await settle();
    expect(g.sets.has("T")).toBe(false);
    expect(parseNotebook(serializeNotebook(nb2.doc.nb)).cells.some((c) => c.kind === "raw")).toBe(false);
  });
});
