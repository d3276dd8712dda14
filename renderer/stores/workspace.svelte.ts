/** What is open and shown: the dataset, the current view, the last error. Components read this; it calls the api. */
import type { AppInfo, Client, DatasetSummary } from "../../shared/ipc/contract";
import type { AppError, Result } from "../../shared/result";
import type { NotebookFile } from "./notebook-file.svelte";

export type View =
  | { kind: "overview" }
  | { kind: "table"; table: string }
  | { kind: "notebook" }
  | { kind: "explore" }
  | { kind: "markers" }
  | { kind: "cache" }
  | { kind: "loader" }
  | { kind: "bench" };

/** A cells column Explore can draw: a fixed-size list of floats (X_umap, X_tsne, X_pca...). */
export function hasEmbedding(dataset: DatasetSummary): boolean {
  const cells = dataset.tables.find((t) => t.name === "cells");
  return !!cells?.columns.some((c) => c.kind === "list" && c.fixedList && c.fixedList.size >= 2 && c.fixedList.item === "float");
}

export interface RecentList {
  add(uri: string, name: string): void;
}

export class Workspace {
  info = $state<AppInfo | null>(null);
  dataset = $state<DatasetSummary | null>(null);
  view = $state<View>({ kind: "overview" });
  busy = $state<string | null>(null);
  error = $state<AppError | null>(null);
  ready = $state(false);

  constructor(
    private readonly client: Client,
    private readonly notebookFile: NotebookFile,
    private readonly recents: RecentList,
  ) {}

  async init(): Promise<void> {
    const info = await this.client.app.info({});
    if (!info.ok) {
      this.error = info.error;
      this.ready = true;
      return;
    }
    this.info = info.value;
    const opening = info.value.initialDatasetUri ? this.open(info.value.initialDatasetUri) : info.value.openDemoAtStart ? this.openDemo() : null;
    this.ready = true;
    await opening;
  }

  /** Opens a dataset on Explore when its cells have an embedding, else on the overview (or on `view` when given). */
  async open(uri: string, view?: View): Promise<boolean> {
    return this.load(`Opening ${uri}`, () => this.client.datasets.open({ uri }), view);
  }

  /** The demo opens on its starter notebook. */
  async openDemo(): Promise<boolean> {
    const opened = await this.load("Preparing the PBMC 3k demo", () => this.client.datasets.openDemo({}));
    if (opened) this.view = { kind: "notebook" };
    return opened;
  }

  async close(): Promise<void> {
    // The notebook's results go first, while their dataset is still open in main.
    this.notebookFile.detach();
    if (this.dataset) await this.client.datasets.close({ datasetId: this.dataset.datasetId });
    this.dataset = null;
    this.view = { kind: "overview" };
  }

  show(view: View): void {
    this.view = view;
  }

  dismissError(): void {
    this.error = null;
  }

  private async load(label: string, run: () => Promise<Result<DatasetSummary>>, view?: View): Promise<boolean> {
    this.busy = label;
    this.error = null;
    try {
      const r = await run();
      if (!r.ok) {
        this.error = r.error;
        return false;
      }
      const previous = this.dataset;
      // Another dataset: the notebook of the previous one goes (its outputs released); the new one's loads when shown.
      if (previous?.datasetId !== r.value.datasetId) this.notebookFile.detach();
      this.dataset = r.value;
      // A dataset with an embedding opens on Explore: every cell on the map before any SQL.
      this.view = view ?? (hasEmbedding(r.value) ? { kind: "explore" } : { kind: "overview" });
      this.recents.add(r.value.uri, r.value.name);
      // Every open adds a reference in main: keep exactly one for what is shown.
      if (previous) await this.client.datasets.close({ datasetId: previous.datasetId });
      return true;
    } finally {
      this.busy = null;
    }
  }
}
