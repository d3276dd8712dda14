/**
 * The Dataloader panel's store: the options form, one prefetcher in main per open dataset, the batch shown (decoded
 * into typed arrays), stepping back and forth, play/pause with live status, the selected cell or token, the
 * side-by-side comparison of both modes, and the exports. Every call to main goes through the Client it is given.
 */
import {
  LOADER_DEFAULTS,
  type Client,
  type ColumnInfo,
  type LoaderBatch,
  type LoaderBatchStats,
  type LoaderEnd,
  type LoaderExportFormat,
  type LoaderInfo,
  type LoaderOptions,
  type LoaderStatus,
  type LoaderTokenizerName,
} from "../../shared/ipc/contract";
import { pythonSnippet } from "../../shared/loader/snippet";
import { formatBytes } from "../../shared/format";
import { isAppFailure, type AppError, type Result } from "../../shared/result";
import type { AskConfirm } from "./confirm";
import { askToReplace, exportAskingToReplace } from "./export-replace";
import {
  decodeBatch,
  explainRows,
  geneAcrossBatch,
  geneSymbols,
  tokenBatchFromTable,
  type BatchView,
  type ExplainRows,
  type GeneAcrossBatch,
  type TokenBatchView,
} from "./loader-batch";
import { decodePage } from "../api/arrow-rows";
import type { AskPath } from "./paths";

export const STATUS_POLL_MS = 600;
/** How long one `loader.batch` call may wait for the prefetcher; a timeout is asked again this many times. */
const BATCH_WAIT_MS = 20_000;
const BATCH_TRIES = 3;

export const MAX_GENES_DEFAULT: Record<Exclude<LoaderTokenizerName, "raw">, number> = { geneformer: 2048, scgpt: 1024 };

/** A batch as shown: its place in the run, its decoded arrays, its genes' symbols and main's facts about it. */
export interface ShownBatch {
  index: number;
  epoch: number;
  indexInEpoch: number;
  view: BatchView;
  symbols: Map<number, string>;
  stats: LoaderBatchStats;
}

export interface CellDetail {
  row: number;
  cellId: number;
  label: string | null;
  nGenes: number;
  kept: number;
  sepKept: boolean;
  genes: ExplainRows;
}

export interface Comparison {
  index: number;
  slafdb: TokenBatchView;
  canonical: TokenBatchView;
  /** Symbols of every gene in either mode's rows (and the shown batch's). */
  symbols: Map<number, string>;
  /** Per row, the positions whose input id differs. */
  differing: Set<number>[];
  differingTokens: number;
}

export type Selection = { kind: "cell"; row: number } | { kind: "token"; row: number; position: number; geneId: number } | null;

/** A cells column that reads as a cell-type label (cell_type, celltype, cell_type_label…), else a common alternative. */
export function defaultLabelColumn(columns: string[]): string | null {
  const patterns = [/^cell_?type$/i, /cell_?type/i, /^(label|labels|cluster|leiden|louvain|seurat_clusters)$/i, /donor|sample|batch/i];
  for (const p of patterns) {
    const hit = columns.find((c) => p.test(c));
    if (hit) return hit;
  }
  return null;
}

/** Cells columns that can label cells before a loader says which it accepts (strings, small integers, booleans). */
export function labelCandidates(columns: ColumnInfo[]): string[] {
  return columns.filter((c) => c.kind === "string" || c.kind === "bool" || (c.kind === "int" && !/_id$|index$/i.test(c.name))).map((c) => c.name);
}

/** Genes columns that can hold per-gene medians before a loader says which it accepts (numeric, not the ids). */
export function medianCandidates(columns: ColumnInfo[]): string[] {
  const hasIds = columns.some((c) => c.name === "gene_integer_id");
  return hasIds
    ? columns.filter((c) => (c.kind === "float" || c.kind === "int") && c.name !== "gene_integer_id" && c.name !== "gene_id").map((c) => c.name)
    : [];
}

