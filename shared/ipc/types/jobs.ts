import type { AppError, Result } from "../../result";
import type { ConvertSummary } from "./convert";
import type { QuerySummary } from "./query";
import type { Empty } from "./common";

/** What each kind of job yields when it ends well. */
export interface JobResults {
  query: QuerySummary;
  convert: ConvertSummary;
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

export interface JobEvent<K extends JobKind = JobKind> {
  jobId: string;
  kind: K;
  state: JobState;
  progress: JobProgress;
  startedAt: number;
  endedAt?: number;
  result?: JobResults[K];
  error?: AppError;
}

export interface JobsApi {
  /** Resolves when the job ends (any state); the job's final event. */
  wait(req: { jobId: string }): Promise<Result<JobEvent>>;
  cancel(req: { jobId: string }): Promise<Result<null>>;
  list(req: Empty): Promise<Result<JobEvent[]>>;
}
