/**
 * A runner process of `bench remote` (dist-bench/remote-runner.mjs, forked with an IPC channel): opens one SLAF
 * dataset one way and scans its tables on command. One process per way, because LanceDB reads HF_ENDPOINT once
 * per process: "direct" reads the Hub (HF_ENDPOINT names it) or S3 (endpoint in the storage options) itself;
 * "gateway" starts the app's gateway, which points HF_ENDPOINT and the S3 endpoint at itself, as the app does.
 */
import type * as lancedb from "@lancedb/lancedb";
import { SCAN_BATCH_ROWS, type arrow } from "../../main/services/arrow";
import { describeTable, openLanceTable } from "../../main/services/datasets/lance-table";
import { DatasetService } from "../../main/services/datasets/service";
import { tablePath } from "../../main/services/datasets/uri";
import type { Gateway, GatewayOptions } from "../../main/services/gateway/index";
import { SourcesService } from "../../main/services/sources/service";
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

async function open(req: Extract<RunnerRequest, { cmd: "open" }>): Promise<number> {
  if (req.mode === "direct") {
    for (const [name, rel] of Object.entries(req.tables)) {
      const full = tablePath(req.uri, rel);
      if (!full) throw new Error(`bad table ${name} = ${rel}`);
      const { db, table } = await openLanceTable(full, req.storageOptions);
      await describeTable(name, rel, table); // what the app's open does for every table
      tables.set(name, table);
      closers.push(
        () => table.close(),
        () => db.close(),
      );
    }
    return tables.size;
  }
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

async function handle(req: RunnerRequest): Promise<RunnerResult> {
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const done = (rows: number): RunnerResult => {
    const cpu = process.cpuUsage(cpu0);
    return { ms: performance.now() - t0, cpuMs: (cpu.user + cpu.system) / 1000, rows, gatewayRequests: gatewayRequests() };
  };
  if (req.cmd === "open") return done(await open(req));
  if (req.cmd === "scan") return done(await scan(req.table));
  for (const close of closers) await close();
  process.exit(0);
}

process.on("message", (req: RunnerRequest) => {
  handle(req).then(
    (value) => process.send?.({ ok: true, value } satisfies RunnerReply),
    (e: unknown) => process.send?.({ ok: false, error: e instanceof Error ? e.message : String(e) } satisfies RunnerReply),
  );
});
process.on("disconnect", () => process.exit(0));
