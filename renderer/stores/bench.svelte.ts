/**
 * The Benchmark panel's store: the sources to measure (the open dataset's URI first, any others added), the run's
 * options, the run as a job followed through the jobs store (progress, cancel), the shown run, the saved history
 * (open, compare two, remove) and exports. Every call to main goes through the Client it is given.
 */
import {
  BENCH_ANNOUNCEMENT_PRESET,
  type BenchExportFormat,
  type BenchOptions,
  type BenchReader,
  type BenchRun,
  type BenchRunSummary,
  type Client,
  type JobEvent,
} from "../../shared/ipc/contract";
import { formatBytes } from "../../shared/format";
import type { AppError } from "../../shared/result";
import { MAX_SOURCES, formatWhen, isPartial, optionsProblem, parseColumns, runFileStem } from "./bench-results";
import { askToReplace, exportAskingToReplace } from "./export-replace";
import type { AskConfirm } from "./confirm";
import type { Jobs } from "./jobs.svelte";
import type { AskPath } from "./paths";
import { isRemoteUri, remoteUriFromInput } from "./remote-uri";

export type BenchForm = Omit<BenchOptions, "uris" | "columns">;

/** A short run that still says something: 2,000 batches of 256 rows or 30 s per source, cold. */
export const BENCH_DEFAULTS: BenchForm = {
  table: "cells",
  batchSize: 256,
  batches: 2_000,
  seconds: 30,
  cold: true,
  concurrency: 1,
  reader: "scan",
  repeat: 1,
};

function invalid(message: string): AppError {
  return { code: "BENCH_OPTIONS_INVALID", message };
}

export class Bench {
  /** The URIs measured, in order. */
  sources = $state<string[]>([]);
  form = $state<BenchForm>({ ...BENCH_DEFAULTS });
  /** Comma-separated column names for the scan reader; empty = every column. */
  columnsText = $state("");
  jobId = $state<string | null>(null);
  /** Cancel was asked for the running job (main stops it at its next chance). */
  cancelling = $state(false);
  /** The run shown in the results (the last one run, or one opened from the history). */
  current = $state<BenchRun | null>(null);
  /** Saved runs, newest first. */
  history = $state<BenchRunSummary[]>([]);
  /** Up to two history runs picked for comparison, in the order picked (compared oldest first). */
  picked = $state<string[]>([]);
  compared = $state<[BenchRun, BenchRun] | null>(null);
  error = $state<AppError | null>(null);
  notice = $state<string | null>(null);

  /** Set once the user changes the list: the open dataset no longer replaces it. */
  private sourcesEdited = false;

  constructor(
    private readonly client: Client,
    private readonly jobs: Jobs,
    private readonly askPath: AskPath,
    private readonly confirm: AskConfirm,
  ) {}

  get running(): boolean {
    return this.jobId !== null;
  }

  /** The running job's latest event (progress in batches), while a run goes. */
  get progress(): JobEvent | null {
    return this.jobId ? (this.jobs.byId[this.jobId] ?? null) : null;
  }

  get options(): BenchOptions {
    return { ...this.form, uris: [...this.sources], columns: this.form.reader === "scan" ? parseColumns(this.columnsText) : null };
  }

  /** What stops a run from starting, said before main is asked; null when it can start. */
  get problem(): string | null {
    return optionsProblem(this.options);
  }

  /** The open dataset's URI is the first source until the user edits the list. */
  prefill(uri: string | null): void {
    if (this.sourcesEdited) return;
    this.sources = uri ? [uri] : [];
  }

  /** Adds a location (local path, s3://, hf://, or a Hub page address); returns what is wrong with it, or null. */
  addSource(text: string): string | null {
    const given = text.trim();
    if (!given) return "Type a local folder, an s3:// or an hf:// address";
    let uri = given;
    if (isRemoteUri(given) || /^https?:\/\//i.test(given)) {
      const r = remoteUriFromInput(given);
      if ("problem" in r) return r.problem;
      uri = r.uri;
    }
    if (this.sources.includes(uri)) return `${uri} is already in the list`;
    if (this.sources.length >= MAX_SOURCES) return `At most ${MAX_SOURCES} sources per run`;
    this.sources = [...this.sources, uri];
    this.sourcesEdited = true;
    return null;
  }

  removeSource(uri: string): void {
    this.sources = this.sources.filter((u) => u !== uri);
    this.sourcesEdited = true;
  }

  /** The loader's readers read whole cells from `expression`; columns are the plain scan's. */
  setReader(reader: BenchReader): void {
    this.form.reader = reader;
    if (reader !== "scan") {
      this.form.table = "expression";
      this.columnsText = "";
    }
  }

  /** The announcement's experiment: 20,000 batches of 256 rows of `cells` per source, cold. */
  applyPreset(): void {
    const { columns, ...rest } = BENCH_ANNOUNCEMENT_PRESET;
    this.form = { ...rest };
    this.columnsText = columns?.join(", ") ?? "";
    this.notice = "Preset: the announcement's 20,000 batches of 256 rows of cells per source, cold cache";
  }

  async refreshHistory(): Promise<void> {
    const r = await this.client.bench.history({});
    if (r.ok) this.history = r.value;
    else this.error = r.error;
  }

