import type { AppError, Result } from "../../result";
import type { BenchRun } from "./bench";
import type { CachePinSummary } from "./cache";
import type { ConvertSummary } from "./convert";
import type { ExploreJobResult } from "./explore";
import type { MarkersJobResult } from "./markers";
import type { QuerySummary } from "./query";
import type { Empty } from "./common";

/** What each kind of job yields when it ends well. */
export interface JobResults {
  query: QuerySummary;
  convert: ConvertSummary;
  pin: CachePinSummary;
  bench: BenchRun;
  explore: ExploreJobResult;
  markers: MarkersJobResult;
}
export type JobKind = keyof JobResults;
export type JobState = "running" | "done" | "failed" | "cancelled";

export interface JobProgress {
  done: number;
  total: number | null;
  /** What `done` counts: "rows", "cells", "bytes". */
  unit: string;
  ratePerSecond: number | null;
  etaSeconds: number | null;
  message?: string;
}

/** A job's state as pushed on the `job` event; `result` is typed by the job's kind (narrow on `kind`). */
export type JobEvent = { [K in JobKind]: JobEventOf<K> }[JobKind];

export interface JobEventOf<K extends JobKind> {
  jobId: string;
  kind: K;
  state: JobState;
  progress: JobProgress;
  startedAt: number;
  endedAt?: number;
  /** Present when state is "done". */
  result?: JobResults[K];
  /** Present when state is "failed" or "cancelled". */
  error?: AppError;
}

export interface JobsApi {
  /**
   * The job's event once it ends, or after `timeoutMs` with its current (running) event, whichever is first:
   * callers loop while the state is "running". Through the bridge the wait is bounded (default 20 s, at most
   * 60 s, see shared/ipc/schemas.ts), so no call is left open for long; without `timeoutMs` inside main it
   * waits for the end.
   */
  wait(req: { jobId: string; timeoutMs?: number }): Promise<Result<JobEvent>>;
  cancel(req: { jobId: string }): Promise<Result<null>>;
  list(req: Empty): Promise<Result<JobEvent[]>>;
}