/** Gene medians apply to canonical Geneformer only. */
export function mediansApply(o: Pick<LoaderOptions, "tokenizer" | "mode">): boolean {
  return o.tokenizer === "geneformer" && o.mode === "canonical";
}

function sameOptions(a: LoaderOptions, b: LoaderOptions): boolean {
  return (Object.keys(a) as (keyof LoaderOptions)[]).every((k) => a[k] === b[k]);
}

export class Loader {
  options = $state<LoaderOptions>({ ...LOADER_DEFAULTS });
  datasetId = $state<string | null>(null);
  /** Label columns known before a start (from the dataset's cells table), replaced by the loader's own list. */
  candidates = $state<string[]>([]);
  /** Median columns known before a start (from the dataset's genes table), replaced by the loader's own list. */
  medianCandidates = $state<string[]>([]);
  info = $state.raw<LoaderInfo | null>(null);
  shown = $state.raw<ShownBatch | null>(null);
  /** Set once a step went past the last batch of the run. */
  end = $state.raw<LoaderEnd | null>(null);
  status = $state.raw<LoaderStatus | null>(null);
  error = $state<AppError | null>(null);
  notice = $state<string | null>(null);
  /** What is in flight ("Starting", "Loading batch 3"…); stepping is refused meanwhile. */
  busy = $state<string | null>(null);
  selection = $state<Selection>(null);
  cellDetail = $state.raw<CellDetail | null>(null);
  compareOn = $state(false);
  comparison = $state.raw<Comparison | null>(null);

  private timer: ReturnType<typeof setTimeout> | null = null;
  private watchers = 0;
  /** Bumped by every request whose answer replaces what is shown; late answers of older ones are dropped. */
  private seq = 0;
  /** Bumped by play/pause: a status read that started before it is stale (it could still say "playing"). */
  private statusGen = 0;

  constructor(
    private readonly client: Client,
    private readonly askPath: AskPath,
    private readonly confirm: AskConfirm,
    private readonly intervalMs = STATUS_POLL_MS,
  ) {}

  get running(): boolean {
    return this.info !== null;
  }

  get playing(): boolean {
    return this.status?.playing ?? false;
  }

  /** The options differ from those the running loader started with (Start applies them). */
  get optionsChanged(): boolean {
    return this.info !== null && !sameOptions(this.info.options, this.options);
  }

  get labelColumns(): string[] {
    return this.info?.labelColumns ?? this.candidates;
  }

  get medianColumns(): string[] {
    return this.info?.medianColumns ?? this.medianCandidates;
  }

  /** A gene's symbol from the shown batch, or from the side-by-side view (a gene only the other mode kept). */
  symbolOf(geneId: number): string {
    const s = this.shown;
    const c = this.comparison;
    return s?.symbols.get(geneId) || (c && s && c.index === s.index ? c.symbols.get(geneId) : undefined) || `gene ${geneId}`;
  }

  get canPrev(): boolean {
    const s = this.shown;
    if (!s || s.index === 0 || this.busy) return false;
    const h = this.status?.history;
    return !h || s.index - 1 >= h[0];
  }

  get canNext(): boolean {
    return this.info !== null && !this.busy && this.end === null;
  }

  /**
   * Main has made batches past the one shown (while playing the grid follows at the pace of status polls, or the
   * user stepped back): the shown batch and the newest, 1-based, so the panel can say so. Null when in step.
   */
  get lag(): { shown: number; latest: number } | null {
    const s = this.shown;
    const produced = this.status?.batchesProduced ?? 0;
    return s && produced > s.index + 1 ? { shown: s.index + 1, latest: produced } : null;
  }

  get snippet(): string | null {
    return this.info ? pythonSnippet(this.info) : null;
  }

  get geneAcross(): GeneAcrossBatch | null {
    const sel = this.selection;
    const s = this.shown;
    return sel?.kind === "token" && s ? geneAcrossBatch(s.view, sel.geneId) : null;
  }

