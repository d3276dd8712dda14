/** `slaf-workbench query DATASET "SQL"`: the app's SQL engine on the command line. */
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { formatBytes } from "../../shared/format";
import { MAX_PAGE_ROWS, type ExportFormat, type QuerySummary, type ScanReport } from "../../shared/ipc/contract";
import { AppFailure, type AppError, type Result } from "../../shared/result";
import { arrow } from "../services/arrow";
import { DatasetService } from "../services/datasets/service";
import { datasetArgument } from "../services/datasets/uri";
import { SourcesService } from "../services/sources/service";
import { JobService } from "../services/jobs/service";
import { checkExportTarget } from "../services/query/export";
import { QueryService } from "../services/query/service";
import { flagInt, flagString, parseArgs, UsageError } from "./args";
import { cliS3Access, cliSettings, cliSources } from "./cli-settings";

export const QUERY_USAGE =
  'slaf-workbench query DATASET|hf://datasets/OWNER/REPO[/PATH][@REV]|s3://BUCKET/PREFIX "SQL" [--format table|csv|json] [--limit N] [--out FILE.csv|FILE.parquet [--force]] [--allow-dir DIR]... [--offline]';

const FORMATS = ["table", "csv", "json"] as const;
type Format = (typeof FORMATS)[number];

export interface QueryIo {
  out(text: string): void;
}

function failWith(e: AppError): never {
  const at = e.position ? ` (line ${e.position.line}, column ${e.position.column})` : "";
  throw new AppFailure(e.code, `${e.message}${at}`, { position: e.position, detail: e.detail, path: e.path });
}

function unwrap<T>(r: Result<T>): T {
  if (!r.ok) failWith(r.error);
  return r.value;
}

function exportFormat(file: string): ExportFormat {
  const ext = path.extname(file).toLowerCase();
  if (ext === ".csv") return "csv";
  if (ext === ".parquet" || ext === ".pq") return "parquet";
  throw new UsageError(`--out ${file}: the file name must end in .csv or .parquet`);
}

export async function queryCommand(argv: string[], io: QueryIo = { out: (t) => void process.stdout.write(t) }): Promise<void> {
  const args = parseArgs(argv, ["force", "offline"]);
  const [dataset, sql, ...extra] = args.positionals;
  if (!dataset || sql === undefined || extra.length) throw new UsageError("query needs a DATASET and one SQL string (quote it)");
  const format = (flagString(args, "format") ?? "table") as Format;
  if (!FORMATS.includes(format)) throw new UsageError(`--format must be one of ${FORMATS.join(", ")}`);
  const limit = flagInt(args, "limit") ?? (format === "table" ? 100 : Infinity);
  const outFlag = args.flags.get("out");
  if (outFlag === true) throw new UsageError("--out needs a file name");
  const force = args.flags.get("force") === true;
  if (force && !outFlag) throw new UsageError("--force only applies to --out");
  const out = outFlag ? { path: path.resolve(outFlag), format: exportFormat(outFlag), overwrite: force } : null;
  const { settings, userDataDir } = await cliSettings(args);
  const allowedDirectories = settings.sql.allowedDirectories;
  // Refuse an existing file before running the query, not after.
  if (out) await checkExportTarget(out);

  const tempDir = await fs.mkdtemp(path.join(os.tmpdir(), "slafwb-query-"));
  const sources = new SourcesService({ ...cliSources(settings, userDataDir), offline: args.flags.get("offline") === true });
  const datasets = new DatasetService({ gateway: () => sources.gateway(), s3Access: () => cliS3Access(settings, userDataDir) });
  const jobs = new JobService(() => undefined);
  const query = new QueryService(datasets, jobs, { tempDir, allowedDirectories });
  try {
    const ds = await datasets.acquire(datasetArgument(dataset));
    const { jobId } = unwrap(await query.start({ datasetId: ds.summary.datasetId, sql, confirmed: true }));
    const event = unwrap(await jobs.wait({ jobId }));
    if (event.state !== "done" || !event.result) {
      failWith(event.error ?? { code: "INTERNAL", message: `The query ended ${event.state}` });
    }
    const summary = event.result as QuerySummary;
    if (out) {
      const written = unwrap(await query.export({ resultId: summary.resultId, ...out }));
      io.out(`Wrote ${summary.rowCount.toLocaleString("en-US")} rows to ${written.path} (${formatBytes(written.bytes)})\n`);
      return;
    }
    const names = summary.columns.map((c) => c.name);
    const rows: unknown[][] = [];
    const wanted = Math.min(limit, summary.rowCount);
    const emit = format === "table" ? (batch: unknown[][]) => void rows.push(...batch) : streamWriter(format, names, io);
    // Pages may hold fewer rows than asked (wide rows): continue from what came.
    for (let offset = 0; offset < wanted;) {
      const page = unwrap(await query.page({ resultId: summary.resultId, offset, limit: Math.min(MAX_PAGE_ROWS, wanted - offset) }));
      if (page.numRows === 0) break;
      emit(decodeRows(page.arrow));
      offset += page.numRows;
    }
    if (format === "table") io.out(renderTable(names, rows, summary));
    else if (format === "json") {
      if (wanted === 0) io.out("[]\n");
      else io.out("\n]\n");
    } else if (wanted === 0) io.out(csvLine(names));
  } finally {
    await query.dispose();
    await datasets.closeAll();
    await fs.rm(tempDir, { recursive: true, force: true });
  }
}

