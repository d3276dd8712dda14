/**
 * The Markers panel: differential expression between groups of cells (a category of a cells column vs the rest or
 * vs another, every category at once, or cell sets), computed by main as a job; the ranked table paged from main
 * with filters, the volcano, the top genes per group, and dot plot / violin / heatmap summaries of chosen genes.
 * Reaches main only through the client.
 */
import {
  MARKERS_MAX_GENES,
  type CellSetInfo,
  type Client,
  type ExploreCategory,
  type ExploreInfo,
  type JobEvent,
  type MarkersApplied,
  type MarkersByGroup,
  type MarkersComparison,
  type MarkersGene,
  type MarkersGroup,
  type MarkersGroupBy,
  type MarkersNormalization,
  type MarkersReference,
  type MarkersRun,
  type MarkersTablePage,
  type MarkersTopPerGroup,
} from "../../shared/ipc/contract";
import type { AppError, Result } from "../../shared/result";
import type { NotebookSink } from "./explore.svelte";
import { DEFAULT_FILTER, filterRequest, pageWindow, type FilterForm } from "./markers-filter";
import { groupPlotCells, markersTableCells, type GroupPlotKind, type SqlContext } from "./markers-notebook";
import { volcanoPoints, type VolcanoPoint } from "./markers-plots";

export interface MarkersJobs {
  wait(jobId: string): Promise<JobEvent>;
  cancel(jobId: string): Promise<void>;
}

export interface GeneRef {
  geneIntegerId: number;
  geneId: string;
  symbol: string;
}

export interface MarkersOptions {
  jobs: MarkersJobs;
  notebook: Pick<NotebookSink, "send" | "names">;
  /** Shows the dataset's Explore view coloured by the gene (null when the dataset has no embedding). */
  colourEmbedding: ((datasetId: string, gene: GeneRef) => Promise<void>) | null;
}

export type GroupSource = "column" | "sets";
export type ResultsTab = "table" | "volcano" | "groups";
export type PlotTab = "dot" | "violin" | "heatmap";

/** The most sets a dot plot by sets draws. */
const PLOT_SETS = 50;
/** Top genes per group in the "all groups" overview. */
export const TOP_PER_GROUP = 5;

const TYPE_COLUMN = /^(cell_?type|celltype|leiden|louvain|cluster|seurat_clusters)/i;

export class Markers {
  datasetId = $state<string | null>(null);
  info = $state.raw<ExploreInfo | null>(null);
  sets = $state.raw<CellSetInfo[]>([]);
  error = $state<AppError | null>(null);
  /** A quiet line under the form ("Cancelled", "Showing LYZ in Explore"...). */
  notice = $state<string | null>(null);

  // ---- the comparison form ----
  source = $state<GroupSource>("column");
  column = $state<string | null>(null);
  categories = $state.raw<ExploreCategory[]>([]);
  loadingCategories = $state(false);
  /** The group (a category's text, null for the null category, or a set name); undefined until one is picked. */
  group = $state<string | null | undefined>(undefined);
  reference = $state<MarkersReference>({ kind: "rest" });
  normalization = $state<MarkersNormalization>("auto");

  // ---- the run ----
  jobId = $state<string | null>(null);
  run = $state.raw<MarkersRun | null>(null);
  /** Which comparison of the run the table and volcano show (the only one, or a group of an "all" run). */
  shown = $state.raw<MarkersGroup | null>(null);
  tab = $state<ResultsTab>("table");
  filter = $state<FilterForm>({ ...DEFAULT_FILTER });
  problems = $state.raw<string[]>([]);
  page = $state.raw<MarkersTablePage | null>(null);
  pageIndex = $state(0);
  loadingTable = $state(false);
  top = $state.raw<MarkersTopPerGroup | null>(null);
  topN = $state(TOP_PER_GROUP);
  volcano = $state.raw<VolcanoPoint[] | null>(null);
  selected = $state.raw<(GeneRef & { row?: MarkersGene }) | null>(null);

  // ---- plots of chosen genes by group ----
  plotGenes = $state.raw<GeneRef[]>([]);
  plotTab = $state<PlotTab>("dot");
  plotJobId = $state<string | null>(null);
  byGroup = $state.raw<MarkersByGroup | null>(null);
  zscore = $state(false);
  /** The gene of the violin and box plot (gene_integer_id), by default the first chosen. */
  violinGene = $state<number | null>(null);
  sending = $state(false);

  private runSeq = 0;
  private tableSeq = 0;
  private topSeq = 0;
  private volcanoSeq = 0;
  private plotSeq = 0;
  private categoriesSeq = 0;