  /** The panel shows `datasetId`: a loader of another dataset is stopped and the form starts from its columns. */
  async attach(datasetId: string, cellsColumns: ColumnInfo[], genesColumns: ColumnInfo[] = []): Promise<void> {
    if (this.datasetId === datasetId) return;
    await this.stop();
    this.datasetId = datasetId;
    this.candidates = labelCandidates(cellsColumns);
    this.medianCandidates = medianCandidates(genesColumns);
    this.options = { ...this.options, labelColumn: defaultLabelColumn(this.candidates), geneMediansColumn: null };
  }

  /** The dataset closed: its loader goes. */
  async detach(): Promise<void> {
    await this.stop();
    this.datasetId = null;
    this.candidates = [];
    this.medianCandidates = [];
  }

  setTokenizer(t: LoaderTokenizerName): void {
    const o = this.options;
    const prev = o.tokenizer;
    // The other tokenizer's SLAF default follows the switch; a value the user typed stays.
    const maxGenes = prev !== "raw" && t !== "raw" && o.maxGenes === MAX_GENES_DEFAULT[prev] ? MAX_GENES_DEFAULT[t] : o.maxGenes;
    // Raw mode hands over stored values: normalize_total and log1p do not apply there; medians are Geneformer's.
    const next = t === "raw" ? { ...o, tokenizer: t, maxGenes, normalizeTotal: null, log1p: false } : { ...o, tokenizer: t, maxGenes };
    this.options = mediansApply(next) ? next : { ...next, geneMediansColumn: null };
  }

  setMode(mode: LoaderOptions["mode"]): void {
    // normalize_total, log1p and gene medians are canonical-only; SLAF 0.5.2 has none of them.
    this.options = mode === "slafdb-0.5.2" ? { ...this.options, mode, normalizeTotal: null, log1p: false, geneMediansColumn: null } : { ...this.options, mode };
  }

  /** Starts a loader with the form's options (stopping the one running) and shows its first batch. */
  async start(): Promise<boolean> {
    const datasetId = this.datasetId;
    if (!datasetId || this.busy) return false;
    await this.stop();
    this.busy = "Starting the dataloader";
    this.error = null;
    this.notice = null;
    const seq = ++this.seq;
    try {
      const options = $state.snapshot(this.options);
      const r = await this.client.loader.start({ datasetId, options });
      if (seq !== this.seq) return false;
      if (!r.ok) {
        this.error = r.error;
        return false;
      }
      this.info = r.value;
      this.options = { ...r.value.options };
      this.busy = null;
      await this.show(0);
      this.ensurePolling();
      return true;
    } finally {
      if (seq === this.seq) this.busy = null;
    }
  }

  async next(): Promise<void> {
    if (!this.canNext) return;
    await this.show(this.shown ? this.shown.index + 1 : 0);
  }

  async prev(): Promise<void> {
    if (!this.canPrev || !this.shown) return;
    await this.show(this.shown.index - 1);
  }

  /** Shows batch `index`: from main's history, or the next one the prefetcher makes. */
  async show(index: number): Promise<boolean> {
    const info = this.info;
    if (!info) return false;
    const seq = ++this.seq;
    this.busy = `Loading batch ${index + 1}`;
    this.error = null;
    try {
      let r: Result<LoaderBatch | LoaderEnd> | null = null;
      for (let i = 0; i < BATCH_TRIES; i++) {
        r = await this.client.loader.batch({ loaderId: info.loaderId, index, timeoutMs: BATCH_WAIT_MS });
        if (r.ok || r.error.code !== "LOADER_TIMEOUT") break;
      }
      if (seq !== this.seq || this.info?.loaderId !== info.loaderId || !r) return false;
      if (!r.ok) {
        this.error = r.error;
        return false;
      }
      if ("end" in r.value) {
        this.end = r.value;
        this.notice = `End of the run: ${r.value.batches} batch${r.value.batches === 1 ? "" : "es"} in ${info.options.epochs} epoch${info.options.epochs === 1 ? "" : "s"}`;
        return false;
      }
      this.apply(r.value);
      if (this.compareOn) void this.loadComparison();
      return true;
    } catch (e) {
      if (seq === this.seq) this.error = failureOf(e);
      return false;
    } finally {
      if (seq === this.seq) this.busy = null;
      void this.refreshStatus();
    }
  }

