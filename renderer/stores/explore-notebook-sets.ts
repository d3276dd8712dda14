/**
 * Cell sets live in two places: main holds them for SQL (`cell_sets`), the dataset's notebook saves them
 * (```cellset blocks, shared/notebook/cell-sets.ts). This keeps the two together:
 * - a notebook that opens (starter, Open, reload) gives its saved sets to main;
 * - each time main's sets are read again after a change, the open notebook is updated (an edit, so autosave
 *   writes the file): sets written or rewritten, a deleted or renamed set's old block removed; blocks of sets main
 *   has not seen yet are kept, so nothing saved is lost while a notebook is still being restored;
 * - deleting a set's block in the notebook deletes the set.
 */
import type { CellSetInfo, Client } from "../../shared/ipc/contract";
import { cellIdsToBytes, cellSetsOf, withCellSets, type CellSetBlock } from "../../shared/notebook/cell-sets";
import type { Notebook as NotebookModel } from "../../shared/notebook/model";
import type { CellSets } from "./explore-sets.svelte";
import { idsFromBytes } from "./explore-data";
import type { Notebook } from "./notebook";

export function linkCellSetsToNotebook(client: Client, notebook: Notebook, sets: CellSets): () => void {
  /** Names main had at the last read, per dataset: what disappears from it was deleted or renamed. */
  const known = new Map<string, Set<string>>();
  const members = new Map<string, { version: number; ids: Int32Array }>();
  /** Block cell id → set name, for deletions made in the notebook. */
  let blockNames = new Map<string, string>();
  let restoring: Promise<void> = Promise.resolve();
  let writing: Promise<void> = Promise.resolve();

  const remember = (nb: NotebookModel): void => {
    blockNames = new Map(cellSetsOf(nb).sets.map((s) => [s.cellId, s.name]));
  };

  async function restore(datasetId: string, nb: NotebookModel): Promise<void> {
    const saved = cellSetsOf(nb).sets;
    for (const s of saved) {
      const r = await client.explore.defineSet({ datasetId, name: s.name, from: { kind: "ids", ids: cellIdsToBytes(s.ids) }, replace: true });
      if (!r.ok) sets.notice = `The notebook's cell set "${s.name}" could not be restored: ${r.error.message}`;
    }
    await sets.refresh();
  }

  async function idsOf(datasetId: string, s: CellSetInfo): Promise<Int32Array | null> {
    const key = `${datasetId}\n${s.name}`;
    const hit = members.get(key);
    if (hit && hit.version === s.version) return hit.ids;
    const r = await client.explore.getSet({ datasetId, name: s.name });
    if (!r.ok) return null;
    const ids = idsFromBytes(r.value.ids);
    members.set(key, { version: r.value.version, ids });
    return ids;
  }

  async function write(datasetId: string, list: CellSetInfo[]): Promise<void> {
    await restoring;
    if (notebook.file.datasetId !== datasetId) return;
    const before = known.get(datasetId) ?? new Set<string>();
    const now = new Set(list.map((s) => s.name));
    known.set(datasetId, now);
    const fromMain: CellSetBlock[] = [];
    for (const s of list) {
      const ids = await idsOf(datasetId, s);
      if (ids) fromMain.push({ name: s.name, ids });
    }
    if (notebook.file.datasetId !== datasetId) return;
    const saved = cellSetsOf(notebook.doc.nb).sets;
    const kept = saved.filter((s) => !now.has(s.name) && !before.has(s.name));
    const wanted = [...fromMain, ...kept];
    if (sameSets(saved, wanted)) return;
    notebook.doc.update((nb) => withCellSets(nb, wanted));
    remember(notebook.doc.nb);
  }

  const stopDoc = notebook.doc.listen({
    replaced: () => {
      const datasetId = notebook.file.datasetId;
      remember(notebook.doc.nb);
      if (!datasetId) return;
      const nb = notebook.doc.nb;
      restoring = restoring.then(() => restore(datasetId, nb)).catch(() => undefined);
    },
    removed: (cellId) => {
      const name = blockNames.get(cellId);
      const datasetId = notebook.file.datasetId;
      if (!name || !datasetId) return;
      blockNames.delete(cellId);
      void client.explore.deleteSet({ datasetId, name }).then(() => sets.refresh());
    },
  });
  const stopSets = sets.listen((datasetId, list) => {
    writing = writing.then(() => write(datasetId, list)).catch(() => undefined);
  });
  return () => {
    stopDoc();
    stopSets();
  };
}

function sameSets(a: readonly CellSetBlock[], b: readonly CellSetBlock[]): boolean {
  if (a.length !== b.length) return false;
  const byName = new Map(b.map((s) => [s.name, s.ids]));
  return a.every((s) => {
    const ids = byName.get(s.name);
    return !!ids && ids.length === s.ids.length && ids.every((v, i) => v === s.ids[i]);
  });
}
