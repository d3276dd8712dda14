/**
 * An in-memory stand-in for main behind the contract's Client, for renderer store tests: notebook files with
 * mtimes and conflicts, watches, query jobs that end when the test says so, and a record of released results.
 */
import {
  METHODS,
  type Client,
  type DatasetSummary,
  type EventName,
  type Events,
  type JobEvent,
  type JobEventOf,
  type Namespace,
  type QuerySummary,
} from "../../shared/ipc/contract";
import { serializeNotebook } from "../../shared/notebook/format";
import { emptyNotebook, insertCell, newCell } from "../../shared/notebook/model";
import { err, ok, type Result } from "../../shared/result";

interface FakeJob {
  event: JobEventOf<"query">;
  /** How many more `jobs.wait` calls answer "running" at once (the server's long poll timing out). */
  pollsLeft: number;
  ended: Promise<void>;
  end: () => void;
}

export function fakeDataset(datasetId: string, name = datasetId): DatasetSummary {
  return {
    datasetId,
    uri: `/data/${name}.slaf`,
    name,
    source: "local",
    revision: null,
    config: { formatVersion: "0.5", nCells: 0, nGenes: 0, expressionCount: 0, sparsity: null, density: null, createdAt: null, raw: {} },
    tables: [],
  };
}

/** The starter notebook main writes for a dataset: two named SQL cells. */
export function starterText(dataset: DatasetSummary): string {
  let nb = emptyNotebook(dataset.uri);
  nb = insertCell(nb, newCell(nb, "sql", { name: "cell_types", text: "SELECT cell_type, COUNT(*) AS n FROM cells GROUP BY cell_type" }));
  nb = insertCell(nb, newCell(nb, "sql", { name: "umap", text: "SELECT * FROM cells" }));
  return serializeNotebook(nb);
}

export class FakeMain {
  readonly files = new Map<string, { text: string; mtimeMs: number }>();
  readonly watching = new Map<string, number>();
  readonly released: string[] = [];
  readonly cancelled: string[] = [];
  readonly started: { jobId: string; sql: string; name: string | null | undefined }[] = [];
  readonly writes: string[] = [];
  /** Exported files: path → what was written. */
  readonly exports = new Map<string, string>();
  /** Query jobs end by themselves; when false they run until `finish` or `cancel`. */
  autoFinish = true;
  /** `jobs.wait` answers "running" this many times per job before it waits for the end. */
  runningPolls = 0;
  readonly client: Client;

  private readonly jobs = new Map<string, FakeJob>();
  private readonly resultsLive = new Set<string>();
  private readonly listeners = new Map<string, Set<(payload: unknown) => void>>();
  private readonly datasets = new Map<string, DatasetSummary>();
  private clock = 1_000;
  private nextId = 1;