  async play(): Promise<void> {
    await this.setPlaying(true);
  }

  async pause(): Promise<void> {
    await this.setPlaying(false);
  }

  /** Stops the prefetcher in main; the panel goes back to the form. */
  async stop(): Promise<void> {
    const info = this.info;
    this.seq++;
    this.info = null;
    this.shown = null;
    this.status = null;
    this.end = null;
    this.selection = null;
    this.cellDetail = null;
    this.comparison = null;
    this.busy = null;
    this.clearTimer();
    if (info) {
      const r = await this.client.loader.stop({ loaderId: info.loaderId });
      // A loader main already ended (its dataset closed, the page reloaded) needs no stop.
      if (!r.ok && r.error.code !== "LOADER_NOT_FOUND") this.error = r.error;
    }
  }

  async selectCell(row: number): Promise<void> {
    const s = this.shown;
    const info = this.info;
    if (!s || !info || row < 0 || row >= s.view.rows) return;
    this.selection = { kind: "cell", row };
    this.cellDetail = null;
    if (s.view.kind === "raw") return;
    const r = await this.client.loader.cell({ loaderId: info.loaderId, index: s.index, row });
    if (this.shown !== s || this.selection?.kind !== "cell" || this.selection.row !== row) return;
    if (!r.ok) {
      this.error = r.error;
      return;
    }
    try {
      const v = r.value;
      this.cellDetail = { row, cellId: v.cellId, label: v.label, nGenes: v.nGenes, kept: v.kept, sepKept: v.sepKept, genes: explainRows(v.arrow) };
    } catch (e) {
      this.error = failureOf(e);
    }
  }

  selectToken(row: number, position: number, geneId: number): void {
    this.selection = { kind: "token", row, position, geneId };
    this.cellDetail = null;
  }

  /** Follows a gene across the batch from its first occurrence (a click in the top-token list). */
  selectGene(geneId: number): void {
    const s = this.shown;
    if (!s) return;
    const across = geneAcrossBatch(s.view, geneId);
    const row = across.positions.findIndex((p) => p >= 0);
    this.selectToken(Math.max(0, row), row >= 0 ? across.positions[row] : 0, geneId);
  }

  clearSelection(): void {
    this.selection = null;
    this.cellDetail = null;
  }

  async setCompare(on: boolean): Promise<void> {
    this.compareOn = on;
    if (!on) this.comparison = null;
    else await this.loadComparison();
  }

  /** Writes the shown batch to a file the user picks (JSON, or .npz arrays). */
  async exportBatch(format: LoaderExportFormat): Promise<boolean> {
    const info = this.info;
    const s = this.shown;
    if (!info || !s) return false;
    const name = `${info.options.tokenizer}-batch-${s.index + 1}.${format}`;
    const path = await this.askPath("save", `Export batch ${s.index + 1} as ${format === "json" ? "JSON" : ".npz"}`, name, "Export");
    if (!path) return false;
    this.error = null;
    this.notice = null;
    const req = { loaderId: info.loaderId, index: s.index, format, path };
    const r = await exportAskingToReplace(
      path,
      (overwrite) => this.client.loader.export(overwrite ? { ...req, overwrite } : req),
      askToReplace(this.confirm, (notice) => (this.notice = notice)),
    );
    if (!r) return false;
    if (!r.ok) {
      this.error = r.error;
      return false;
    }
    this.notice = `Saved batch ${s.index + 1} (${formatBytes(r.value.bytes)}) to ${r.value.path}`;
    return true;
  }

  /** The panel is shown: status is polled while it is (and while a loader plays). Returns the undo. */
  watch(): () => void {
    this.watchers++;
    this.ensurePolling();
    return () => {
      this.watchers = Math.max(0, this.watchers - 1);
      if (this.watchers === 0) this.clearTimer();
    };
  }