  /** Runs the benchmark as a job and follows it to its end; the finished (or cancelled) run is shown. */
  async run(): Promise<BenchRun | null> {
    if (this.jobId) return null;
    this.error = null;
    this.notice = null;
    const options = this.options;
    const problem = optionsProblem(options);
    if (problem) {
      this.error = invalid(problem);
      return null;
    }
    const r = await this.client.bench.start({ options });
    if (!r.ok) {
      this.error = r.error;
      return null;
    }
    const runId = r.value.runId;
    this.jobId = r.value.jobId;
    let end: JobEvent;
    try {
      end = await this.jobs.wait(r.value.jobId);
    } finally {
      this.jobId = null;
      this.cancelling = false;
    }
    await this.refreshHistory();
    if (end.state === "done" && end.kind === "bench" && end.result) {
      this.current = end.result;
      return end.result;
    }
    if (end.state === "cancelled") {
      // Main saves a cancelled run too, with the sources that finished: show it.
      const saved = end.kind === "bench" && end.result ? end.result : await this.savedRun(runId);
      this.current = saved ?? this.current;
      const finished = saved?.results.filter((x) => !x.error && !isPartial(x)).length ?? 0;
      this.notice = `Cancelled: ${finished} of ${options.uris.length} source${options.uris.length === 1 ? "" : "s"} measured${saved ? ", saved in the history" : ""}`;
      return saved;
    }
    this.error = end.error ?? { code: "INTERNAL", message: "The benchmark ended without a result" };
    return null;
  }

  async cancel(): Promise<void> {
    if (!this.jobId || this.cancelling) return;
    this.cancelling = true;
    await this.jobs.cancel(this.jobId);
  }

  /** Shows a saved run. */
  async open(runId: string): Promise<boolean> {
    this.error = null;
    const r = await this.client.bench.get({ runId });
    if (!r.ok) {
      this.error = r.error;
      return false;
    }
    this.current = r.value;
    return true;
  }

  /** Removes a saved run from the history, asked first. */
  async remove(runId: string): Promise<boolean> {
    const summary = this.history.find((h) => h.runId === runId);
    const yes = await this.confirm({
      title: "Remove this run?",
      message: `The benchmark of ${summary?.dataset ?? "this dataset"}${summary ? ` from ${formatWhen(summary.startedAt)}` : ""} is removed from the history. Exported files stay.`,
      confirmLabel: "Remove",
    });
    if (!yes) return false;
    this.error = null;
    const r = await this.client.bench.remove({ runId });
    if (!r.ok) this.error = r.error;
    else {
      if (this.current?.runId === runId) this.current = null;
      if (this.picked.includes(runId)) {
        this.picked = this.picked.filter((id) => id !== runId);
        this.compared = null;
      }
    }
    await this.refreshHistory();
    return r.ok;
  }

  /** Picks or unpicks a run to compare; a third pick replaces the oldest. Two picks load both runs. */
  async togglePick(runId: string): Promise<void> {
    this.picked = this.picked.includes(runId) ? this.picked.filter((id) => id !== runId) : [...this.picked, runId].slice(-2);
    this.compared = null;
    if (this.picked.length < 2) return;
    const ids = [...this.picked];
    const [a, b] = await Promise.all(ids.map((runId) => this.client.bench.get({ runId })));
    // Another pick meanwhile: that one loads instead.
    if (this.picked.join() !== ids.join()) return;
    if (!a.ok || !b.ok) {
      this.error = !a.ok ? a.error : !b.ok ? b.error : null;
      return;
    }
    // The older run is A, so B / A reads as "now against then".
    this.compared = a.value.startedAt <= b.value.startedAt ? [a.value, b.value] : [b.value, a.value];
  }

  clearPicks(): void {
    this.picked = [];
    this.compared = null;
  }

  /** Writes the shown run as CSV or JSON to a path the user picks; an existing file is replaced only when they say so. */
  async exportRun(format: BenchExportFormat): Promise<boolean> {
    const run = this.current;
    if (!run) return false;
    const path = await this.askPath("save", `Export the benchmark as ${format.toUpperCase()}`, `${runFileStem(run)}.${format}`, "Export");
    if (!path) return false;
    this.error = null;
    this.notice = null;
    const req = { runId: run.runId, format, path };
    const r = await exportAskingToReplace(
      path,
      (overwrite) => this.client.bench.export(overwrite ? { ...req, overwrite } : req),
      askToReplace(this.confirm, (notice) => (this.notice = notice)),
    );
    if (!r) return false;
    if (!r.ok) {
      this.error = r.error;
      return false;
    }
    this.notice = `Saved the run as ${format.toUpperCase()} (${formatBytes(r.value.bytes)}) to ${r.value.path}`;
    return true;
  }

  dismiss(): void {
    this.error = null;
    this.notice = null;
  }

  /** The run main saved for a job (by the id start gave); null when it saved none (cancelled before it began). */
  private async savedRun(runId: string | undefined): Promise<BenchRun | null> {
    if (!runId || !this.history.some((h) => h.runId === runId)) return null;
    const r = await this.client.bench.get({ runId });
    return r.ok ? r.value : null;
  }
}
