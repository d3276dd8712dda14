import { isAppFailure } from "../../../shared/result";
import fsp from "node:fs/promises";
import path from "node:path";
import type { NotebookFile, NotebooksApi } from "../../../shared/ipc/contract";
import { NOTEBOOK_EXTENSION, parseNotebook } from "../../../shared/notebook/format";
import type { DatasetService } from "../datasets/service";
import { fail, guard } from "../errors";
import type { EmitEvent } from "../events";
import { FolderWatcher } from "./folder-watcher";
import { checkMarkdownName, checkNotebookPath, createNotebookExclusive, readNotebookFile, writeNotebookAtomic } from "./notebook-file-io";
import { starterText } from "./starter";
import { PerPathQueue } from "./write-queue";

export interface NotebookServiceOptions {
  /** Where starter notebooks go (`<userDataDir>/notebooks/`). Without it, `starter` is unavailable. */
  userDataDir?: string;
  /** Quiet period before a change on disk is reported (editors write in several steps). */
  debounceMs?: number;
}

/** A file name for a dataset's starter notebook: the dataset name without characters file systems refuse. */
export function starterFileName(datasetName: string, n = 1): string {
  const base =
    Array.from(datasetName, (ch) => (ch.charCodeAt(0) < 0x20 || '\\/:*?"<>|'.includes(ch) ? "_" : ch))
      .join("")
      .replace(/^[.\s]+|[.\s]+$/g, "") || "notebook";
  return `${base}${n > 1 ? `-${n}` : ""}${NOTEBOOK_EXTENSION}`;
}

/** Notebook files on disk: reads, serialized atomic writes with conflict detection, watching, the starter notebook. */
export class NotebookService implements NotebooksApi {
  private readonly writes = new PerPathQueue();
  private readonly watcher: FolderWatcher;

  constructor(
    readonly emit: EmitEvent,
    readonly datasets: DatasetService,
    readonly options: NotebookServiceOptions = {},
  ) {
    this.watcher = new FolderWatcher({
      debounceMs: options.debounceMs ?? 150,
      onChange: (file, mtimeMs) => this.emit("notebook.changed", { path: file, mtimeMs }),
      writesSettled: (file) => this.writes.idle(file),
    });
  }

  read(req: { path: string }) {
    return guard(async (): Promise<NotebookFile> => readNotebookFile(checkNotebookPath(req?.path)));
  }

  write(req: { path: string; text: string; expectedMtimeMs: number | null; overwrite?: boolean }) {
    return guard(async () => {
      const file = checkNotebookPath(req?.path);
      checkMarkdownName(file);
      await this.datasets.refuseWriteInside(file, "Cannot save the notebook there");
      if (typeof req.text !== "string") fail("INVALID_ARGUMENT", `No text to write to ${file}`, { path: file });
      const expected = req.expectedMtimeMs ?? null;
      if (expected !== null && typeof expected !== "number") fail("INVALID_ARGUMENT", `expectedMtimeMs must be a number or null (writing ${file})`);
      return this.writes.run(file, async () => {
        const stamp = await writeNotebookAtomic(file, req.text, expected, !!req.overwrite);
        this.watcher.recordOwnWrite(file, stamp);
        return { mtimeMs: stamp.mtimeMs };
      });
    });
  }

  watch(req: { path: string }) {
    return guard(async () => {
      await this.watcher.watch(checkNotebookPath(req?.path));
      return null;
    });
  }

  unwatch(req: { path: string }) {
    return guard(async () => {
      this.watcher.unwatch(checkNotebookPath(req?.path));
      return null;
    });
  }

  starter(req: { datasetId: string }) {
    return guard(async (): Promise<NotebookFile> => {
      const ds = this.datasets.get(req?.datasetId);
      if (!this.options.userDataDir) fail("UNSUPPORTED_IN_MODE", "Starter notebooks need a user data folder, and none is set");
      const dir = path.join(this.options.userDataDir, "notebooks");
      await fsp.mkdir(dir, { recursive: true });
      const { summary } = ds;
      // `<name>.slafnb.md`, unless that file belongs to another dataset of the same name: then `<name>-2...`.
      let races = 0;
      for (let n = 1; n < 100; n++) {
        const file = path.join(dir, starterFileName(summary.name, n));
        const existing = await readNotebookFile(file).catch((e) => {
          if (isAppFailure(e, "NOTEBOOK_NOT_FOUND")) return null;
          throw e;
        });
        if (existing) {
          const dataset = parseNotebook(existing.text).frontmatter.dataset;
          if (dataset === null || dataset === summary.uri) return existing;
          continue;
        }
        const text = starterText(summary);
        const created = await this.writes.run(file, async () => {
          const stamp = await createNotebookExclusive(file, text);
          if (stamp) this.watcher.recordOwnWrite(file, stamp);
          return stamp;
        });
        if (created) return { path: file, text, mtimeMs: created.mtimeMs };
        // Lost a race with another writer: read what it wrote on the next turn of the loop.
        if (++races < 5) n -= 1;
      }
      fail("INTERNAL", `Could not find a free file name for the starter notebook of ${summary.name} in ${dir}`);
    });
  }

  /** Files watched and paths with writes queued: what the service holds (for tests of its bounds). */
  holdings(): { watchedFiles: number; queuedPaths: number } {
    return { watchedFiles: this.watcher.watchedFiles, queuedPaths: this.writes.size };
  }

  dispose(): void {
    this.watcher.dispose();
  }
}
