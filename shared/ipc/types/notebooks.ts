import type { Result } from "../../result";

export interface NotebookFile {
  path: string;
  text: string;
  mtimeMs: number;
}

export interface NotebooksApi {
  read(req: { path: string }): Promise<Result<NotebookFile>>;
  /**
   * Writes atomically. `expectedMtimeMs` is the mtime the editor last saw (null for a new file);
   * a different mtime on disk gives NOTEBOOK_CONFLICT unless `overwrite`.
   */
  write(req: { path: string; text: string; expectedMtimeMs: number | null; overwrite?: boolean }): Promise<Result<{ mtimeMs: number }>>;
  /** Push `notebook.changed` when the file changes on disk. */
  watch(req: { path: string }): Promise<Result<null>>;
  unwatch(req: { path: string }): Promise<Result<null>>;
  /** The starter notebook for a dataset (written beside the demo on first start). */
  starter(req: { datasetId: string }): Promise<Result<NotebookFile>>;
}
