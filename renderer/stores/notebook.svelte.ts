/**
 * The open notebook: its cells (shared/notebook model), its file on disk (save, autosave, conflicts), and the
 * outputs of its cells, which live only here (never in the file).
 */
import type { DatasetSummary, QueryPreview, QuerySummary } from "../../shared/ipc/contract";
import { NOTEBOOK_EXTENSION, parseNotebook, serializeNotebook } from "../../shared/notebook/format";
import {
  cellIndex,
  emptyNotebook,
  findCell,
  insertCellAfter,
  moveCellBy,
  newCell,
  removeCell,
  updateCell,
  type Cell,
  type CellKind,
  type Notebook,
} from "../../shared/notebook/model";
import type { AppError } from "../../shared/result";
import { api } from "../api/client";
import { jobs } from "./jobs.svelte";
import { askPath, dirOf } from "./paths";

export type OutputState = "previewing" | "confirm" | "running" | "done" | "error" | "cancelled";

export interface CellOutput {
  state: OutputState;
  jobId?: string;
  preview?: QueryPreview;
  summary?: QuerySummary;
  error?: AppError;
  /** Text of the cell when it ran, to show "edited since run". */
  ranText?: string;
}

const AUTOSAVE_MS = 1500;

class NotebookStore {
  nb = $state<Notebook>(emptyNotebook(null));
  path = $state<string | null>(null);
  mtimeMs = $state<number | null>(null);
  dirty = $state(false);
  saving = $state(false);
  /** The file changed on disk while we had unsaved edits. */
  conflict = $state(false);
  error = $state<AppError | null>(null);
  outputs = $state<Record<string, CellOutput>>({});
  focusId = $state<string | null>(null);
  autosave = $state(true);

  private dataset: DatasetSummary | null = null;
  /** Bumped on every edit: a save only marks the notebook clean if nothing changed while it was writing. */
  private edits = 0;
  private saving$: Promise<unknown> = Promise.resolve();
  private autosaveTimer: ReturnType<typeof setTimeout> | null = null;
  private unwatchPath: string | null = null;

  constructor() {
    api.on("notebook.changed", (e) => {
      if (e.path !== this.path) return;
      if (this.dirty) this.conflict = true;
      else void this.reload();
    });
  }

  /** The notebook for a newly opened dataset: its starter notebook. */
  async attach(dataset: DatasetSummary): Promise<void> {
    if (this.dataset?.datasetId === dataset.datasetId && this.path) return;
    this.dataset = dataset;
    this.releaseOutputs();
    const r = await api.notebooks.starter({ datasetId: dataset.datasetId });
    if (r.ok) await this.adopt(r.value.path, r.value.text, r.value.mtimeMs);
    else {
      this.error = r.error;
      this.reset(emptyNotebook(dataset.uri), null, null);
    }
  }

  detach(): void {
    this.releaseOutputs();
    this.dataset = null;
    void this.watch(null);
    this.reset(emptyNotebook(null), null, null);
  }

  get datasetId(): string | null {
    return this.dataset?.datasetId ?? null;
  }

  newNotebook(): void {
    this.reset(emptyNotebook(this.dataset?.uri ?? null), null, null);
    this.nb = insertCellAfter(this.nb, newCell(this.nb, "sql", { text: "SELECT * FROM cells LIMIT 100" }), null);
    this.dirty = true;
    void this.watch(null);
  }

  async open(path: string): Promise<boolean> {
    const r = await api.notebooks.read({ path });
    if (!r.ok) {
      this.error = r.error;
      return false;
    }
    await this.adopt(r.value.path, r.value.text, r.value.mtimeMs);
    return true;
  }

  /** Saves (one save at a time: autosave and Ctrl+S never race on the file's mtime). */
  save(as?: string): Promise<boolean> {
    const next = this.saving$.then(() => this.saveNow(as));
    this.saving$ = next.catch(() => undefined);
    return next;
  }

