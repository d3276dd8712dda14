import type { Result } from "../../result";

/** A notebook file as read from disk (text in the format of shared/notebook/format.ts). */
export interface NotebookFile {
  /** Absolute path; relative paths are refused with INVALID_ARGUMENT. */
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
  /**
   * Push `notebook.changed` ({path, mtimeMs}, mtimeMs null when deleted) when the file changes on disk, debounced;
   * never for this service's own writes. Refcounted: each watch needs one unwatch.
   */
  watch(req: { path: string }): Promise<Result<null>>;
  unwatch(req: { path: string }): Promise<Result<null>>;
  /**
   * The starter notebook for an open dataset: `<userDataDir>/notebooks/<dataset name>.slafnb.md`, written the
   * first time (real queries over the dataset's tables) and returned as it is on disk after that. When that file
   * belongs to another dataset of the same name, `<name>-2.slafnb.md` (and so on) is used.
   */
  starter(req: { datasetId: string }): Promise<Result<NotebookFile>>;
}
