/**
 * The open notebook's file: which file it is, whether it has unsaved edits, saving (one at a time), autosave,
 * and changes made on disk by someone else (reload, or a conflict when there are unsaved edits). Every change of
 * document (new, open, reload, another dataset, closed) goes through the document's `replace`.
 */
import type { Client, DatasetSummary } from "../../shared/ipc/contract";
import { NOTEBOOK_EXTENSION, parseNotebook, serializeNotebook } from "../../shared/notebook/format";
import { emptyNotebook, insertCellAfter, newCell, type Notebook } from "../../shared/notebook/model";
import type { AppError } from "../../shared/result";
import type { NotebookDocument } from "./notebook-document.svelte";
import { dirOf, type AskPath } from "./paths";

export interface NotebookFileOptions {
  askPath: AskPath;
  autosaveMs?: number;
}

export const AUTOSAVE_MS = 1500;

export class NotebookFile {
  path = $state<string | null>(null);
  mtimeMs = $state<number | null>(null);
  dirty = $state(false);
  saving = $state(false);
  /** The file changed on disk while we had unsaved edits. */
  conflict = $state(false);
  error = $state<AppError | null>(null);
  autosave = $state(true);

  private dataset: DatasetSummary | null = null;
  /** The dataset whose notebook is shown (null until its starter has loaded). */
  private attachedTo: string | null = null;
  private attaching: { datasetId: string; done: Promise<void> } | null = null;
  /** Bumped by every open, reload, new and detach, so an open that finishes after a later one does not win. */
  private requests = 0;
  /** Bumped by every swap of document, so a save that ends after one leaves the new document alone. */
  private swaps = 0;
  private saving$: Promise<unknown> = Promise.resolve();
  private autosaveTimer: ReturnType<typeof setTimeout> | null = null;
  private watched: string | null = null;

  constructor(
    private readonly client: Client,
    private readonly doc: NotebookDocument,
    private readonly options: NotebookFileOptions,
  ) {
    client.on("notebook.changed", (e) => {
      if (e.path !== this.path) return;
      if (this.dirty) this.conflict = true;
      else void this.reload(true);
    });
    doc.listen({ edited: () => this.touch() });
  }

  get datasetId(): string | null {
    return this.dataset?.datasetId ?? null;
  }

  /** Shows the notebook of `dataset`: its starter notebook, unless that dataset's notebook is already shown (or loading). */
  attach(dataset: DatasetSummary): Promise<void> {
    if (this.dataset?.datasetId === dataset.datasetId) {
      if (this.attachedTo === dataset.datasetId) return Promise.resolve();
      if (this.attaching?.datasetId === dataset.datasetId) return this.attaching.done;
    }
    this.dataset = dataset;
    this.attachedTo = null;
    const request = ++this.requests;
    const done = this.loadStarter(dataset, request).finally(() => {
      if (this.attaching?.done === done) this.attaching = null;
    });
    this.attaching = { datasetId: dataset.datasetId, done };
    return done;
  }

  private async loadStarter(dataset: DatasetSummary, request: number): Promise<void> {
    const r = await this.client.notebooks.starter({ datasetId: dataset.datasetId });
    if (request !== this.requests) return;
    if (r.ok) {
      await this.adopt(parseNotebook(r.value.text), r.value.path, r.value.mtimeMs);
      this.attachedTo = dataset.datasetId;
    } else {
      this.error = r.error;
      this.swap(emptyNotebook(dataset.uri), null, null);
    }
  }

  /** No dataset: an empty notebook, nothing watched. */
  detach(): void {
    this.dataset = null;
    this.attachedTo = null;
    this.requests++;
    this.swap(emptyNotebook(null), null, null);
    void this.watch(null);
  }

  /** A new, unsaved notebook on the same dataset, with one SQL cell to start from. */
  newNotebook(): void {
    this.requests++;
    const empty = emptyNotebook(this.dataset?.uri ?? null);
    this.swap(insertCellAfter(empty, newCell(empty, "sql", { text: "SELECT * FROM cells LIMIT 100" }), null), null, null);
    this.dirty = true;
    this.attachedTo = this.dataset?.datasetId ?? null;
    void this.watch(null);
  }

  async open(path: string): Promise<boolean> {
    const request = ++this.requests;
    const r = await this.client.notebooks.read({ path });
    if (request !== this.requests) return false;
    if (!r.ok) {
      this.error = r.error;
      return false;
    }
    await this.adopt(parseNotebook(r.value.text), r.value.path, r.value.mtimeMs);
    this.attachedTo = this.dataset?.datasetId ?? null;
    return true;
  }

