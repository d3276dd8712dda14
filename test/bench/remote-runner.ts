/**
 * A runner process of `bench remote` (dist-bench/remote-runner.mjs, forked with an IPC channel): opens one SLAF
 * dataset one way and scans its tables on command. One process per way, because LanceDB reads HF_ENDPOINT once
 * per process: "direct" reads the Hub (HF_ENDPOINT names it) or S3 (endpoint in the storage options) itself;
 * "gateway" starts the app's gateway, which points HF_ENDPOINT and the S3 endpoint at itself, as the app does.
 */
import fs from "node:fs/promises";
import { Session } from "node:inspector/promises";
import path from "node:path";
import type * as lancedb from "@lancedb/lancedb";
import { SCAN_BATCH_ROWS, type arrow } from "../../main/services/arrow";
import { describeTable, openLanceTable } from "../../main/services/datasets/lance-table";
import { DatasetService } from "../../main/services/datasets/service";
import { tablePath } from "../../main/services/datasets/uri";
import type { Gateway, GatewayOptions } from "../../main/services/gateway/index";
import { SourcesService } from "../../main/services/sources/service";
import { GatewayWorker, isGatewayWorker, serveGatewayWorker } from "./remote-gateway-worker";
import type { RunnerReply, RunnerRequest, RunnerResult } from "./remote-protocol";

type RecordBatch = InstanceType<typeof arrow.RecordBatch>;

const tables = new Map<string, lancedb.Table>();
const closers: (() => unknown)[] = [];
let gateway: Gateway | null = null;

/** Gateway options to try instead of the app's defaults, e.g. SLAFWB_BENCH_GATEWAY_OPTIONS='{"blockBytes":4194304}'. */
function gatewayTuning(): Partial<GatewayOptions> {
  return JSON.parse(process.env.SLAFWB_BENCH_GATEWAY_OPTIONS || "{}") as Partial<GatewayOptions>;
}

function gatewayRequests(): Record<string, number> | null {
  if (!gateway) return null;
  const out: Record<string, number> = {};
  for (const [source, counters] of Object.entries(gateway.counters()))
    for (const [kind, n] of Object.entries(counters.requests as Record<string, number>)) out[`${source}.${kind}`] = n;
  return out;
}

/** Each table of `names` (name → path in the dataset), opened as the app's open does, with these storage options. */
async function openTables(uri: string, names: Record<string, string>, storageOptions: Record<string, string>): Promise<number> {
  for (const [name, rel] of Object.entries(names)) {
    const full = tablePath(uri, rel);
    if (!full) throw new Error(`bad table ${name} = ${rel}`);
    const { db, table } = await openLanceTable(full, storageOptions);
    await describeTable(name, rel, table); // what the app's open does for every table
    tables.set(name, table);
    closers.push(
      () => table.close(),
      () => db.close(),
    );
  }
  return tables.size;
}

/** SLAFWB_BENCH_GATEWAY_WORKER=1: the gateway in a worker thread (remote-gateway-worker.ts), the tables opened here. */
async function openThroughWorker(req: Extract<RunnerRequest, { mode: "gateway" }>): Promise<number> {
  const worker = await GatewayWorker.start(import.meta.url, { ...gatewayTuning(), cacheDir: req.cacheDir, hubEndpoint: req.hubEndpoint });
  Object.assign(process.env, worker.lanceEnv); // before Lance's first connect: HF_ENDPOINT names the worker's gateway
  const pinned = req.s3Access ? await worker.pinS3(req.uri, req.s3Access) : await worker.pin(req.uri);
  const opened = await openTables(pinned.uri, req.tables, pinned.storageOptions as Record<string, string>);
  closers.push(() => worker.close()); // after the tables
  return opened;
}

async function open(req: Extract<RunnerRequest, { cmd: "open" }>): Promise<number> {
  if (req.mode === "gateway" && process.env.SLAFWB_BENCH_GATEWAY_WORKER) return openThroughWorker(req);
  if (req.mode === "direct") return openTables(req.uri, req.tables, req.storageOptions);
  let datasets: DatasetService;
  if (req.mode === "gateway") {
    const sources = new SourcesService({ cacheDir: req.cacheDir, hubEndpoint: req.hubEndpoint, gateway: gatewayTuning() });
    datasets = new DatasetService({ gateway: () => sources.gateway(), s3Access: async () => req.s3Access ?? {} });
    gateway = await sources.gateway();
    closers.push(() => gateway?.close());
  } else {
    datasets = new DatasetService();
  }
  const ds = await datasets.acquire(req.uri);
  for (const [name, table] of ds.tables) tables.set(name, table);
  closers.unshift(() => datasets.closeAll());
  return tables.size;
}