  constructor(
    private readonly client: Client,
    private readonly options: MarkersOptions,
  ) {}

  get running(): boolean {
    return this.jobId !== null;
  }

  get plotting(): boolean {
    return this.plotJobId !== null;
  }

  /** Categorical cells columns a comparison can group by. */
  get groupColumns(): string[] {
    return (this.info?.columns ?? []).filter((c) => c.kind === "categorical").map((c) => c.name);
  }

  get canColourEmbedding(): boolean {
    return this.options.colourEmbedding !== null && (this.info?.embeddings.length ?? 0) > 0;
  }

  /** Why Run cannot start yet, or null. */
  get blocked(): string | null {
    if (!this.info) return "Reading the cells table";
    if (this.source === "column") {
      if (!this.column) return "Pick a cells column to group by";
      if (this.group === undefined) return "Pick a group";
      if (this.reference.kind === "group" && this.reference.name === this.group) return "The reference is the group itself";
    } else {
      if (!this.sets.length) return "No cell sets yet: make some in Explore (lasso, categories, CSV)";
      if (this.group === undefined) return "Pick a cell set";
      if (this.reference.kind === "group" && this.reference.name === this.group) return "The reference is the set itself";
    }
    return null;
  }

  // ---- dataset ----

  async attach(datasetId: string): Promise<void> {
    if (this.datasetId === datasetId) {
      void this.refreshSets();
      return;
    }
    await this.detach();
    this.datasetId = datasetId;
    const r = await this.client.explore.info({ datasetId });
    if (this.datasetId !== datasetId) return;
    if (!r.ok) {
      this.error = r.error;
      return;
    }
    this.info = r.value;
    const columns = this.groupColumns;
    const preferred = columns.find((c) => TYPE_COLUMN.test(c)) ?? columns[0] ?? null;
    await Promise.all([this.refreshSets(), preferred ? this.setColumn(preferred) : Promise.resolve()]);
  }

  /** Forgets the dataset; its runs and summaries are released in main. */
  async detach(): Promise<void> {
    const ids = [this.run?.markersId, this.byGroup?.byGroupId].filter((id): id is string => !!id);
    const jobs = [this.jobId, this.plotJobId].filter((id): id is string => !!id);
    this.runSeq++;
    this.plotSeq++;
    this.tableSeq++;
    this.topSeq++;
    this.volcanoSeq++;
    this.categoriesSeq++;
    this.datasetId = null;
    this.info = null;
    this.sets = [];
    this.error = null;
    this.notice = null;
    this.source = "column";
    this.column = null;
    this.categories = [];
    this.group = undefined;
    this.reference = { kind: "rest" };
    this.jobId = null;
    this.plotJobId = null;
    this.clearRun();
    this.plotGenes = [];
    this.byGroup = null;
    this.violinGene = null;
    await Promise.all([...jobs.map((id) => this.options.jobs.cancel(id)), ...ids.map((id) => this.client.markers.release({ id }))]);
  }

  private clearRun(): void {
    this.run = null;
    this.shown = null;
    this.page = null;
    this.pageIndex = 0;
    this.top = null;
    this.volcano = null;
    this.selected = null;
    this.tab = "table";
  }

  async refreshSets(): Promise<void> {
    const datasetId = this.datasetId;
    if (!datasetId) return;
    const r = await this.client.explore.listSets({ datasetId });
    if (datasetId !== this.datasetId) return;
    if (!r.ok) {
      this.error = r.error;
      return;
    }
    this.sets = r.value;
    // A set deleted or renamed in Explore is no longer a choice.
    if (this.source !== "sets") return;
    const known = (name: string | null | undefined) => r.value.some((s) => s.name === name);
    if (typeof this.group === "string" && !known(this.group)) this.group = undefined;
    if (this.reference.kind === "group" && !known(this.reference.name)) this.reference = { kind: "rest" };
  }

  // ---- the form ----

  setSource(source: GroupSource): void {
    if (source === this.source) return;
    this.source = source;
    this.group = undefined;
    this.reference = { kind: "rest" };
    if (source === "sets") void this.refreshSets();
  }

