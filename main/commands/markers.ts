/**
 * `slaf-workbench markers DATASET --groupby COLUMN --group VALUE`: the app's marker genes (the services container's
 * `markers` service, the same job the Markers view runs), printed as the issue's JSON document or as tables.
 */
import type { JobEvent, JobProgress } from "../../shared/ipc/contract";
import type { MarkersApi, MarkersRun } from "../../shared/ipc/types/markers";
import { MARKERS_MAX_PAGE } from "../../shared/ipc/types/markers";
import { AppFailure, type AppError, type Result } from "../../shared/result";
import { datasetArgument } from "../services/datasets/uri";
import { createServices } from "../services/index";
import { parseArgs } from "./args";
import { cliSettings } from "./cli-settings";
import { MARKERS_USAGE, parseMarkersArgs, type MarkersArgs } from "./markers-args";
import { markersJson, markersTable, type MarkersRows } from "./markers-table";
import { APP_VERSION } from "./version";

export { MARKERS_USAGE };

export interface MarkersIo {
  out(text: string): void;
  /** Progress while the pass runs (a terminal only). */
  progress?(text: string): void;
}

const stdio: MarkersIo = {
  out: (t) => void process.stdout.write(t),
  progress: process.stderr.isTTY ? (t) => void process.stderr.write(t) : undefined,
};

function unwrap<T>(r: Result<T>): T {
  if (!r.ok) throw failure(r.error);
  return r.value;
}

function failure({ code, message, ...extra }: AppError): AppFailure {
  return new AppFailure(code, message, extra);
}

function progressLine(p: JobProgress): string {
  const done = p.done.toLocaleString("en-US");
  const count = p.total ? `${done} / ${p.total.toLocaleString("en-US")} ${p.unit} (${Math.floor((p.done / p.total) * 100)}%)` : `${done} ${p.unit}`;
  return `\r\x1b[K${p.message ? `${p.message}: ` : ""}${count}`;
}

/** Every gene of one comparison passing the filter, or the first `top`, page by page. */
async function readRows(markers: MarkersApi, run: MarkersRun, a: MarkersArgs, group: string | null | undefined): Promise<MarkersRows> {
  const rows: MarkersRows["genes"] = [];
  for (;;) {
    const wanted = a.top === null ? MARKERS_MAX_PAGE : Math.min(MARKERS_MAX_PAGE, a.top - rows.length);
    const page = unwrap(
      await markers.table({ markersId: run.markersId, ...(group !== undefined ? { group } : {}), filter: a.filter, offset: rows.length, limit: wanted }),
    );
    rows.push(...page.rows);
    const enough = a.top !== null && rows.length >= a.top;
    if (enough || page.rows.length === 0 || rows.length >= page.total) return { group: page.group, total: page.total, genes: rows };
  }
}

export async function markersCommand(argv: string[], io: MarkersIo = stdio): Promise<void> {
  if (argv.includes("--help") || argv.includes("-h")) {
    io.out(`Usage: ${MARKERS_USAGE}\n`);
    return;
  }
  const a = parseMarkersArgs(argv);
  const { settings, userDataDir } = await cliSettings(parseArgs([]));
  let jobId: string | null = null;
  let progressShown = false;
  // Only this command's jobs run in this process: the markers job and the per-cell totals pass it may start.
  const services = createServices({
    settings,
    sources: { offline: a.offline },
    info: { version: APP_VERSION, mode: "browser", initialDatasetUri: null, openDemoAtStart: false, userDataDir, platform: process.platform },
    emit: (name, payload) => {
      const e = payload as JobEvent;
      if (name !== "job" || !io.progress || e.state !== "running") return;
      io.progress(progressLine(e.progress));
      progressShown = true;
    },
  });
  const markers = services.api.markers;
  // Before the job starts there is nothing to cancel: end as an interrupted command does.
  const onSigint = () => (jobId ? void services.jobs.cancel({ jobId }) : process.exit(130));
  process.once("SIGINT", onSigint);
  try {
    const ds = await services.datasets.acquire(datasetArgument(a.dataset));
    jobId = unwrap(await markers.start({ datasetId: ds.summary.datasetId, comparison: a.comparison, normalization: a.normalization })).jobId;
    const event = unwrap(await services.jobs.wait({ jobId }));
    if (progressShown) io.progress?.("\r\x1b[K");
    if (event.state !== "done" || event.kind !== "markers" || event.result?.task !== "rank") {
      throw failure(event.error ?? { code: "INTERNAL", message: `The marker gene computation ended ${event.state}` });
    }
    const run = event.result;
    const rows: MarkersRows[] = [];
    // One comparison for --group; every group of the run, in its order, for --all.
    if (run.comparison.kind === "all") for (const g of run.groups) rows.push(await readRows(markers, run, a, g.group));
    else rows.push(await readRows(markers, run, a, undefined));
    io.out(a.format === "json" ? markersJson(run, rows) : markersTable(ds.summary.name, run, rows));
    await markers.release({ id: run.markersId });
  } finally {
    process.off("SIGINT", onSigint);
    await services.dispose();
  }
}
