import type { JobEvent, JobKind, JobProgress, JobResults, JobsApi } from "../../../shared/ipc/contract";
import { AppFailure } from "../../../shared/result";
import { fail, guard, throwIfAborted, toAppError } from "../errors";

export type Emit = (event: JobEvent) => void;

export interface JobContext {
  signal: AbortSignal;
  /** Reports progress; throttled to a few events per second. `total` null when unknown. */
  progress(done: number, total: number | null, message?: string): void;
}

const PROGRESS_INTERVAL_MS = 150;
const KEEP_FINISHED = 200;

/** Runs long work off the request: returns a job id at once, pushes progress, supports cancel and wait. */
export class JobService implements JobsApi {
  private readonly jobs = new Map<string, { event: JobEvent; controller: AbortController; done: Promise<JobEvent> }>();
  private nextId = 1;

  constructor(private readonly emit: Emit) {}

  start<K extends JobKind>(kind: K, unit: string, work: (ctx: JobContext) => Promise<JobResults[K]>): string {
    const jobId = `job${this.nextId++}`;
    const controller = new AbortController();
    const startedAt = Date.now();
    const event: JobEvent = {
      jobId,
      kind,
      state: "running",
      progress: { done: 0, total: null, unit, ratePerSecond: null, etaSeconds: null },
      startedAt,
    };
    let lastEmit = 0;
    const ctx: JobContext = {
      signal: controller.signal,
      progress: (done, total, message) => {
        const seconds = (Date.now() - startedAt) / 1000;
        const rate = seconds > 0 ? done / seconds : null;
        const progress: JobProgress = {
          done,
          total,
          unit,
          ratePerSecond: rate,
          etaSeconds: rate && total !== null && rate > 0 ? Math.max(0, (total - done) / rate) : null,
          message,
        };
        event.progress = progress;
        const now = Date.now();
        if (now - lastEmit >= PROGRESS_INTERVAL_MS) {
          lastEmit = now;
          this.emit({ ...event });
        }
      },
    };
    const done = (async () => {
      // Let the caller receive the job id before the first progress event.
      await Promise.resolve();
      try {
        const result = await work(ctx);
        throwIfAborted(controller.signal, cancelCode(kind));
        event.result = result;
        event.state = "done";
      } catch (e) {
        const error = controller.signal.aborted ? cancelledError(kind, controller.signal) : toAppError(e);
        event.state = controller.signal.aborted ? "cancelled" : "failed";
        event.error = error;
      }
      event.endedAt = Date.now();
      this.emit({ ...event });
      this.prune();
      return { ...event };
    })();
    this.jobs.set(jobId, { event, controller, done });
    return jobId;
  }

  wait(req: { jobId: string; timeoutMs?: number }) {
    return guard(async () => {
      const job = this.entry(req.jobId);
      if (req.timeoutMs === undefined) return job.done;
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<JobEvent>((resolve) => (timer = setTimeout(() => resolve({ ...job.event }), req.timeoutMs)));
      try {
        return await Promise.race([job.done, timedOut]);
      } finally {
        clearTimeout(timer);
      }
    });
  }

  /** The job's final event (for main's own bookkeeping); rejects with JOB_NOT_FOUND for an unknown id. */
  async settled(jobId: string): Promise<JobEvent> {
    return this.entry(jobId).done;
  }

  /** Cancels a running job (no-op once it ended). */
  cancelJob(jobId: string): void {
    const job = this.jobs.get(jobId);
    if (job?.event.state === "running") job.controller.abort(new AppFailure(cancelCode(job.event.kind), "Cancelled because the page that started it closed"));
  }

  cancel(req: { jobId: string }) {
    return guard(async () => {
      const job = this.entry(req.jobId);
      if (job.event.state === "running") job.controller.abort(new AppFailure(cancelCode(job.event.kind), "Cancelled by the user"));
      return null;
    });
  }

  list() {
    return guard(async () => [...this.jobs.values()].map((j) => ({ ...j.event })));
  }

  cancelAll(): void {
    for (const j of this.jobs.values()) if (j.event.state === "running") j.controller.abort();
  }

  /**
   * Cancels every running job and waits (at most `timeoutMs`) for them to end: a job reading with Lance in a worker
   * thread must finish that read before the process exits, or the process crashes.
   */
  async settleAll(timeoutMs = 10_000): Promise<void> {
    const running = [...this.jobs.values()].filter((j) => j.event.state === "running");
    this.cancelAll();
    if (running.length === 0) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([Promise.allSettled(running.map((j) => j.done)), new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
  }

  private entry(jobId: string) {
    const job = this.jobs.get(jobId);
    if (!job) fail("JOB_NOT_FOUND", `No job with id ${jobId}`);
    return job;
  }

  private prune(): void {
    const finished = [...this.jobs.entries()].filter(([, j]) => j.event.state !== "running");
    for (const [id] of finished.slice(0, Math.max(0, finished.length - KEEP_FINISHED))) this.jobs.delete(id);
  }
}

const CANCEL_CODES = {
  query: "QUERY_CANCELLED",
  convert: "CONVERT_CANCELLED",
  pin: "PIN_CANCELLED",
  bench: "BENCH_CANCELLED",
  explore: "EXPLORE_CANCELLED",
  markers: "MARKERS_CANCELLED",
} as const satisfies Record<JobKind, string>;

function cancelCode(kind: JobKind) {
  return CANCEL_CODES[kind];
}

function cancelledError(kind: JobKind, signal: AbortSignal) {
  try {
    throwIfAborted(signal, cancelCode(kind));
  } catch (e) {
    return toAppError(e);
  }
  return toAppError(new AppFailure(cancelCode(kind), "Cancelled by the user"));
}