  /** Groups by a cells column: its categories are read for the pickers. */
  async setColumn(column: string): Promise<void> {
    const datasetId = this.datasetId;
    if (!datasetId) return;
    const seq = ++this.categoriesSeq;
    this.column = column;
    this.group = undefined;
    this.reference = { kind: "rest" };
    this.categories = [];
    this.loadingCategories = true;
    const r = await this.client.explore.colors({ datasetId, column, as: "categorical" });
    if (seq !== this.categoriesSeq) return;
    this.loadingCategories = false;
    if (!r.ok) {
      this.error = r.error;
      return;
    }
    if (r.value.kind !== "categorical") {
      this.error = { code: "MARKERS_INVALID", message: `The column "${column}" has too many values to compare as groups.` };
      return;
    }
    this.categories = r.value.categories;
  }

  setGroup(group: string | null): void {
    this.group = group;
    if (this.reference.kind === "group" && this.reference.name === group) this.reference = { kind: "rest" };
  }

  setReference(reference: MarkersReference): void {
    this.reference = reference;
  }

  comparison(all = false): MarkersComparison | null {
    if (all) return this.column && this.source === "column" ? { kind: "all", column: this.column } : null;
    if (this.blocked) return null;
    if (this.source === "column") return { kind: "column", column: this.column!, group: this.group ?? null, reference: this.reference };
    return { kind: "sets", group: this.group as string, reference: this.reference };
  }

  // ---- running ----

  /** Starts the comparison in the form, or every category of the column vs the rest (`all`). */
  async start(all = false): Promise<void> {
    const datasetId = this.datasetId;
    const comparison = this.comparison(all);
    if (!datasetId || !comparison) return;
    const seq = ++this.runSeq;
    this.error = null;
    this.notice = null;
    const started = await this.client.markers.start({ datasetId, comparison, normalization: this.normalization });
    if (seq !== this.runSeq) return this.forget(started);
    if (!started.ok) {
      this.error = started.error;
      return;
    }
    if (this.jobId) void this.options.jobs.cancel(this.jobId);
    this.jobId = started.value.jobId;
    const final = await this.options.jobs.wait(started.value.jobId);
    if (seq !== this.runSeq) return this.forgetResult(final);
    this.jobId = null;
    if (final.state === "cancelled" || final.error?.code === "MARKERS_CANCELLED") {
      this.notice = "Cancelled; the results shown are from the run before.";
      return;
    }
    if (final.state !== "done" || final.kind !== "markers" || final.result?.task !== "rank") {
      this.error = final.error ?? { code: "INTERNAL", message: "The marker gene job ended without a result." };
      return;
    }
    const { task: _task, ...run } = final.result;
    const previous = this.run?.markersId;
    this.clearRun();
    this.run = run;
    this.shown = run.groups[0] ?? null;
    if (previous && previous !== run.markersId) void this.client.markers.release({ id: previous });
    if (run.comparison.kind === "all") {
      this.tab = "groups";
      await Promise.all([this.loadTable(), this.loadTop()]);
    } else await this.loadTable();
    // The plots group like the comparison: redraw the chosen genes if they were drawn by another grouping.
    if (this.plotGenes.length && !sameGroupBy(this.byGroup?.groupBy ?? null, this.plotGroupBy())) void this.computePlots();
  }

  async cancel(): Promise<void> {
    if (this.jobId) await this.options.jobs.cancel(this.jobId);
  }

  // ---- reading the run ----

  /** The `group` argument of table/volcano: only for "all" runs. */
  private groupArg(): { group?: string | null } {
    return this.run?.comparison.kind === "all" && this.shown ? { group: this.shown.group } : {};
  }

  async loadTable(): Promise<void> {
    const run = this.run;
    if (!run) return;
    const seq = ++this.tableSeq;
    const { filter, problems } = filterRequest(this.filter);
    this.problems = problems;
    this.loadingTable = true;
    const r = await this.client.markers.table({ markersId: run.markersId, ...this.groupArg(), filter, ...pageWindow(this.pageIndex, this.filter.top) });
    if (seq !== this.tableSeq) return;
    this.loadingTable = false;
    if (!r.ok) {
      this.error = r.error;
      return;
    }
    this.page = r.value;
  }

  async loadTop(): Promise<void> {
    const run = this.run;
    if (!run || run.comparison.kind !== "all") return;
    const seq = ++this.topSeq;
    const r = await this.client.markers.topPerGroup({ markersId: run.markersId, n: this.topN, filter: filterRequest(this.filter).filter });
    if (seq !== this.topSeq) return;
    if (!r.ok) {
      this.error = r.error;
      return;
    }
    this.top = r.value;
  }

  async loadVolcano(): Promise<void> {
    const run = this.run;
    if (!run) return;
    const seq = ++this.volcanoSeq;
    const r = await this.client.markers.volcano({ markersId: run.markersId, ...this.groupArg() });
    if (seq !== this.volcanoSeq) return;
    if (!r.ok) {
      this.error = r.error;
      return;
    }
    this.volcano = volcanoPoints(r.value.arrow);
  }

