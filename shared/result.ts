/** Result and error types that cross every process boundary. Nothing is thrown across the bridge. */

export type ErrorCode =
  | "DATASET_NOT_FOUND"
  | "NOT_A_DIRECTORY"
  | "NOT_A_SLAF_DATASET"
  | "CONFIG_INVALID"
  | "TABLE_MISSING"
  | "TABLE_NOT_LANCE"
  | "TABLE_CORRUPT"
  | "TABLE_OUTSIDE_DATASET"
  | "DATASET_NOT_OPEN"
  | "TABLE_UNKNOWN"
  | "SOURCE_UNSUPPORTED"
  | "SOURCE_UNREACHABLE"
  | "RATE_LIMITED"
  | "OFFLINE_NOT_CACHED"
  | "REVISION_NOT_FOUND"
  | "AUTH_REQUIRED"
  | "AUTH_INVALID"
  | "QUERY_INVALID"
  | "QUERY_CANCELLED"
  | "QUERY_NEEDS_CONFIRMATION"
  | "RESULT_NOT_FOUND"
  | "EXPORT_TARGET_EXISTS"
  | "CONVERT_INPUT_INVALID"
  | "CONVERT_OUTPUT_EXISTS"
  | "CONVERT_OUTPUT_INVALID"
  | "CONVERT_CANCELLED"
  | "PIN_CANCELLED"
  | "LOADER_NOT_FOUND"
  | "LOADER_OPTIONS_INVALID"
  | "LOADER_TIMEOUT"
  | "LOADER_HISTORY_EVICTED"
  | "LOADER_CANCELLED"
  | "LOADER_DATASET_UNSUPPORTED"
  | "BENCH_OPTIONS_INVALID"
  | "BENCH_CANCELLED"
  | "BENCH_RUN_NOT_FOUND"
  | "EXPLORE_DATASET_UNSUPPORTED"
  | "EXPLORE_COLUMN_INVALID"
  | "EXPLORE_GENE_NOT_FOUND"
  | "EXPLORE_CANCELLED"
  | "EXPLORE_NOT_READY"
  | "EXPLORE_SET_NOT_FOUND"
  | "EXPLORE_SET_EXISTS"
  | "EXPLORE_SET_INVALID"
  | "EXPLORE_IMPORT_INVALID"
  | "MARKERS_INVALID"
  | "MARKERS_NOT_FOUND"
  | "MARKERS_CANCELLED"
  | "NOTEBOOK_NOT_FOUND"
  | "NOTEBOOK_CONFLICT"
  | "NOTEBOOK_INVALID"
  | "JOB_NOT_FOUND"
  | "INVALID_ARGUMENT"
  | "UNSUPPORTED_IN_MODE"
  | "DISK_FULL"
  | "PERMISSION_DENIED"
  | "WRITE_INSIDE_DATASET"
  | "SETTINGS_INVALID"
  | "SECRETS_UNAVAILABLE"
  | "INTERNAL";

