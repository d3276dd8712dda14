/**
 * The Explore view of the open dataset: the embedding's points (loaded page by page, drawn as they come), the
 * colouring (a cells column or one or two genes), the hovered cell, the selection, cell sets and QC. Everything
 * per cell is a typed array indexed by cell_integer_id (= the point's position); nothing builds an object per
 * cell. Reaches main only through the client.
 */
import {
  EXPLORE_MAX_POINTS_PAGE,
  type CellSetSource,
  type Client,
  type ExploreCategory,
  type ExploreColumnKind,
  type ExploreGeneMatch,
  type ExploreGeneValues,
  type ExploreInfo,
  type ExploreStatsState,
  type ExploreTransform,
  type JobEvent,
} from "../../shared/ipc/contract";
import type { AppError } from "../../shared/result";
import { decodePage, formatValue } from "../api/arrow-rows";
import type { AskConfirm } from "./confirm";
import { codeSet, column, decodePoints, idsToBytes, indicesWithCodes, pointsInPolygon } from "./explore-data";
import { frameOf, polygonToData, type Frame } from "./explore-frame";
import { exploreCells, type ExploreSnapshot, type NewCell } from "./explore-notebook";
import { CellSets } from "./explore-sets.svelte";
import { ExploreQcStore } from "./explore-qc.svelte";
import { blendView, categoricalView, continuousView, plainView, type ScatterView } from "./explore-views";
import type { AskPath } from "./paths";

export type Tool = "pan" | "lasso" | "box";
export type GeneMode = "side" | "blend";

export interface JobWaiter {
  wait(jobId: string): Promise<JobEvent>;
}

/** Where "Send to notebook" puts its cells, and the notebook's named results a set can be made from. */
export interface NotebookSink {
  /** Loads the open dataset's notebook if it is not loaded yet (its saved cell sets come back with it). */
  attach(): Promise<void>;
  /** Appends the cells to the open dataset's notebook, shows it and runs the new SQL cells. */
  send(cells: NewCell[]): Promise<void>;
  /** Names of the notebook's SQL cells (new cells get other names). */
  names(): string[];
  /** Named results of the notebook that hold a cell_integer_id column. */
  cellResults(): { name: string; resultId: string; rows: number }[];
}

export interface ExploreOptions {
  jobs: JobWaiter;
  askPath: AskPath;
  confirm: AskConfirm;
  notebook: NotebookSink;
  /** Points in the first page (a quick first paint) and in each later one. */
  firstPage?: number;
  pageSize?: number;
  /** Delay before a gene search is sent while typing. */
  searchDelayMs?: number;
}

export interface Points {
  column: string;
  dims: [number, number];
  x: Float32Array;
  y: Float32Array;
  total: number;
  frame: Frame;
}

export type ColumnColors =
  | { kind: "categorical"; column: string; categories: ExploreCategory[]; codes: Uint16Array | Int32Array }
  | { kind: "continuous"; column: string; values: Float32Array; min: number; max: number; q01: number; q99: number; nulls: number };

export interface GeneSlot {
  match: ExploreGeneMatch;
  state: "loading" | "counting" | "ready" | "error";
  meta: Omit<ExploreGeneValues, "arrow"> | null;
  values: Float32Array | null;
  error: AppError | null;
}

export type ColourBy = { kind: "none" } | { kind: "column"; column: string; as: ExploreColumnKind } | { kind: "genes" };

export type Selection =
  | { source: "lasso" | "box"; polygon: number[]; indices: number[] }
  | { source: "category"; column: string; values: (string | null)[]; indices: number[] }
  | { source: "range"; label: string; indices: number[] }
  | { source: "set"; name: string; indices: number[] }
  | { source: "point"; indices: number[] };

export interface Hovered {
  index: number;
  at: { x: number; y: number };
  rows: [string, string][] | null;
}

/**
 * A small first page paints at once; the rest comes in pages as large as main allows, since every page that lands
 * means one more draw of everything loaded so far (about 2 s for a million points in software WebGL).
 */
export const FIRST_PAGE = 65_536;
export const PAGE_SIZE = EXPLORE_MAX_POINTS_PAGE;
const GENE_KEYS = ["explore-gene-a", "explore-gene-b"];

export class Explore {
  datasetId = $state<string | null>(null);
  info = $state.raw<ExploreInfo | null>(null);
  error = $state<AppError | null>(null);
  /** Why the gene index build of this dataset failed (shown until dismissed); gene reads then stay on the dataset. */
  geneIndexError = $state<AppError | null>(null);
  /** What is loading, for the indicator ("Loading points", "Reading LYZ"...); null when idle. */
  busy = $state<string | null>(null);