  /** Saves (one save at a time: autosave and Ctrl+S never race on the file's mtime). */
  save(as?: string): Promise<boolean> {
    const next = this.saving$.then(() => this.saveNow(as));
    this.saving$ = next.catch(() => undefined);
    return next;
  }

  /** Save as: asks for the path (native dialog on the desktop, a prompt in browser mode). */
  async saveAsWithPrompt(): Promise<boolean> {
    const name = this.dataset?.name ?? "notebook";
    const dir = this.path ? dirOf(this.path) : "~";
    const path = await this.options.askPath("save", "Save notebook as", this.path ?? `${dir}/${name}${NOTEBOOK_EXTENSION}`);
    return path ? this.save(path) : false;
  }

  /** Save, asking for a path the first time. */
  async saveOrAsk(): Promise<boolean> {
    return this.path ? this.save() : this.saveAsWithPrompt();
  }

  async openWithPrompt(): Promise<boolean> {
    const path = await this.options.askPath("file", "Open notebook", this.path ?? "", "Open");
    return path ? this.open(path) : false;
  }

  /** Keep our version: write over the file that changed on disk. */
  async overwrite(): Promise<void> {
    if (!this.path) return;
    const revision = this.doc.revision;
    const r = await this.client.notebooks.write({ path: this.path, text: serializeNotebook(this.doc.nb), expectedMtimeMs: null, overwrite: true });
    if (r.ok) {
      this.mtimeMs = r.value.mtimeMs;
      this.dirty = this.doc.revision !== revision;
      this.conflict = false;
    } else this.error = r.error;
  }

  /**
   * Reads the file again, dropping unsaved edits and outputs. `auto` (the file changed on disk and we had no
   * edits): if an edit lands while reading, it asks instead (conflict) rather than dropping that edit.
   */
  async reload(auto = false): Promise<void> {
    const path = this.path;
    if (!path) return;
    const request = ++this.requests;
    const revision = this.doc.revision;
    const r = await this.client.notebooks.read({ path });
    if (request !== this.requests || path !== this.path) return;
    if (!r.ok) {
      this.error = r.error;
      return;
    }
    if (auto && this.doc.revision !== revision) {
      this.conflict = true;
      return;
    }
    this.swap(parseNotebook(r.value.text), path, r.value.mtimeMs);
  }

  dismissError(): void {
    this.error = null;
  }

  private async saveNow(as?: string): Promise<boolean> {
    const path = as ?? this.path;
    if (!path) return false;
    this.saving = true;
    const revision = this.doc.revision;
    const swap = this.swaps;
    try {
      const sameFile = path === this.path;
      const r = await this.client.notebooks.write({
        path,
        text: serializeNotebook(this.doc.nb),
        expectedMtimeMs: sameFile ? this.mtimeMs : null,
        overwrite: !sameFile,
      });
      if (!r.ok) {
        if (r.error.code === "NOTEBOOK_CONFLICT") this.conflict = true;
        else this.error = r.error;
        return false;
      }
      // A swap while writing: the file was written, but the document shown is another one now.
      if (swap !== this.swaps) return true;
      this.path = path;
      this.mtimeMs = r.value.mtimeMs;
      this.dirty = this.doc.revision !== revision;
      this.conflict = false;
      if (!sameFile) await this.watch(path);
      return true;
    } finally {
      this.saving = false;
    }
  }

  private touch(): void {
    this.dirty = true;
    this.cancelAutosave();
    if (this.autosave && this.path)
      this.autosaveTimer = setTimeout(() => void (this.dirty && !this.conflict && this.save()), this.options.autosaveMs ?? AUTOSAVE_MS);
  }

  private cancelAutosave(): void {
    if (this.autosaveTimer) clearTimeout(this.autosaveTimer);
    this.autosaveTimer = null;
  }

  /** Shows another document: its outputs go with the old one (see NotebookRuns). */
  private swap(nb: Notebook, path: string | null, mtimeMs: number | null): void {
    this.cancelAutosave();
    this.swaps++;
    this.doc.replace(nb);
    this.path = path;
    this.mtimeMs = mtimeMs;
    this.dirty = false;
    this.conflict = false;
  }

  private async adopt(nb: Notebook, path: string, mtimeMs: number): Promise<void> {
    this.swap(nb, path, mtimeMs);
    await this.watch(path);
  }

  private async watch(path: string | null): Promise<void> {
    if (this.watched === path) return;
    const previous = this.watched;
    this.watched = path;
    if (previous) await this.client.notebooks.unwatch({ path: previous });
    if (path) await this.client.notebooks.watch({ path });
  }
}