/** Rows of an Arrow IPC page as plain JS values. */
export function decodeRows(ipc: Uint8Array): unknown[][] {
  const table = arrow.tableFromIPC(ipc);
  const cols = table.schema.fields.map((_, i) => table.getChildAt(i)!);
  const out: unknown[][] = [];
  for (let r = 0; r < table.numRows; r++) out.push(cols.map((c) => plain(c.get(r))));
  return out;
}

function plain(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v === "bigint") return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (typeof v !== "object") return v;
  if (v instanceof Uint8Array) return Array.from(v);
  if (ArrayBuffer.isView(v)) return Array.from(v as unknown as ArrayLike<unknown>, plain);
  if (Array.isArray(v)) return v.map(plain);
  // Arrow list values (vectors) and struct rows.
  if (typeof (v as { toJSON?: unknown }).toJSON === "function") return plain((v as { toJSON(): unknown }).toJSON());
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
}

function text(v: unknown): string {
  if (v === null) return "NULL";
  if (typeof v === "string") return v;
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(10)));
  return JSON.stringify(v);
}

function csvField(v: unknown): string {
  if (v === null) return "";
  const s = typeof v === "string" ? v : typeof v === "number" ? String(v) : JSON.stringify(v);
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

function csvLine(values: unknown[]): string {
  return `${values.map(csvField).join(",")}\n`;
}

function streamWriter(format: "csv" | "json", names: string[], io: QueryIo): (rows: unknown[][]) => void {
  let first = true;
  return (rows) => {
    let chunk = "";
    for (const r of rows) {
      if (format === "csv") {
        if (first) chunk += csvLine(names);
        chunk += csvLine(r);
      } else {
        const obj: Record<string, unknown> = {};
        names.forEach((n, i) => (obj[n] = r[i]));
        chunk += `${first ? "[\n" : ",\n"}${JSON.stringify(obj)}`;
      }
      first = false;
    }
    io.out(chunk);
  };
}

function renderTable(names: string[], rows: unknown[][], summary: QuerySummary): string {
  const cells = [names, ...rows.map((r) => r.map(text))];
  const widths = names.map((_, i) => Math.min(60, Math.max(...cells.map((r) => r[i].length))));
  const fmt = (r: string[]) =>
    r
      .map((c, i) => (c.length > widths[i] ? `${c.slice(0, widths[i] - 1)}…` : c.padEnd(widths[i])))
      .join("  ")
      .trimEnd();
  const lines = [fmt(names), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map((r) => fmt(r.map(text)))];
  const shown = rows.length < summary.rowCount ? `, showing ${rows.length}` : "";
  const scans = summary.scans
    .map((s) => `${s.table} ${s.rowsScanned.toLocaleString("en-US")}/${s.tableRows.toLocaleString("en-US")} rows${scanExtras(s)}`)
    .join(", ");
  lines.push("", `${summary.rowCount.toLocaleString("en-US")} rows${shown} in ${Math.round(summary.elapsedMs)} ms${scans ? `; scanned ${scans}` : ""}`);
  return `${lines.join("\n")}\n`;
}

/** What the engine did beyond the pushed filter: rows it kept after the id filter, early aggregation, warm columns, streaming. */
function scanExtras(s: ScanReport): string {
  const extras: string[] = [];
  if (s.rowsAppended !== undefined && s.rowsAppended !== s.rowsScanned)
    extras.push(`${s.rowsAppended.toLocaleString("en-US")} ${s.streamed ? "streamed" : "appended"}`);
  else if (s.streamed) extras.push("streamed");
  if (s.aggregated) extras.push("pre-aggregated");
  if (s.warm) extras.push("warm");
  return extras.length ? ` (${extras.join(", ")})` : "";
}