/** Every column of the table, in the large batches the query engine asks for. */
async function scan(name: string): Promise<number> {
  const table = tables.get(name);
  if (!table) throw new Error(`no table ${name}`);
  const columns = (await table.schema()).fields.map((f) => f.name);
  const query = table.query().select(columns) as unknown as { execute(o: { maxBatchLength: number }): AsyncIterable<RecordBatch> };
  let rows = 0;
  for await (const batch of query.execute({ maxBatchLength: SCAN_BATCH_ROWS })) rows += batch.numRows;
  return rows;
}

/** SLAFWB_BENCH_RUNNER_PROFILE_DIR: each open and scan is profiled into <dir>/<pid>-<n>-<cmd>.cpuprofile. */
const PROFILE_DIR = process.env.SLAFWB_BENCH_RUNNER_PROFILE_DIR;
let profiled = 0;

async function profiling<T>(name: string, work: () => Promise<T>): Promise<T> {
  if (!PROFILE_DIR) return work();
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.start");
  try {
    return await work();
  } finally {
    const { profile } = await session.post("Profiler.stop");
    session.disconnect();
    await fs.mkdir(PROFILE_DIR, { recursive: true });
    await fs.writeFile(path.join(PROFILE_DIR, `${process.pid}-${++profiled}-${name}.cpuprofile`), JSON.stringify(profile));
  }
}

/** CPU ms (user + system) of this process's threads by thread name, the main thread apart; empty where there is no /proc. */
async function threadCpu(): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const tick = 10; // ms per clock tick (USER_HZ 100)
  const ids = await fs.readdir("/proc/self/task").catch(() => [] as string[]);
  for (const id of ids) {
    const stat = await fs.readFile(`/proc/self/task/${id}/stat`, "utf8").catch(() => "");
    const close = stat.lastIndexOf(")");
    if (close < 0) continue;
    const name = `${stat.slice(stat.indexOf("(") + 1, close)}${id === String(process.pid) ? " (main)" : ""}`;
    const fields = stat.slice(close + 2).split(" ");
    out.set(name, (out.get(name) ?? 0) + (Number(fields[11]) + Number(fields[12])) * tick);
  }
  return out;
}

/** SLAFWB_BENCH_RUNNER_THREADS=1: each open and scan prints its CPU by thread name. */
async function byThread<T>(name: string, work: () => Promise<T>): Promise<T> {
  if (!process.env.SLAFWB_BENCH_RUNNER_THREADS) return work();
  const before = await threadCpu();
  const from = process.hrtime.bigint();
  const result = await work();
  const to = process.hrtime.bigint();
  const after = await threadCpu();
  const spent = [...after].map(([k, v]) => [k, v - (before.get(k) ?? 0)] as const).filter(([, v]) => v > 0);
  // The monotonic clock's seconds, to find the phase in a trace (e.g. perf record -k CLOCK_MONOTONIC).
  const at = `${(Number(from) / 1e9).toFixed(3)}-${(Number(to) / 1e9).toFixed(3)} s`;
  console.error(`runner ${process.pid} ${name} (${at}): CPU ms by thread ${spent.map(([k, v]) => `${k} ${v}`).join(", ")}`);
  return result;
}

async function handle(req: RunnerRequest): Promise<RunnerResult> {
  if (req.cmd !== "exit") return byThread(req.cmd, () => profiling(req.cmd, () => measured(req)));
  for (const close of closers) await close();
  process.exit(0);
}

async function measured(req: Exclude<RunnerRequest, { cmd: "exit" }>): Promise<RunnerResult> {
  if (req.cmd === "scan" && req.emptyCache) for (const kind of ["hf", "s3"]) await fs.rm(path.join(req.emptyCache, kind), { recursive: true, force: true });
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const done = (rows: number): RunnerResult => {
    const cpu = process.cpuUsage(cpu0);
    return { ms: performance.now() - t0, cpuMs: (cpu.user + cpu.system) / 1000, rows, gatewayRequests: gatewayRequests() };
  };
  if (req.cmd === "open") return done(await open(req));
  return done(await scan(req.table));
}

if (isGatewayWorker()) await serveGatewayWorker();
else listen();

function listen(): void {
  process.on("message", (req: RunnerRequest) => {
    handle(req).then(
      (value) => process.send?.({ ok: true, value } satisfies RunnerReply),
      (e: unknown) => process.send?.({ ok: false, error: e instanceof Error ? e.message : String(e) } satisfies RunnerReply),
    );
  });
  process.on("disconnect", () => process.exit(0));
}