  private async saveNow(as?: string): Promise<boolean> {
    const path = as ?? this.path;
    if (!path) return false;
    this.saving = true;
    const editsAtStart = this.edits;
    try {
      const sameFile = path === this.path;
      const r = await api.notebooks.write({ path, text: serializeNotebook(this.nb), expectedMtimeMs: sameFile ? this.mtimeMs : null, overwrite: !sameFile });
      if (!r.ok) {
        if (r.error.code === "NOTEBOOK_CONFLICT") this.conflict = true;
        else this.error = r.error;
        return false;
      }
      this.path = path;
      this.mtimeMs = r.value.mtimeMs;
      this.dirty = this.edits !== editsAtStart;
      this.conflict = false;
      if (!sameFile) await this.watch(path);
      return true;
    } finally {
      this.saving = false;
    }
  }

  /** Save as: asks for the path (native dialog on the desktop, a prompt in browser mode). */
  async saveAsWithPrompt(): Promise<boolean> {
    const name = this.dataset?.name ?? "notebook";
    const dir = this.path ? dirOf(this.path) : "~";
    const path = await askPath("save", "Save notebook as", this.path ?? `${dir}/${name}${NOTEBOOK_EXTENSION}`);
    return path ? this.save(path) : false;
  }

  /** Save, asking for a path the first time. */
  async saveOrAsk(): Promise<boolean> {
    return this.path ? this.save() : this.saveAsWithPrompt();
  }

  async openWithPrompt(): Promise<boolean> {
    const path = await askPath("file", "Open notebook", this.path ?? "", "Open");
    return path ? this.open(path) : false;
  }

  /** Keep our version: write over the file that changed on disk. */
  async overwrite(): Promise<void> {
    if (!this.path) return;
    const r = await api.notebooks.write({ path: this.path, text: serializeNotebook(this.nb), expectedMtimeMs: null, overwrite: true });
    if (r.ok) {
      this.mtimeMs = r.value.mtimeMs;
      this.dirty = false;
      this.conflict = false;
    } else this.error = r.error;
  }

  async reload(): Promise<void> {
    if (!this.path) return;
    const r = await api.notebooks.read({ path: this.path });
    if (r.ok) {
      this.nb = parseNotebook(r.value.text);
      this.mtimeMs = r.value.mtimeMs;
      this.dirty = false;
      this.conflict = false;
    } else this.error = r.error;
  }

  edit(id: string, change: (cell: Cell) => Cell): void {
    this.nb = updateCell(this.nb, id, change);
    this.touch();
  }

  setText(id: string, text: string): void {
    this.edit(id, (c) => (c.kind === "plot" ? c : { ...c, text }));
  }

  add(kind: CellKind, afterId: string | null): string {
    const cell = kind === "sql" ? newCell(this.nb, "sql", { text: "SELECT " }) : kind === "plot" ? newCell(this.nb, "plot") : newCell(this.nb, "markdown", { text: "" });
    this.nb = insertCellAfter(this.nb, cell, afterId);
    this.focusId = cell.id;
    this.touch();
    return cell.id;
  }

  remove(id: string): void {
    this.release(id);
    this.nb = removeCell(this.nb, id);
    this.touch();
  }

  move(id: string, delta: number): void {
    this.nb = moveCellBy(this.nb, id, delta);
    this.touch();
  }