  showTab(tab: ResultsTab): void {
    this.tab = tab;
    if (tab === "volcano" && !this.volcano) void this.loadVolcano();
  }

  /** Changes filter fields: back to the first page, the table (and the per group overview) read again. */
  setFilter(patch: Partial<FilterForm>): void {
    this.filter = { ...this.filter, ...patch };
    this.pageIndex = 0;
    void this.loadTable();
    if (this.run?.comparison.kind === "all") void this.loadTop();
  }

  setTopN(n: number): void {
    this.topN = n;
    void this.loadTop();
  }

  goToPage(index: number): void {
    this.pageIndex = Math.max(0, index);
    void this.loadTable();
  }

  /** Opens one group of an "all" run in the table (and volcano). */
  openGroup(group: string | null): void {
    const g = this.run?.groups.find((x) => x.group === group);
    if (!g) return;
    this.shown = g;
    this.pageIndex = 0;
    this.volcano = null;
    this.tab = "table";
    void this.loadTable();
  }

  select(gene: GeneRef, row?: MarkersGene): void {
    this.selected = { geneIntegerId: gene.geneIntegerId, geneId: gene.geneId, symbol: gene.symbol, row };
  }

  /** Selects a gene by its id (a click on the volcano): its table row when it is on the page shown. */
  selectById(geneIntegerId: number): void {
    const row = this.page?.rows.find((r) => r.geneIntegerId === geneIntegerId);
    if (row) return this.select(row, row);
    const p = this.volcano?.find((v) => v.geneIntegerId === geneIntegerId);
    if (p) this.selected = { geneIntegerId, geneId: "", symbol: p.symbol };
  }

  async colourEmbedding(gene: GeneRef): Promise<void> {
    const datasetId = this.datasetId;
    if (!datasetId || !this.options.colourEmbedding) return;
    await this.options.colourEmbedding(datasetId, gene);
  }

  // ---- plots by group ----

  /** How the plots group cells: like the run (or the form), by column or by the dataset's sets. */
  plotGroupBy(): MarkersGroupBy | null {
    const c = this.run?.comparison;
    if (c?.kind === "column" || c?.kind === "all") return { kind: "column", column: c.column };
    if (c?.kind === "sets" || (!c && this.source === "sets")) {
      const names = this.sets.map((s) => s.name).slice(0, PLOT_SETS);
      return names.length ? { kind: "sets", sets: names } : null;
    }
    return this.column ? { kind: "column", column: this.column } : null;
  }

  addToPlot(gene: GeneRef): void {
    if (this.plotGenes.some((g) => g.geneIntegerId === gene.geneIntegerId)) return;
    if (this.plotGenes.length >= MARKERS_MAX_GENES) {
      this.notice = `At most ${MARKERS_MAX_GENES} genes in one plot.`;
      return;
    }
    this.plotGenes = [...this.plotGenes, { geneIntegerId: gene.geneIntegerId, geneId: gene.geneId, symbol: gene.symbol }];
    if (this.violinGene === null) this.violinGene = gene.geneIntegerId;
    void this.computePlots();
  }

  /** The first `n` genes of the table page shown. */
  addTopToPlot(n: number): void {
    this.addGenes((this.page?.rows ?? []).slice(0, n));
  }

  /** The first `n` genes of every group of an "All groups" run, group by group (scanpy's rank_genes_groups_dotplot). */
  addTopPerGroupToPlot(n: number): void {
    this.addGenes((this.top?.groups ?? []).flatMap((g) => g.genes.slice(0, n)));
  }

  private addGenes(genes: GeneRef[]): void {
    const rows = genes.filter(
      (r, i) => !this.plotGenes.some((g) => g.geneIntegerId === r.geneIntegerId) && genes.findIndex((x) => x.geneIntegerId === r.geneIntegerId) === i,
    );
    if (!rows.length) return;
    this.plotGenes = [...this.plotGenes, ...rows.map((r) => ({ geneIntegerId: r.geneIntegerId, geneId: r.geneId, symbol: r.symbol }))].slice(
      0,
      MARKERS_MAX_GENES,
    );
    if (this.violinGene === null) this.violinGene = this.plotGenes[0].geneIntegerId;
    void this.computePlots();
  }