  embedding = $state<string | null>(null);
  dims = $state<[number, number]>([0, 1]);
  points = $state.raw<Points | null>(null);
  /** Points loaded so far (x/y filled up to here). */
  loaded = $state(0);

  colourBy = $state<ColourBy>({ kind: "none" });
  columnColors = $state.raw<ColumnColors | null>(null);
  /** Clip continuous scales to the 1st–99th percentiles. */
  clip = $state(true);
  hidden = $state.raw<ReadonlySet<number>>(codeSet());
  genes = $state.raw<(GeneSlot | null)[]>([null, null]);
  geneMode = $state<GeneMode>("side");
  transform = $state<ExploreTransform>("log1p_cp10k");

  geneQuery = $state("");
  geneMatches = $state.raw<ExploreGeneMatch[]>([]);
  searching = $state(false);

  tool = $state<Tool>("pan");
  hovered = $state.raw<Hovered | null>(null);
  selection = $state.raw<Selection | null>(null);

  readonly sets: CellSets;
  readonly qc: ExploreQcStore;

  /** Bumped by attach/detach and by a new embedding: loads of older ones stop. */
  private pointsGen = 0;
  private colourGen = 0;
  private geneGen = [0, 0];
  private searchSeq = 0;
  private searchTimer: ReturnType<typeof setTimeout> | null = null;
  private hoverSeq = 0;
  // A plain cache of hovered rows, not state.
  // eslint-disable-next-line svelte/prefer-svelte-reactivity
  private readonly rowCache = new Map<number, [string, string][]>();

  constructor(
    private readonly client: Client,
    private readonly options: ExploreOptions,
  ) {
    this.sets = new CellSets(
      client,
      () => this.datasetId,
      options.askPath,
      options.confirm,
      (e) => (this.error = e),
    );
    this.qc = new ExploreQcStore(
      client,
      options.jobs,
      () => this.datasetId,
      (e) => (this.error = e),
    );
  }

  /** The scatter view(s): one, or two side by side for two genes. */
  get views(): ScatterView[] {
    return this.viewsNow;
  }
  private viewsNow = $derived.by(() => this.computeViews());
  /** What was shown last: kept on screen while a new gene colouring is still being read. */
  private lastViews: ScatterView[] = [];

  get nCells(): number {
    return this.info?.nCells ?? 0;
  }

  get loadingPoints(): boolean {
    return this.points !== null && this.loaded < this.points.total;
  }

  /** Shows the Explore view of a dataset (no-op when it is already the one shown). */
  async attach(datasetId: string): Promise<void> {
    if (this.datasetId === datasetId) return;
    this.reset();
    this.datasetId = datasetId;
    const gen = this.pointsGen;
    this.busy = "Reading the cells table";
    const r = await this.client.explore.info({ datasetId });
    if (gen !== this.pointsGen) return;
    this.busy = null;
    if (!r.ok) {
      this.error = r.error;
      return;
    }
    this.info = r.value;
    this.followGeneIndex(datasetId);
    void this.options.notebook.attach();
    void this.sets.refresh();
    const first = r.value.embeddings[0];
    const byType = r.value.columns.find((c) => c.kind === "categorical" && /^(cell_?type|celltype|leiden|louvain|cluster)/i.test(c.name));
    if (byType) void this.colourByColumn(byType.name);
    if (first) await this.showEmbedding(first.name, [0, 1]);
  }

  /** The gene index build started for this dataset: its end (ready, or why not) into `info` and `geneIndexError`. */
  private followGeneIndex(datasetId: string): void {
    const { jobId, state } = this.info?.geneIndex ?? { jobId: null, state: "off" };
    if (state !== "building" || !jobId) return;
    void this.options.jobs.wait(jobId).then((end) => {
      if (this.datasetId !== datasetId || this.info?.geneIndex.jobId !== jobId || end.state === "cancelled") return;
      this.info = { ...this.info, geneIndex: { state: end.state === "done" ? "ready" : "failed", jobId } };
      this.geneIndexError = end.error ?? null;
    });
  }

  /** Forgets the dataset: loads stop, gene reads are cancelled. */
  async detach(): Promise<void> {
    const had = this.datasetId !== null;
    this.reset();
    if (had) await Promise.all(GENE_KEYS.map((requestKey) => this.client.explore.cancel({ requestKey })));
  }