  /** Runs one SQL cell: cost preview, confirmation when large, then the query job. */
  async run(id: string, opts: { confirmed?: boolean } = {}): Promise<void> {
    const cell = findCell(this.nb, id);
    const datasetId = this.datasetId;
    if (!cell || cell.kind !== "sql" || !datasetId) return;
    const text = cell.text;
    this.setOutput(id, { state: "previewing", ranText: text });
    if (!opts.confirmed) {
      const preview = await api.query.preview({ datasetId, sql: text });
      if (!preview.ok) return this.setOutput(id, { state: "error", error: preview.error, ranText: text });
      if (preview.value.needsConfirmation) return this.setOutput(id, { state: "confirm", preview: preview.value, ranText: text });
      this.setOutput(id, { state: "previewing", preview: preview.value, ranText: text });
    }
    const previous = this.outputs[id]?.summary;
    const started = await api.query.start({ datasetId, sql: text, name: cell.name, confirmed: true });
    if (!started.ok) return this.setOutput(id, { state: "error", error: started.error, ranText: text });
    const preview = this.outputs[id]?.preview;
    this.setOutput(id, { state: "running", jobId: started.value.jobId, preview, ranText: text });
    const final = await jobs.wait(started.value.jobId);
    if (previous && previous.resultId !== (final.result as QuerySummary | undefined)?.resultId) void api.query.release({ resultId: previous.resultId });
    if (final.state === "done") this.setOutput(id, { state: "done", summary: final.result as QuerySummary, preview, ranText: text });
    else this.setOutput(id, { state: final.state === "cancelled" ? "cancelled" : "error", error: final.error, preview, ranText: text });
  }

  async cancel(id: string): Promise<void> {
    const jobId = this.outputs[id]?.jobId;
    if (jobId) await jobs.cancel(jobId);
  }

  dismiss(id: string): void {
    this.release(id);
  }

  /** Runs the SQL cells in order, stopping at the first failure. `upTo` excludes that cell and those after it. */
  async runAll(upTo?: string): Promise<void> {
    const end = upTo ? cellIndex(this.nb, upTo) : this.nb.cells.length;
    for (const cell of this.nb.cells.slice(0, end < 0 ? this.nb.cells.length : end)) {
      if (cell.kind !== "sql") continue;
      await this.run(cell.id);
      const state = this.outputs[cell.id]?.state;
      if (state !== "done") break;
    }
  }

  /** The result of the SQL cell named `name`, if it has run. */
  resultNamed(name: string): QuerySummary | null {
    const cell = this.nb.cells.find((c) => c.kind === "sql" && c.name === name);
    return (cell && this.outputs[cell.id]?.summary) || null;
  }

  cellNamed(name: string): Cell | undefined {
    return this.nb.cells.find((c) => c.kind === "sql" && c.name === name);
  }

  dismissError(): void {
    this.error = null;
  }

  private setOutput(id: string, output: CellOutput): void {
    this.outputs = { ...this.outputs, [id]: output };
  }

  /** Drops a cell's output and frees its result in main. */
  private release(id: string): void {
    const summary = this.outputs[id]?.summary;
    if (summary) void api.query.release({ resultId: summary.resultId });
    const { [id]: _gone, ...rest } = this.outputs;
    this.outputs = rest;
  }

  private releaseOutputs(): void {
    for (const id of Object.keys(this.outputs)) this.release(id);
  }

  private touch(): void {
    this.edits++;
    this.dirty = true;
    if (this.autosaveTimer) clearTimeout(this.autosaveTimer);
    if (this.autosave && this.path) this.autosaveTimer = setTimeout(() => void (this.dirty && !this.conflict && this.save()), AUTOSAVE_MS);
  }

  private reset(nb: Notebook, path: string | null, mtimeMs: number | null): void {
    this.nb = nb;
    this.path = path;
    this.mtimeMs = mtimeMs;
    this.dirty = false;
    this.conflict = false;
  }

  private async adopt(path: string, text: string, mtimeMs: number): Promise<void> {
    this.reset(parseNotebook(text), path, mtimeMs);
    this.releaseOutputs();
    await this.watch(path);
  }

  private async watch(path: string | null): Promise<void> {
    if (this.unwatchPath && this.unwatchPath !== path) await api.notebooks.unwatch({ path: this.unwatchPath });
    this.unwatchPath = path;
    if (path) await api.notebooks.watch({ path });
  }
}

export const notebook = new NotebookStore();
