/** The open notebook as three stores: its content (doc), its file (file) and its outputs (runs). */
import type { Client } from "../../shared/ipc/contract";
import type { Jobs } from "./jobs.svelte";
import { NotebookDocument } from "./notebook-document.svelte";
import { NotebookFile, type NotebookFileOptions } from "./notebook-file.svelte";
import { NotebookRuns } from "./notebook-runs.svelte";

export interface Notebook {
  doc: NotebookDocument;
  file: NotebookFile;
  runs: NotebookRuns;
}

export function createNotebook(client: Client, jobs: Jobs, options: NotebookFileOptions): Notebook {
  const doc = new NotebookDocument();
  const file = new NotebookFile(client, doc, options);
  const runs = new NotebookRuns(client, jobs, doc, () => file.datasetId);
  return { doc, file, runs };
}