  removeFromPlot(geneIntegerId: number): void {
    this.plotGenes = this.plotGenes.filter((g) => g.geneIntegerId !== geneIntegerId);
    if (this.violinGene === geneIntegerId) this.violinGene = this.plotGenes[0]?.geneIntegerId ?? null;
    void this.computePlots();
  }

  clearPlot(): void {
    this.plotGenes = [];
    this.violinGene = null;
    void this.computePlots();
  }

  /** One byGroup job for the chosen genes; the newest request wins and older results are released. */
  async computePlots(): Promise<void> {
    const datasetId = this.datasetId;
    const groupBy = this.plotGroupBy();
    const seq = ++this.plotSeq;
    if (this.plotJobId) void this.options.jobs.cancel(this.plotJobId);
    this.plotJobId = null;
    if (!datasetId || !groupBy || !this.plotGenes.length) {
      this.replaceByGroup(null);
      return;
    }
    const started = await this.client.markers.byGroup({
      datasetId,
      groupBy,
      geneIntegerIds: this.plotGenes.map((g) => g.geneIntegerId),
      normalization: this.run?.normalization ?? this.normalization,
    });
    if (seq !== this.plotSeq) return this.forget(started);
    if (!started.ok) {
      this.error = started.error;
      return;
    }
    this.plotJobId = started.value.jobId;
    const final = await this.options.jobs.wait(started.value.jobId);
    if (seq !== this.plotSeq) return this.forgetResult(final);
    this.plotJobId = null;
    if (final.state !== "done" || final.kind !== "markers" || final.result?.task !== "byGroup") {
      if (final.state !== "cancelled") this.error = final.error ?? { code: "INTERNAL", message: "The per group summary ended without a result." };
      return;
    }
    const r = await this.client.markers.byGroupData({ byGroupId: final.result.byGroupId });
    if (seq !== this.plotSeq) return;
    if (!r.ok) {
      this.error = r.error;
      return;
    }
    this.replaceByGroup(r.value);
  }

  /** A job started for a request superseded meanwhile: it is cancelled (its result would be shown nowhere). */
  private forget(started: Result<{ jobId: string }>): void {
    if (started.ok) void this.options.jobs.cancel(started.value.jobId);
  }

  /** A superseded job that ended anyway: what it left in main is released. */
  private forgetResult(final: JobEvent): void {
    if (final.state !== "done" || final.kind !== "markers" || !final.result) return;
    void this.client.markers.release({ id: final.result.task === "rank" ? final.result.markersId : final.result.byGroupId });
  }

  private replaceByGroup(next: MarkersByGroup | null): void {
    const old = this.byGroup?.byGroupId;
    this.byGroup = next;
    if (old && old !== next?.byGroupId) void this.client.markers.release({ id: old });
  }

  // ---- send to notebook ----

  private sqlContext(normalization: MarkersApplied): SqlContext {
    const numericColumns = (this.info?.columns ?? []).filter((c) => /^(u?int|float|decimal)/i.test(c.type)).map((c) => c.name);
    return { numericColumns, symbolColumn: this.info?.symbolColumn ?? null, normalization };
  }

  async sendPlot(kind: GroupPlotKind): Promise<void> {
    const d = this.byGroup;
    if (!d) return;
    const genes = d.genes.map((g) => ({ geneIntegerId: g.geneIntegerId, symbol: g.symbol }));
    const gene = genes.find((g) => g.geneIntegerId === this.violinGene) ?? genes[0];
    await this.send(groupPlotCells(this.sqlContext(d.normalization), d.groupBy, genes, kind, this.options.notebook.names(), { zscore: this.zscore, gene }));
  }

  /** The table shown (one comparison; for "all" the group open vs the rest) as SQL that recomputes it. */
  async sendTable(): Promise<void> {
    const run = this.run;
    const shown = this.shown;
    if (!run || !shown) return;
    const c: Exclude<MarkersComparison, { kind: "all" }> =
      run.comparison.kind === "all" ? { kind: "column", column: run.comparison.column, group: shown.group, reference: { kind: "rest" } } : run.comparison;
    const cells = markersTableCells(
      this.sqlContext(run.normalization),
      c,
      { group: shown.group, reference: shown.reference },
      this.filter.top,
      this.options.notebook.names(),
    );
    await this.send(cells);
  }

  private async send(cells: Parameters<MarkersOptions["notebook"]["send"]>[0]): Promise<void> {
    this.sending = true;
    try {
      await this.options.notebook.send(cells);
    } finally {
      this.sending = false;
    }
  }

  dismissError(): void {
    this.error = null;
  }
}

function sameGroupBy(a: MarkersGroupBy | null, b: MarkersGroupBy | null): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
