/**
 * The run state of the open notebook: each SQL cell's output (preview, running job, result) and the results they
 * hold in main. It lives only here, never in the file, and belongs to one document: when the document is replaced
 * every output goes, running queries are cancelled and their results released, so cell ids that repeat across
 * notebooks never show another notebook's result.
 */
import type { Client, QueryPreview, QuerySummary } from "../../shared/ipc/contract";
import { cellIndex, findCell } from "../../shared/notebook/model";
import type { AppError } from "../../shared/result";
import type { Jobs } from "./jobs.svelte";
import type { NotebookDocument } from "./notebook-document.svelte";

export type OutputState = "previewing" | "confirm" | "running" | "done" | "error" | "cancelled";

export interface CellOutput {
  /** Which run of the cell this output belongs to. */
  run: number;
  state: OutputState;
  jobId?: string;
  preview?: QueryPreview;
  summary?: QuerySummary;
  error?: AppError;
  /** Text of the cell when it ran, to show "edited since run". */
  ranText?: string;
}

export class NotebookRuns {
  outputs = $state<Record<string, CellOutput>>({});
  /** Bumped when the document is replaced: a "run all" started before stops. */
  private generation = 0;
  private runs = 0;

  constructor(
    private readonly client: Client,
    private readonly jobs: Jobs,
    private readonly doc: NotebookDocument,
    private readonly datasetId: () => string | null,
  ) {
    doc.listen({ replaced: () => this.clear(), removed: (id) => this.release(id) });
  }

  /** Runs one SQL cell: cost preview, confirmation when large, then the query job. */
  async run(id: string, opts: { confirmed?: boolean } = {}): Promise<void> {
    const cell = findCell(this.doc.nb, id);
    const datasetId = this.datasetId();
    if (!cell || cell.kind !== "sql" || !datasetId) return;
    const run = ++this.runs;
    // Still this run's output? Not when the cell ran again, was dismissed or deleted, or the document was replaced.
    const mine = () => this.outputs[id]?.run === run;
    const text = cell.text;
    let preview = opts.confirmed ? this.outputs[id]?.preview : undefined;
    this.release(id);
    this.setOutput(id, { run, state: "previewing", preview, ranText: text });
    if (!opts.confirmed) {
      const r = await this.client.query.preview({ datasetId, sql: text });
      if (!mine()) return;
      if (!r.ok) return this.setOutput(id, { run, state: "error", error: r.error, ranText: text });
      if (r.value.needsConfirmation) return this.setOutput(id, { run, state: "confirm", preview: r.value, ranText: text });
      preview = r.value;
      this.setOutput(id, { run, state: "previewing", preview, ranText: text });
    }
    const started = await this.client.query.start({ datasetId, sql: text, name: cell.name, confirmed: true });
    if (!started.ok) return mine() ? this.setOutput(id, { run, state: "error", error: started.error, ranText: text }) : undefined;
    const jobId = started.value.jobId;
    if (!mine()) return this.abandon(jobId);
    this.setOutput(id, { run, state: "running", jobId, preview, ranText: text });
    const final = await this.jobs.wait(jobId);
    const summary = final.state === "done" && final.kind === "query" ? final.result : undefined;
    if (!mine()) {
      if (summary) await this.client.query.release({ resultId: summary.resultId });
      return;
    }
    if (summary) this.setOutput(id, { run, state: "done", summary, preview, ranText: text });
    else this.setOutput(id, { run, state: final.state === "cancelled" ? "cancelled" : "error", error: final.error, preview, ranText: text });
  }

  async cancel(id: string): Promise<void> {
    const jobId = this.outputs[id]?.jobId;
    if (jobId) await this.jobs.cancel(jobId);
  }

  /** Drops a cell's output ("Not now" on a confirmation). */
  dismiss(id: string): void {
    this.release(id);
  }

  /** Runs the SQL cells in order, stopping at the first failure. `upTo` excludes that cell and those after it. */
  async runAll(upTo?: string): Promise<void> {
    const generation = this.generation;
    const nb = this.doc.nb;
    const end = upTo ? cellIndex(nb, upTo) : nb.cells.length;
    for (const cell of nb.cells.slice(0, end < 0 ? nb.cells.length : end)) {
      if (cell.kind !== "sql") continue;
      if (generation !== this.generation) return;
      await this.run(cell.id);
      if (this.outputs[cell.id]?.state !== "done") break;
    }
  }

  /** The result of the SQL cell named `name`, if it has run. */
  resultNamed(name: string): QuerySummary | null {
    const cell = this.doc.cellNamed(name);
    return (cell && this.outputs[cell.id]?.summary) || null;
  }

  /** Forgets every output: running queries are cancelled, results released in main. */
  clear(): void {
    this.generation++;
    for (const id of Object.keys(this.outputs)) this.release(id);
  }

  private setOutput(id: string, output: CellOutput): void {
    this.outputs = { ...this.outputs, [id]: output };
  }

  /** Drops a cell's output: frees its result in main, cancels its query if it is still running. */
  private release(id: string): void {
    const output = this.outputs[id];
    if (!output) return;
    if (output.summary) void this.client.query.release({ resultId: output.summary.resultId });
    // The run() waiting for this job releases its result when it sees the output gone.
    if (output.jobId && output.state === "running") void this.jobs.cancel(output.jobId);
    const { [id]: _gone, ...rest } = this.outputs;
    this.outputs = rest;
  }

  /** Cancels a job nobody will show, and releases its result should it finish first. */
  private async abandon(jobId: string): Promise<void> {
    await this.jobs.cancel(jobId);
    const final = await this.jobs.wait(jobId);
    const summary = final.state === "done" && final.kind === "query" ? final.result : undefined;
    if (summary) await this.client.query.release({ resultId: summary.resultId });
  }
}