/** A user-facing sentence for every code; `message` on an AppError adds the specifics (path, column...). */
export const ERROR_TITLES: Record<ErrorCode, string> = {
  DATASET_NOT_FOUND: "Dataset not found",
  NOT_A_DIRECTORY: "Not a folder",
  NOT_A_SLAF_DATASET: "Not a SLAF dataset",
  CONFIG_INVALID: "config.json is not valid",
  TABLE_MISSING: "A table listed in config.json is missing",
  TABLE_NOT_LANCE: "A table is not a Lance dataset",
  TABLE_CORRUPT: "A table's files are damaged",
  TABLE_OUTSIDE_DATASET: "A table lies outside the dataset folder",
  DATASET_NOT_OPEN: "Dataset is not open",
  TABLE_UNKNOWN: "Unknown table",
  SOURCE_UNSUPPORTED: "This kind of source is not supported yet",
  SOURCE_UNREACHABLE: "The source cannot be reached",
  RATE_LIMITED: "The source is rate limiting requests",
  OFFLINE_NOT_CACHED: "Offline, and this data is not in the local cache",
  REVISION_NOT_FOUND: "This revision (branch, tag or commit) does not exist",
  AUTH_REQUIRED: "The dataset is private or gated: a token with access is needed",
  AUTH_INVALID: "The credentials were refused",
  QUERY_INVALID: "The query is not valid",
  QUERY_CANCELLED: "The query was cancelled",
  QUERY_NEEDS_CONFIRMATION: "This query reads a lot of data",
  RESULT_NOT_FOUND: "The result is no longer available",
  EXPORT_TARGET_EXISTS: "The export file already exists",
  CONVERT_INPUT_INVALID: "The input cannot be converted",
  CONVERT_OUTPUT_EXISTS: "The output already exists",
  CONVERT_OUTPUT_INVALID: "The output location cannot be used",
  CONVERT_CANCELLED: "The conversion was cancelled",
  PIN_CANCELLED: "Pinning was cancelled (what was read stays in the cache, unpinned)",
  LOADER_NOT_FOUND: "This dataloader preview has ended; start it again",
  LOADER_OPTIONS_INVALID: "The dataloader options are not valid",
  LOADER_TIMEOUT: "The dataloader did not produce a batch in time",
  LOADER_HISTORY_EVICTED: "That batch is no longer kept; step forward or restart with the same seed",
  LOADER_CANCELLED: "The dataloader was stopped",
  LOADER_DATASET_UNSUPPORTED: "The dataloader cannot read this dataset's expression table",
  BENCH_OPTIONS_INVALID: "The benchmark options are not valid",
  BENCH_CANCELLED: "The benchmark was cancelled",
  BENCH_RUN_NOT_FOUND: "No such benchmark run",
  EXPLORE_DATASET_UNSUPPORTED: "Explore cannot read this dataset's cells",
  EXPLORE_COLUMN_INVALID: "This column cannot be drawn that way",
  EXPLORE_GENE_NOT_FOUND: "No such gene in this dataset",
  EXPLORE_CANCELLED: "The read was cancelled (a newer one replaced it)",
  EXPLORE_NOT_READY: "Not computed yet",
  EXPLORE_SET_NOT_FOUND: "No cell set of that name",
  EXPLORE_SET_EXISTS: "A cell set of that name already exists",
  EXPLORE_SET_INVALID: "The cell set cannot be made from that",
  EXPLORE_IMPORT_INVALID: "The file holds no cell ids of this dataset",
  MARKERS_INVALID: "Those groups cannot be compared",
  MARKERS_NOT_FOUND: "This marker gene result is no longer available; run it again",
  MARKERS_CANCELLED: "The marker gene computation was cancelled",
  NOTEBOOK_NOT_FOUND: "Notebook not found",
  NOTEBOOK_CONFLICT: "The notebook changed on disk",
  NOTEBOOK_INVALID: "The notebook file is not valid",
  JOB_NOT_FOUND: "No such job",
  INVALID_ARGUMENT: "Invalid request",
  UNSUPPORTED_IN_MODE: "Not available in this mode",
  DISK_FULL: "The disk is full",
  PERMISSION_DENIED: "Permission denied",
  WRITE_INSIDE_DATASET: "SLAF Workbench never writes inside a dataset",
  SETTINGS_INVALID: "The settings file is not valid",
  SECRETS_UNAVAILABLE: "The saved secrets cannot be read",
  INTERNAL: "Something went wrong",
};

export interface AppError {
  code: ErrorCode;
  /** Specific, user-facing: names the path, table or column at fault. */
  message: string;
  detail?: string;
  retryable?: boolean;
  /** The file or folder the error is about, when there is one. */
  path?: string;
  /** 1-based position in a text input (SQL, notebook) when known. */
  position?: { line: number; column: number; offset: number };
}

export type Result<T> = { ok: true; value: T } | { ok: false; error: AppError };

export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

export function err<T = never>(code: ErrorCode, message: string, extra: Omit<AppError, "code" | "message"> = {}): Result<T> {
  return { ok: false, error: { code, message, ...extra } };
}

/** An Error carrying an AppError, thrown inside a process and turned into a Result at the boundary. */
export class AppFailure extends Error {
  readonly appError: AppError;
  constructor(code: ErrorCode, message: string, extra: Omit<AppError, "code" | "message"> = {}) {
    super(message);
    this.name = "AppFailure";
    this.appError = { code, message, ...extra };
  }
}

/** An AppFailure, optionally of one code (works across module copies, unlike a bare instanceof). */
export function isAppFailure(e: unknown, code?: ErrorCode): e is AppFailure {
  const appError = (e as { appError?: AppError } | null)?.appError;
  return typeof appError?.code === "string" && (code === undefined || appError.code === code);
}