  dismiss(): void {
    this.error = null;
    this.notice = null;
  }

  async refreshStatus(): Promise<void> {
    const info = this.info;
    if (!info) return;
    const gen = this.statusGen;
    const r = await this.client.loader.status({ loaderId: info.loaderId });
    if (this.info?.loaderId !== info.loaderId || gen !== this.statusGen) return;
    if (r.ok) this.status = r.value;
    else if (r.error.code === "LOADER_NOT_FOUND") await this.stop();
    else this.error = r.error;
    if (r.ok && r.value.state === "failed" && r.value.error) this.error = { code: "INTERNAL", message: r.value.error.message };
  }

  private apply(b: LoaderBatch): void {
    const view = decodeBatch(b.kind, b.arrow);
    const keepRow = this.selection && this.selection.row < view.rows ? this.selection : null;
    this.shown = { index: b.index, epoch: b.epoch, indexInEpoch: b.indexInEpoch, view, symbols: geneSymbols(b.genes), stats: b.stats };
    this.end = null;
    this.notice = null;
    this.comparison = null;
    // Another batch: a selected token keeps following its gene; a selected cell's explanation is read again.
    this.selection = keepRow;
    this.cellDetail = null;
    if (keepRow?.kind === "cell") void this.selectCell(keepRow.row);
  }

  private async loadComparison(): Promise<void> {
    const info = this.info;
    const s = this.shown;
    if (!info || !s || s.view.kind !== "tokens") return;
    const r = await this.client.loader.compare({ loaderId: info.loaderId, index: s.index });
    if (this.shown !== s || !this.compareOn) return;
    if (!r.ok) {
      this.error = r.error;
      return;
    }
    try {
      // Read-only lookups held in $state.raw, never mutated.
      // eslint-disable-next-line svelte/prefer-svelte-reactivity
      const differing = r.value.differing.map((row) => new Set(row));
      // eslint-disable-next-line svelte/prefer-svelte-reactivity
      const symbols = new Map([...s.symbols, ...geneSymbols(r.value.genes)]);
      this.comparison = {
        index: r.value.index,
        slafdb: tokenBatchFromTable(decodePage(r.value.slafdb)),
        canonical: tokenBatchFromTable(decodePage(r.value.canonical)),
        symbols,
        differing,
        differingTokens: differing.reduce((n, d) => n + d.size, 0),
      };
    } catch (e) {
      this.error = failureOf(e);
    }
  }

  private async setPlaying(playing: boolean): Promise<void> {
    const info = this.info;
    if (!info) return;
    const gen = ++this.statusGen;
    const r = await this.client.loader.play({ loaderId: info.loaderId, playing });
    if (this.info?.loaderId !== info.loaderId || gen !== this.statusGen) return;
    if (!r.ok) {
      this.error = r.error;
      return;
    }
    this.status = r.value;
    this.ensurePolling();
    if (!playing) {
      // A batch the polling loop started loading may still be on its way: let it land, then show the newest.
      for (let i = 0; i < 100 && this.busy; i++) await new Promise((resolve) => setTimeout(resolve, 20));
      if (gen === this.statusGen) await this.followNewest();
    }
  }

  /** While playing, the grid follows the newest batch main produced. */
  private async followNewest(): Promise<void> {
    const newest = this.status?.history?.[1];
    if (newest === undefined || this.busy) return;
    if (this.shown && this.shown.index >= newest) return;
    await this.show(newest);
  }

  private ensurePolling(): void {
    if (this.timer || this.watchers === 0 || !this.info) return;
    this.timer = setTimeout(async () => {
      this.timer = null;
      if (!this.info || this.watchers === 0) return;
      await this.refreshStatus();
      if (this.status?.playing) await this.followNewest();
      this.ensurePolling();
    }, this.intervalMs);
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}

function failureOf(e: unknown): AppError {
  if (isAppFailure(e)) return e.appError;
  return { code: "INTERNAL", message: `Could not read the batch: ${e instanceof Error ? e.message : String(e)}` };
}
