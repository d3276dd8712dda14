/**
 * The `bench` namespace (issue 11): runs as jobs of kind "bench" (progress in batches, cancel keeps and saves
 * what was measured), one run at a time in the process (two at once would share the gateway's counters and the
 * machine), dataloader previews held while a run measures, the history under `<user data>/bench-history/`, and
 * exports as CSV or the CLI's JSON document.
 */
import path from "node:path";
import type { BenchApi, BenchExportFormat, BenchOptions, BenchRun } from "../../../shared/ipc/contract";
import { guard } from "../errors";
import type { JobService } from "../jobs/service";
import { writeExport } from "../loader/export-file";
import { benchRun } from "./bench-run";
import { benchCsv, benchDocument } from "./export";
import { BenchHistory, newRunId } from "./history";
import { checkBenchOptions } from "./options";
import type { RunDeps } from "./run";

export interface BenchServiceOptions {
  userDataDir: string;
  appVersion: string;
  /** Where sources are read from (the process's gateway, the S3 settings) and the loader's worker bundle. */
  deps: RunDeps;
  /** Holds every dataloader preview's reads; the function it returns lets them go on. */
  pausePreviews?: () => () => void;
  /** Refuses an export target inside a dataset (the datasets service's guard). */
  refuseWriteInside: (target: string, what: string) => Promise<void>;
}

export function benchHistoryDir(userDataDir: string): string {
  return path.join(userDataDir, "bench-history");
}

export class BenchService implements BenchApi {
  /** The saved runs. */
  readonly store: BenchHistory;
  /** Resolves when the runs started before have ended. */
  private tail: Promise<void> = Promise.resolve();

  constructor(
    private readonly jobs: JobService,
    private readonly options: BenchServiceOptions,
  ) {
    this.store = new BenchHistory(benchHistoryDir(options.userDataDir));
  }

  start(req: { options: BenchOptions }) {
    return guard(async () => {
      const o = checkBenchOptions(req.options);
      const runId = newRunId();
      const jobId = this.jobs.start("bench", "batches", async (ctx) => {
        const release = await this.turn(ctx.signal, () => ctx.progress(0, null, "waiting for the benchmark before this one to end"));
        const resume = this.options.pausePreviews?.() ?? (() => undefined);
        try {
          const run = await benchRun(runId, o, this.options.appVersion, this.options.deps, { signal: ctx.signal, progress: ctx.progress });
          await this.store.save(run);
          return run;
        } finally {
          resume();
          release();
        }
      });
      return { jobId, runId };
    });
  }

  history() {
    return guard(() => this.store.list());
  }

  get(req: { runId: string }) {
    return guard((): Promise<BenchRun> => this.store.get(req.runId));
  }

  remove(req: { runId: string }) {
    return guard(async () => {
      await this.store.remove(req.runId);
      return null;
    });
  }

  export(req: { runId: string; format: BenchExportFormat; path: string; overwrite?: boolean }) {
    return guard(async () => {
      const run = await this.store.get(req.runId);
      await this.options.refuseWriteInside(req.path, "Cannot export there");
      const text = req.format === "csv" ? benchCsv(run) : `${JSON.stringify(benchDocument(run), null, 2)}\n`;
      return writeExport(req.path, text, req.overwrite ?? false);
    });
  }

  /** Waits for the runs started before this one (or for the cancel); the function it gives ends this run's turn. */
  private async turn(signal: AbortSignal, waiting: () => void): Promise<() => void> {
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const before = this.tail;
    this.tail = before.then(() => mine);
    let settled = false;
    void before.then(() => (settled = true));
    await Promise.resolve();
    if (!settled) waiting();
    const cancelled = new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
    await Promise.race([before, cancelled]);
    return release;
  }
}