  private reset(): void {
    this.pointsGen++;
    this.colourGen++;
    this.geneGen = this.geneGen.map((g) => g + 1);
    this.searchSeq++;
    this.hoverSeq++;
    if (this.searchTimer) clearTimeout(this.searchTimer);
    this.rowCache.clear();
    this.datasetId = null;
    this.info = null;
    this.error = null;
    this.geneIndexError = null;
    this.busy = null;
    this.embedding = null;
    this.points = null;
    this.loaded = 0;
    this.colourBy = { kind: "none" };
    this.columnColors = null;
    this.hidden = codeSet();
    this.genes = [null, null];
    this.geneQuery = "";
    this.geneMatches = [];
    this.hovered = null;
    this.selection = null;
    this.sets.reset();
    this.qc.reset();
  }

  /** Loads an embedding's points page by page; each page is drawn as it lands. */
  async showEmbedding(name: string, dims: [number, number]): Promise<void> {
    const datasetId = this.datasetId;
    if (!datasetId) return;
    const gen = ++this.pointsGen;
    this.embedding = name;
    this.dims = dims;
    this.selection = null;
    this.hovered = null;
    let offset = 0;
    let total = Infinity;
    let x = new Float32Array(0);
    let y = new Float32Array(0);
    this.busy = "Loading points";
    while (offset < total) {
      const limit = offset === 0 ? (this.options.firstPage ?? FIRST_PAGE) : (this.options.pageSize ?? PAGE_SIZE);
      const r = await this.client.explore.points({ datasetId, column: name, dims, offset, limit });
      if (gen !== this.pointsGen) return;
      if (!r.ok) {
        this.error = r.error;
        this.busy = null;
        return;
      }
      const page = r.value;
      if (offset === 0) {
        total = page.totalRows;
        x = new Float32Array(total);
        y = new Float32Array(total);
        const b = page.bounds;
        this.points = { column: name, dims, x, y, total, frame: frameOf({ xMin: b.x[0], xMax: b.x[1], yMin: b.y[0], yMax: b.y[1] }) };
      }
      if (page.numRows === 0) break;
      const p = decodePoints(page.arrow);
      x.set(p.x.subarray(0, Math.min(p.x.length, total - offset)), offset);
      y.set(p.y.subarray(0, Math.min(p.y.length, total - offset)), offset);
      offset += page.numRows;
      this.loaded = Math.min(offset, total);
      if (offset < total) this.busy = `Loading points ${this.loaded.toLocaleString("en-US")} / ${total.toLocaleString("en-US")}`;
    }
    if (gen === this.pointsGen) this.busy = this.geneBusy();
  }

  setDims(dims: [number, number]): void {
    if (this.embedding) void this.showEmbedding(this.embedding, dims);
  }

  /** Colours by a cells column (categorical with a legend, or continuous with a colour bar). */
  async colourByColumn(name: string, as?: ExploreColumnKind): Promise<void> {
    const datasetId = this.datasetId;
    if (!datasetId) return;
    const kind = as ?? this.info?.columns.find((c) => c.name === name)?.kind ?? "categorical";
    const gen = ++this.colourGen;
    this.colourBy = { kind: "column", column: name, as: kind };
    this.hidden = codeSet();
    const r = await this.client.explore.colors({ datasetId, column: name, as: kind });
    if (gen !== this.colourGen) return;
    if (!r.ok) {
      this.error = r.error;
      return;
    }
    const c = r.value;
    if (c.kind === "categorical") {
      this.columnColors = { kind: "categorical", column: c.column, categories: c.categories, codes: codeColumn(c.arrow) };
    } else {
      this.columnColors = {
        kind: "continuous",
        column: c.column,
        values: column(c.arrow, "value", Float32Array),
        min: c.min,
        max: c.max,
        q01: c.q01,
        q99: c.q99,
        nulls: c.nulls,
      };
    }
  }

  colourByNothing(): void {
    this.colourGen++;
    this.colourBy = { kind: "none" };
    this.hidden = codeSet();
  }

  /** Category k shown or hidden. */
  toggleCategory(k: number): void {
    this.hidden = this.hidden.has(k) ? codeSet([...this.hidden].filter((c) => c !== k)) : codeSet([...this.hidden, k]);
  }

  /** Only category k shown; solo again (or on the only one shown) shows everything. */
  solo(k: number): void {
    const n = this.columnColors?.kind === "categorical" ? this.columnColors.categories.length : 0;
    const alone = this.hidden.size === n - 1 && !this.hidden.has(k);
    this.hidden = alone ? codeSet() : codeSet(Array.from({ length: n }, (_, i) => i).filter((i) => i !== k));
  }