  constructor() {
    const client: Record<string, unknown> = {
      on: (name: string, fn: (payload: unknown) => void) => {
        const set = this.listeners.get(name) ?? new Set();
        this.listeners.set(name, set);
        set.add(fn);
        return () => set.delete(fn);
      },
    };
    for (const ns of Object.keys(METHODS) as Namespace[]) {
      client[ns] = Object.fromEntries(METHODS[ns].map((m: string) => [m, async () => err("INTERNAL", `${ns}.${m} is not part of the fake`)]));
    }
    const c = client as unknown as Client;
    c.notebooks.read = async ({ path }) => {
      const f = this.files.get(path);
      return f ? ok({ path, ...f }) : err("NOTEBOOK_NOT_FOUND", `No notebook at ${path}`, { path });
    };
    c.notebooks.write = async ({ path, text, expectedMtimeMs, overwrite }) => {
      const f = this.files.get(path);
      if (f && !overwrite && f.mtimeMs !== expectedMtimeMs) return err("NOTEBOOK_CONFLICT", `${path} changed on disk`, { path });
      this.writes.push(path);
      return ok({ mtimeMs: this.put(path, text) });
    };
    c.notebooks.watch = async ({ path }) => {
      this.watching.set(path, (this.watching.get(path) ?? 0) + 1);
      return ok(null);
    };
    c.notebooks.unwatch = async ({ path }) => {
      const n = (this.watching.get(path) ?? 0) - 1;
      if (n > 0) this.watching.set(path, n);
      else this.watching.delete(path);
      return ok(null);
    };
    c.notebooks.starter = async ({ datasetId }) => {
      const ds = this.datasets.get(datasetId);
      if (!ds) return err("DATASET_NOT_OPEN", `No open dataset ${datasetId}`);
      const path = `/user/notebooks/${ds.name}.slafnb.md`;
      if (!this.files.has(path)) this.put(path, starterText(ds));
      return ok({ path, ...this.files.get(path)! });
    };
    c.query.preview = async () => ok({ scans: [], estimatedRows: 0, estimatedBytes: 0, needsConfirmation: false, namedResults: [] });
    c.query.start = async ({ sql, name }) => {
      const jobId = `job-${this.nextId++}`;
      this.started.push({ jobId, sql, name });
      let end = () => {};
      const ended = new Promise<void>((resolve) => (end = resolve));
      const event: JobEventOf<"query"> = {
        jobId,
        kind: "query",
        state: "running",
        progress: { done: 0, total: null, unit: "rows", ratePerSecond: null, etaSeconds: null },
        startedAt: this.clock,
      };
      this.jobs.set(jobId, { event, pollsLeft: this.runningPolls, ended, end });
      if (this.autoFinish) this.finish(jobId);
      return ok({ jobId });
    };
    c.query.export = async ({ resultId, format, path, overwrite }) => {
      if (this.exports.has(path) && !overwrite) return err("EXPORT_TARGET_EXISTS", `${path} already exists`, { path });
      const text = `${format} of ${resultId}`;
      this.exports.set(path, text);
      return ok({ path, bytes: text.length });
    };
    c.query.release = async ({ resultId }) => {
      this.released.push(resultId);
      this.resultsLive.delete(resultId);
      return ok(null);
    };
    c.jobs.wait = async ({ jobId }): Promise<Result<JobEvent>> => {
      const job = this.jobs.get(jobId);
      if (!job) return err("JOB_NOT_FOUND", `No job ${jobId}`);
      if (job.event.state === "running" && job.pollsLeft > 0) {
        job.pollsLeft--;
        return ok(job.event);
      }
      await job.ended;
      return ok(job.event);
    };
    c.jobs.cancel = async ({ jobId }) => {
      const job = this.jobs.get(jobId);
      if (!job) return err("JOB_NOT_FOUND", `No job ${jobId}`);
      this.cancelled.push(jobId);
      if (job.event.state === "running") this.endJob(job, { state: "cancelled", error: { code: "QUERY_CANCELLED", message: "Cancelled" } });
      return ok(null);
    };
    this.client = c;
  }

  openDataset(ds: DatasetSummary): DatasetSummary {
    this.datasets.set(ds.datasetId, ds);
    return ds;
  }

  /** Ends a running query job well; its result becomes live in "main" until released. */
  finish(jobId: string): QuerySummary {
    const job = this.jobs.get(jobId)!;
    const resultId = `result-of-${jobId}`;
    const summary: QuerySummary = {
      resultId,
      name: this.started.find((s) => s.jobId === jobId)?.name ?? null,
      columns: [],
      rowCount: 1,
      elapsedMs: 1,
      scans: [],
    };
    this.resultsLive.add(resultId);
    this.endJob(job, { state: "done", result: summary });
    return summary;
  }

  /** Results main still holds for the page. */
  live(): string[] {
    return [...this.resultsLive];
  }

  runningJobs(): string[] {
    return [...this.jobs.values()].filter((j) => j.event.state === "running").map((j) => j.event.jobId);
  }

  /** Someone else writes the file: a new mtime and, if watched, a `notebook.changed` event. */
  changeOnDisk(path: string, text: string): void {
    const mtimeMs = this.put(path, text);
    if (this.watching.has(path)) this.emit("notebook.changed", { path, mtimeMs });
  }

  emit<E extends EventName>(name: E, payload: Events[E]): void {
    for (const fn of this.listeners.get(name) ?? []) fn(payload);
  }

  private put(path: string, text: string): number {
    const mtimeMs = ++this.clock;
    this.files.set(path, { text, mtimeMs });
    return mtimeMs;
  }

  private endJob(job: FakeJob, end: Partial<JobEventOf<"query">>): void {
    job.event = { ...job.event, ...end, endedAt: ++this.clock };
    job.end();
  }
}

/** Lets pending promise callbacks (fake calls, store continuations) run; setImmediate, so fake timers do not stop it. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
}
