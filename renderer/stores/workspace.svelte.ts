/** What is open and shown: the dataset, the current view, the last error. Components read this; it calls the api. */
import type { AppInfo, DatasetSummary } from "../../shared/ipc/contract";
import type { AppError, Result } from "../../shared/result";
import { api } from "../api/client";
import { notebook } from "./notebook.svelte";
import { recents } from "./recents.svelte";

export type View = { kind: "overview" } | { kind: "table"; table: string } | { kind: "notebook" };

class Workspace {
  info = $state<AppInfo | null>(null);
  dataset = $state<DatasetSummary | null>(null);
  view = $state<View>({ kind: "overview" });
  busy = $state<string | null>(null);
  error = $state<AppError | null>(null);
  ready = $state(false);

  async init(): Promise<void> {
    const info = await api.app.info({});
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

  async open(uri: string): Promise<boolean> {
    return this.load(`Opening ${uri}`, () => api.datasets.open({ uri }));
  }

  /** The demo opens on its starter notebook. */
  async openDemo(): Promise<boolean> {
    const opened = await this.load("Preparing the PBMC 3k demo", () => api.datasets.openDemo({}));
    if (opened) this.view = { kind: "notebook" };
    return opened;
  }

  async close(): Promise<void> {
    if (this.dataset) await api.datasets.close({ datasetId: this.dataset.datasetId });
    notebook.detach();
    this.dataset = null;
    this.view = { kind: "overview" };
  }

  show(view: View): void {
    this.view = view;
  }

  dismissError(): void {
    this.error = null;
  }

  private async load(label: string, run: () => Promise<Result<DatasetSummary>>): Promise<boolean> {
    this.busy = label;
    this.error = null;
    try {
      const r = await run();
      if (!r.ok) {
        this.error = r.error;
        return false;
      }
      const previous = this.dataset;
      this.dataset = r.value;
      this.view = { kind: "overview" };
      recents.add(r.value.uri, r.value.name);
      // Every open adds a reference in main: keep exactly one for what is shown.
      if (previous) await api.datasets.close({ datasetId: previous.datasetId });
      return true;
    } finally {
      this.busy = null;
    }
  }
}

export const workspace = new Workspace();