  showAllCategories(): void {
    this.hidden = codeSet();
  }

  // ---- genes ----

  /** Typing in the gene box: the search is sent after a short pause; older answers are dropped. */
  searchGenes(query: string): void {
    this.geneQuery = query;
    if (this.searchTimer) clearTimeout(this.searchTimer);
    const seq = ++this.searchSeq;
    if (!query.trim()) {
      this.geneMatches = [];
      this.searching = false;
      return;
    }
    this.searching = true;
    this.searchTimer = setTimeout(() => void this.runSearch(query.trim(), seq), this.options.searchDelayMs ?? 120);
  }

  private async runSearch(query: string, seq: number): Promise<void> {
    const datasetId = this.datasetId;
    if (!datasetId) return;
    const r = await this.client.explore.searchGenes({ datasetId, query, limit: 12 });
    if (seq !== this.searchSeq) return;
    this.searching = false;
    if (!r.ok) {
      this.error = r.error;
      return;
    }
    this.geneMatches = r.value.matches;
    this.noteStats(r.value.stats);
    // Cells-expressing counts arrive with the counting pass: ask again once it is done.
    if (r.value.stats.pass === "running" && r.value.stats.jobId) {
      const jobId = r.value.stats.jobId;
      void this.options.jobs.wait(jobId).then(() => {
        if (seq === this.searchSeq) void this.runSearch(query, seq);
      });
    }
  }

  /** Colours by a gene in slot 0 (replacing the genes shown) or adds it as the second gene (slot 1). */
  async pickGene(match: ExploreGeneMatch, slot: 0 | 1 = 0): Promise<void> {
    const datasetId = this.datasetId;
    if (!datasetId) return;
    this.colourGen++;
    this.colourBy = { kind: "genes" };
    this.hidden = codeSet();
    this.geneMatches = [];
    this.geneQuery = "";
    if (slot === 0 && this.genes[1]?.match.geneIntegerId === match.geneIntegerId) this.setSlot(1, null);
    await this.loadGene(slot, match);
  }

  /** Colours by one gene picked elsewhere (the Markers panel), attaching the dataset first if it is not shown yet. */
  async colourByGene(datasetId: string, gene: { geneIntegerId: number; geneId: string; symbol: string }): Promise<void> {
    await this.attach(datasetId);
    await this.pickGene({ ...gene, match: "exact", on: "symbol", distance: 0, nCells: null });
  }

  removeGene(slot: 0 | 1): void {
    this.geneGen[slot]++;
    void this.client.explore.cancel({ requestKey: GENE_KEYS[slot] });
    if (slot === 0 && this.genes[1]) {
      const second = this.genes[1];
      this.genes = [second, null];
      this.geneGen[1]++;
      // The second gene's read (if still running) answers for slot 1: read it again as slot 0.
      if (second.state !== "ready") void this.loadGene(0, second.match);
    } else this.setSlot(slot, null);
    if (!this.genes[0]) this.colourBy = { kind: "none" };
    this.busy = this.geneBusy();
  }

  setTransform(t: ExploreTransform): void {
    if (t === this.transform) return;
    this.transform = t;
    for (const slot of [0, 1] as const) {
      const g = this.genes[slot];
      if (g) void this.loadGene(slot, g.match);
    }
  }

  /**
   * Reads a gene's values. A newer read for the same slot supersedes this one: main cancels it (same request key)
   * and its late answer is dropped here. When main is still counting per-cell totals, waits for that job.
   */
  private async loadGene(slot: 0 | 1, match: ExploreGeneMatch): Promise<void> {
    const datasetId = this.datasetId;
    if (!datasetId) return;
    const gen = ++this.geneGen[slot];
    const transform = this.transform;
    const keep = this.genes[slot]?.match.geneIntegerId === match.geneIntegerId ? this.genes[slot] : null;
    this.setSlot(slot, { match, state: "loading", meta: keep?.meta ?? null, values: keep?.values ?? null, error: null });
    this.busy = this.geneBusy();
    for (;;) {
      const r = await this.client.explore.gene({ datasetId, geneIntegerId: match.geneIntegerId, transform, requestKey: GENE_KEYS[slot] });
      if (gen !== this.geneGen[slot]) return;
      if (!r.ok) {
        if (r.error.code === "EXPLORE_CANCELLED") return;
        this.setSlot(slot, { match, state: "error", meta: null, values: null, error: r.error });
        this.error = r.error;
        this.busy = this.geneBusy();
        return;
      }
      if ("pending" in r.value) {
        this.setSlot(slot, { ...this.genes[slot]!, state: "counting" });
        this.busy = this.geneBusy();
        await this.options.jobs.wait(r.value.jobId);
        if (gen !== this.geneGen[slot]) return;
        continue;
      }
      const { arrow, ...meta } = r.value;
      this.setSlot(slot, { match, state: "ready", meta, values: column(arrow, "value", Float32Array), error: null });
      this.busy = this.geneBusy();
      return;
    }
  }

