/**
 * Reading a remote SLAF dataset through the gateway vs Lance straight to the source (issue 9, "Benchmark"): a
 * resampled PBMC dataset (> 10M expression rows) on a fake Hub and on a local S3 (radosgw), each behind the
 * shaping proxy with the notes' profile (remote-sources.ts). Each way of reading runs in its own process (LanceDB
 * reads HF_ENDPOINT once per process): local disk, Lance direct, and the gateway (the app's own path: sources and
 * datasets services). Cold scans alternate between Lance direct and the gateway, each gateway run with an empty
 * cache; the best of each is compared.
 *
 * Goals: cold ≥ 0.9× Lance direct, warm (gateway cache) ≥ 0.8× local disk, Hub resolver requests of one cold
 * open + full scan ≤ 1/10 of Lance direct's, and a repeated query sends 0 upstream requests.
 * SLAFWB_BENCH_GATEWAY_OPTIONS (JSON of GatewayOptions, e.g. '{"blockBytes":4194304}') tries other gateway settings;
 * SLAFWB_BENCH_REMOTE_SOURCES ("hub", "s3" or "hub,s3", the default), SLAFWB_BENCH_REMOTE_COLD_RUNS and _WARM_RUNS (default 3)
 * narrow a run while tuning one source; SLAFWB_BENCH_GATEWAY_WORKER=1 runs the gateway in a worker thread of the runner
 * (remote-gateway-worker.ts, an experiment, not the app's path); SLAFWB_BENCH_REMOTE_RECOLD=1 adds, to each gateway
 * run, a scan after its cache folder was emptied (cold data, code the process already ran). Runner diagnostics:
 * remote-runner.ts, remote-runners.ts.
 */
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { RunnerRequest } from "./remote-protocol";
import { ensureRemoteDataset, type BenchDataset } from "./remote-dataset";
import { report, type Phase, type Session, type SourceRuns } from "./remote-report";
import { Runner } from "./remote-runners";
import { startHubSource, startS3Source, type RemoteSource } from "./remote-sources";

const COLD_RUNS = Number(process.env.SLAFWB_BENCH_REMOTE_COLD_RUNS || 3);
const SOURCES = new Set((process.env.SLAFWB_BENCH_REMOTE_SOURCES || "hub,s3").split(",").map((s) => s.trim().toLowerCase()));
const WARM_RUNS = Number(process.env.SLAFWB_BENCH_REMOTE_WARM_RUNS || 3);

/** Runs one process: open, a cold scan, then `repeats` more scans; each phase with what reached the source. */
async function session(data: BenchDataset, source: RemoteSource | null, env: Record<string, string>, open: RunnerRequest, repeats: number): Promise<Session> {
  const runner = Runner.start(env);
  const phase = async (req: RunnerRequest): Promise<Phase> => {
    const mark = source?.log().length ?? 0;
    const down = source?.proxies.reduce((n, p) => n + p.stats.bytesDown, 0) ?? 0;
    const result = await runner.send(req);
    if (req.cmd === "scan" && result.rows !== data.expressionRows) throw new Error(`scan returned ${result.rows} rows, the table has ${data.expressionRows}`);
    const upstream: Record<string, number> = Object.fromEntries((source?.kinds ?? []).map((k) => [k, 0]));
    for (const kind of source?.log().slice(mark) ?? []) upstream[kind]++;
    const bytesDown = (source?.proxies.reduce((n, p) => n + p.stats.bytesDown, 0) ?? 0) - down;
    return { ...result, upstream, bytesDown };
  };
  try {
    const opened = await phase(open);
    const cold = await phase({ cmd: "scan", table: "expression" });
    const again: Phase[] = [];
    for (let i = 0; i < repeats; i++) again.push(await phase({ cmd: "scan", table: "expression" }));
    if (!process.env.SLAFWB_BENCH_REMOTE_RECOLD || open.cmd !== "open" || open.mode !== "gateway" || repeats === 0) return { open: opened, cold, again };
    const recold = await phase({ cmd: "scan", table: "expression", emptyCache: open.cacheDir });
    return { open: opened, cold, again, recold };
  } finally {
    await runner.stop();
  }
}

async function measure(data: BenchDataset, source: RemoteSource, work: string): Promise<SourceRuns> {
  console.log(`${source.name}: ${source.profile}`);
  const runs: SourceRuns = { source, direct: [], gateway: [], reopened: [] };
  for (let i = 0; i < COLD_RUNS; i++) {
    runs.direct.push(await session(data, source, source.direct.env, source.direct.open, 1));
    const cacheDir = path.join(work, `cache-${source.name}-${i}`);
    runs.gateway.push(await session(data, source, {}, source.gatewayOpen(cacheDir), WARM_RUNS));
    runs.reopened.push(await session(data, source, {}, source.gatewayOpen(cacheDir), 0));
    await fs.rm(cacheDir, { recursive: true, force: true });
  }
  return runs;
}

export async function run(): Promise<void> {
  if (!Number.isInteger(WARM_RUNS) || WARM_RUNS < 1)
    throw new Error(`SLAFWB_BENCH_REMOTE_WARM_RUNS must be a whole number ≥ 1, not ${process.env.SLAFWB_BENCH_REMOTE_WARM_RUNS}`);
  if (!Number.isInteger(COLD_RUNS) || COLD_RUNS < 1)
    throw new Error(`SLAFWB_BENCH_REMOTE_COLD_RUNS must be a whole number ≥ 1, not ${process.env.SLAFWB_BENCH_REMOTE_COLD_RUNS}`);
  const unknown = [...SOURCES].filter((s) => s !== "hub" && s !== "s3");
  if (unknown.length || SOURCES.size === 0) throw new Error(`SLAFWB_BENCH_REMOTE_SOURCES lists hub and/or s3, not ${unknown.join(", ")}`);
  const data = await ensureRemoteDataset();
  if (data.expressionRows < 10_000_000) throw new Error(`${data.root} has ${data.expressionRows} expression rows; the benchmark needs at least 10M`);
  const work = await fs.mkdtemp(path.join(os.tmpdir(), "slafwb-bench-remote-"));
  try {
    if (process.env.SLAFWB_BENCH_GATEWAY_OPTIONS) console.log(`Gateway options: ${process.env.SLAFWB_BENCH_GATEWAY_OPTIONS}`);
    console.log(
      `${data.expressionRows.toLocaleString("en-US")} expression rows in ${data.expressionDataFiles} data files, ${(data.expressionDataBytes / 2 ** 20).toFixed(1)} MiB`,
    );
    const local = await session(data, null, {}, { cmd: "open", mode: "local", uri: data.root }, WARM_RUNS);
    const results: SourceRuns[] = [];
    const skipped: string[] = [];
    if (SOURCES.has("hub")) {
      const hub = await startHubSource(data);
      try {
        results.push(await measure(data, hub, work));
      } finally {
        await hub.close();
      }
    }
    const s3 = SOURCES.has("s3") ? await startS3Source(data, path.join(work, "rgw")) : null;
    if (typeof s3 === "string") skipped.push(`S3: not measured, ${s3}`);
    else if (s3)
      try {
        results.push(await measure(data, s3, work));
      } finally {
        await s3.close();
      }
    report(data, local, results, { coldRuns: COLD_RUNS, warmRuns: WARM_RUNS });
    for (const line of skipped) console.log(line);
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
}