  private setSlot(slot: 0 | 1, value: GeneSlot | null): void {
    const next = this.genes.slice();
    next[slot] = value;
    this.genes = next;
  }

  private geneBusy(): string | null {
    if (this.loadingPoints) return this.busy;
    const counting = this.genes.find((g) => g?.state === "counting");
    if (counting) return "Counting each cell's total (once per dataset)";
    const loading = this.genes.find((g) => g?.state === "loading");
    return loading ? `Reading ${loading.match.symbol}` : null;
  }

  private noteStats(stats: ExploreStatsState): void {
    if (this.info) this.info = { ...this.info, stats };
  }

  // ---- views ----

  private computeViews(): ScatterView[] {
    const views = this.viewsFor();
    this.lastViews = views;
    return views;
  }

  private viewsFor(): ScatterView[] {
    const c = this.colourBy;
    const embeddingTitle = this.embedding ?? "";
    if (c.kind === "column") {
      const cc = this.columnColors;
      if (!cc || cc.column !== c.column) return [plainView(embeddingTitle)];
      if (cc.kind === "categorical") return [categoricalView(cc.column, cc.codes, cc.categories.length, this.hidden)];
      return [
        continuousView({
          title: cc.column,
          label: cc.column,
          values: cc.values,
          min: cc.min,
          max: cc.max,
          qlo: cc.q01,
          qhi: cc.q99,
          clip: this.clip,
          zeroIsEmpty: false,
          emptyLabel: "no value",
        }),
      ];
    }
    if (c.kind === "genes") {
      const ready = this.genes.filter((g): g is GeneSlot & { values: Float32Array; meta: NonNullable<GeneSlot["meta"]> } => !!g?.values && !!g.meta);
      if (!ready.length)
        return this.genes.some((g) => g?.state === "loading" || g?.state === "counting") && this.lastViews.length
          ? this.lastViews
          : [plainView(embeddingTitle)];
      const label = (g: (typeof ready)[number]): string => `${g.match.symbol}${g.meta.transform === "log1p_cp10k" ? " · log1p(CP10k)" : " · raw"}`;
      const range = (g: (typeof ready)[number]): { lo: number; hi: number } => ({
        lo: g.meta.min,
        hi: this.clip && g.meta.q99 > g.meta.min ? g.meta.q99 : g.meta.max,
      });
      if (ready.length === 2 && this.geneMode === "blend") {
        return [
          blendView({
            a: { symbol: ready[0].match.symbol, values: ready[0].values, ...range(ready[0]) },
            b: { symbol: ready[1].match.symbol, values: ready[1].values, ...range(ready[1]) },
          }),
        ];
      }
      return ready.map((g) =>
        continuousView({
          title: g.match.symbol,
          label: label(g),
          values: g.values,
          min: g.meta.min,
          max: g.meta.max,
          qlo: g.meta.min,
          qhi: g.meta.q99,
          clip: this.clip,
          zeroIsEmpty: true,
          emptyLabel: "not expressing",
        }),
      );
    }
    return [plainView(embeddingTitle)];
  }

  // ---- hover and selection ----

  /** The cell under the pointer: its metadata row (read once, then cached), and the genes' values. */
  async hover(index: number | null, at: { x: number; y: number }): Promise<void> {
    const seq = ++this.hoverSeq;
    const datasetId = this.datasetId;
    if (index === null || !datasetId) {
      this.hovered = null;
      return;
    }
    const cached = this.rowCache.get(index);
    this.hovered = { index, at, rows: cached ?? null };
    if (cached) return;
    const r = await this.client.datasets.readRows({ datasetId, table: "cells", offset: index, limit: 1 });
    if (seq !== this.hoverSeq || !r.ok || r.value.numRows === 0) return;
    const t = decodePage(r.value.arrow);
    const rows: [string, string][] = t.schema.fields.map((f) => [f.name, formatValue(t.getChild(f.name)?.get(0)) ?? "null"]);
    if (this.rowCache.size > 500) this.rowCache.clear();
    this.rowCache.set(index, rows);
    this.hovered = { index, at, rows };
  }

  /** Each shown gene's value for a cell (tooltips). */
  geneValuesAt(index: number): [string, number][] {
    return this.genes.filter((g): g is GeneSlot & { values: Float32Array } => !!g?.values).map((g) => [g.match.symbol, g.values[index] ?? 0]);
  }

  /** A lasso or box drawn on the scatter (unit space): the cells inside become the selection. */
  selectPolygon(unitPolygon: number[][], source: "lasso" | "box"): void {
    const p = this.points;
    if (!p) return;
    const polygon = polygonToData(p.frame, unitPolygon).flat();
    this.selection = { source, polygon, indices: pointsInPolygon(p.x, p.y, this.loaded, polygon) };
  }

  selectPoint(index: number): void {
    this.selection = { source: "point", indices: [index] };
  }

  /** The cells of the given categories of the coloured column. */
  selectCategories(codes: number[]): void {
    const cc = this.columnColors;
    if (cc?.kind !== "categorical") return;
    const indices = indicesWithCodes(cc.codes, cc.codes.length, codeSet(codes));
    this.selection = { source: "category", column: cc.column, values: codes.map((k) => cc.categories[k].value), indices };
  }

  selectIndices(label: string, indices: number[]): void {
    this.selection = { source: "range", label, indices };
  }

  clearSelection(): void {
    this.selection = null;
  }

  /** Highlights a set's cells. */
  async showSet(name: string): Promise<void> {
    const ids = await this.sets.members(name);
    if (ids) this.selection = { source: "set", name, indices: Array.from(ids) };
  }

  /** The selection as a named set: a polygon or category is defined in main exactly; other selections by their ids. */
  async saveSelection(name: string): Promise<boolean> {
    const s = this.selection;
    if (!s || !this.embedding) return false;
    let from: CellSetSource;
    if (s.source === "lasso" || s.source === "box") from = { kind: "polygon", column: this.embedding, dims: this.dims, polygon: s.polygon };
    else if (s.source === "category") from = { kind: "category", column: s.column, values: s.values };
    else from = { kind: "ids", ids: idsToBytes(s.indices) };
    const made = await this.sets.define(name, from);
    if (made) this.selection = { source: "set", name: made.name, indices: s.indices };
    return made !== null;
  }

  // ---- send to notebook ----

  snapshot(): ExploreSnapshot | null {
    if (!this.embedding) return null;
    const c = this.colourBy;
    const cc = this.columnColors;
    const colour: ExploreSnapshot["colour"] =
      c.kind === "column" && cc?.kind === "categorical"
        ? { kind: "column", column: c.column, hidden: [...this.hidden].map((k) => cc.categories[k]?.value ?? null) }
        : c.kind === "column"
          ? { kind: "column", column: c.column, hidden: [] }
          : c.kind === "genes" && this.genes[0]
            ? {
                kind: "genes",
                transform: this.transform,
                genes: this.genes.filter((g): g is GeneSlot => !!g).map((g) => ({ geneIntegerId: g.match.geneIntegerId, symbol: g.match.symbol })),
              }
            : { kind: "none" };
    const groupBy = cc?.kind === "categorical" ? cc.column : (this.info?.columns.find((col) => col.kind === "categorical")?.name ?? null);
    const set = this.selection?.source === "set" ? this.selection.name : null;
    const qc = this.qc.data ? { sql: this.qc.data.sql, set: this.qc.data.set } : null;
    return { embedding: this.embedding, dims: this.dims, colour, set, groupBy, qc };
  }

  async sendToNotebook(): Promise<void> {
    const snap = this.snapshot();
    if (!snap) return;
    await this.options.notebook.send(exploreCells(snap, this.options.notebook.names()));
  }

  notebookResults(): { name: string; resultId: string; rows: number }[] {
    return this.options.notebook.cellResults();
  }

  dismissError(): void {
    this.error = null;
  }
}

/** Categorical codes as they came (Uint16, or Int32 for many categories). */
function codeColumn(bytes: Uint8Array): Uint16Array | Int32Array {
  const values = decodePage(bytes).getChild("code")?.toArray() as ArrayLike<number> | undefined;
  if (!values) throw new Error('The answer has no column "code"');
  return values instanceof Uint16Array || values instanceof Int32Array ? values : Int32Array.from(values);
}
