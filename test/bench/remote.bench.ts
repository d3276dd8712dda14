/**
 * Reading a remote SLAF dataset through the gateway vs Lance straight to the Hub (issue 9, "Benchmark"). A fake
 * Hub on loopback serves a resampled PBMC dataset (> 10M expression rows) behind the shaping proxy with the
 * notes' "HF Hub" profile: 40 ms RTT, 400 Mbit/s per connection, a 2 Gbit/s link shared by the Hub and its CDN,
 * and a 302 to the CDN on every resolve. Each way of reading runs in its own process (LanceDB reads HF_ENDPOINT
 * once per process): local disk, Lance direct (HF_ENDPOINT = the Hub), and the gateway (the app's own path:
 * sources + datasets services, HF_ENDPOINT = the gateway, upstream = the Hub). Cold scans alternate between
 * Lance direct and the gateway, each gateway run with an empty cache; the best of each is compared.
 *
 * Goals: cold ≥ 0.9× Lance direct, warm (gateway cache) ≥ 0.8× local disk, Hub resolver requests of one cold
 * open + full scan ≤ 1/10 of Lance direct's, and a repeated query sends 0 upstream requests.
 * SLAFWB_BENCH_GATEWAY_OPTIONS (JSON of GatewayOptions, e.g. '{"blockBytes":4194304}') tries other gateway settings.
 */
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { startFakeHub, type FakeHub, type RequestKind } from "../fixtures/fake-hub";
import type { RunnerRequest, RunnerResult } from "./remote-protocol";
import { DATASET_NAME, ensureRemoteDataset, type BenchDataset } from "./remote-dataset";
import { Runner } from "./remote-runners";
import { Link, startShapingProxy, type ShapingProfile, type ShapingProxy } from "./shaping-proxy";
import { table } from "./util";

const HUB_PROFILE: ShapingProfile = { rttMs: 40, connMbps: 400 };
const HUB_LINK_MBPS = 2000;
const COLD_RUNS = 3;
const WARM_RUNS = 3;
const REPO = "bench/remote";
const KINDS: RequestKind[] = ["repo-info", "tree", "paths-info", "resolve", "cdn", "other"];

interface Phase extends RunnerResult {
  /** Requests the Hub and its CDN saw during the phase, by kind. */
  upstream: Record<RequestKind, number>;
  /** Bytes that crossed the shaped link towards the reader. */
  bytesDown: number;
}

interface Session {
  open: Phase;
  cold: Phase;
  /** The same scan again in the same process. */
  again: Phase[];
}

class Bench {
  constructor(
    readonly hub: FakeHub,
    readonly proxies: ShapingProxy[],
    readonly data: BenchDataset,
    readonly uri: string,
    readonly sha: string,
  ) {}

  private downBytes(): number {
    return this.proxies.reduce((n, p) => n + p.stats.bytesDown, 0);
  }

  async phase(runner: Runner, req: RunnerRequest): Promise<Phase> {
    const mark = this.hub.log.length;
    const down = this.downBytes();
    const result = await runner.send(req);
    if (req.cmd === "scan" && result.rows !== this.data.expressionRows)
      throw new Error(`scan returned ${result.rows} rows, the table has ${this.data.expressionRows}`);
    const upstream = Object.fromEntries(KINDS.map((k) => [k, 0])) as Record<RequestKind, number>;
    for (const r of this.hub.log.slice(mark)) upstream[r.kind]++;
    return { ...result, upstream, bytesDown: this.downBytes() - down };
  }

  async session(env: Record<string, string>, open: RunnerRequest, repeats: number): Promise<Session> {
    const runner = Runner.start(env);
    try {
      const opened = await this.phase(runner, open);
      const cold = await this.phase(runner, { cmd: "scan", table: "expression" });
      const again: Phase[] = [];
      for (let i = 0; i < repeats; i++) again.push(await this.phase(runner, { cmd: "scan", table: "expression" }));
      return { open: opened, cold, again };
    } finally {
      await runner.stop();
    }
  }
}

const best = (phases: Phase[]): Phase => phases.reduce((a, b) => (b.ms < a.ms ? b : a));
const total = (p: Phase): number => KINDS.reduce((n, k) => n + p.upstream[k], 0);
const mib = (bytes: number): number => bytes / 2 ** 20;

export async function run(): Promise<void> {
  const data = await ensureRemoteDataset();
  if (data.expressionRows < 10_000_000) throw new Error(`${data.root} has ${data.expressionRows} expression rows; the benchmark needs at least 10M`);
  const work = await fs.mkdtemp(path.join(os.tmpdir(), "slafwb-bench-remote-"));
  const link = new Link(HUB_LINK_MBPS);
  let hub: FakeHub | null = null;
  const target = (url: string) => ({ host: "127.0.0.1", port: Number(new URL(url).port) });
  const hubProxy = await startShapingProxy(() => target(hub!.url), HUB_PROFILE, link);
  const cdnProxy = await startShapingProxy(() => target(hub!.cdnUrl), HUB_PROFILE, link);
  try {
    hub = await startFakeHub({ cdnOrigin: cdnProxy.url });
    await fs.cp(data.root, path.join(await hub.createRepo(REPO), DATASET_NAME), { recursive: true });
    const sha = await hub.commit(REPO);
    const bench = new Bench(hub, [hubProxy, cdnProxy], data, `hf://datasets/${REPO}/${DATASET_NAME}`, sha);
    if (process.env.SLAFWB_BENCH_GATEWAY_OPTIONS) console.log(`Gateway options: ${process.env.SLAFWB_BENCH_GATEWAY_OPTIONS}`);
    console.log(
      `${data.expressionRows.toLocaleString("en-US")} expression rows, ${mib(data.expressionDataBytes).toFixed(1)} MiB of data files; ` +
        `Hub and CDN behind ${HUB_PROFILE.rttMs} ms RTT, ${HUB_PROFILE.connMbps} Mbit/s per connection, ${HUB_LINK_MBPS} Mbit/s link, 302 per resolve`,
    );

    const local = await bench.session({}, { cmd: "open", mode: "local", uri: data.root }, WARM_RUNS);
    const direct: Session[] = [];
    const gateway: Session[] = [];
    const reopened: Session[] = [];
    for (let i = 0; i < COLD_RUNS; i++) {
      direct.push(await bench.session({ HF_ENDPOINT: hubProxy.url }, { cmd: "open", mode: "direct", uri: bench.uri, sha, tables: data.tables }, 1));
      const cacheDir = path.join(work, `cache-${i}`);
      const viaGateway: RunnerRequest = { cmd: "open", mode: "gateway", uri: bench.uri, cacheDir, hubEndpoint: hubProxy.url };
      gateway.push(await bench.session({}, viaGateway, WARM_RUNS));
      reopened.push(await bench.session({}, viaGateway, 0));
      await fs.rm(cacheDir, { recursive: true, force: true });
    }
    report(data, local, direct, gateway, reopened);
  } finally {
    await hub?.close();
    await hubProxy.close();
    await cdnProxy.close();
    await fs.rm(work, { recursive: true, force: true });
  }
}

function report(data: BenchDataset, local: Session, direct: Session[], gateway: Session[], reopened: Session[]): void {
  const rate = (p: Phase) => [mib(data.expressionDataBytes) / (p.ms / 1000), data.expressionRows / 1e6 / (p.ms / 1000)];
  const localWarm = best([local.cold, ...local.again]);
  const directCold = best(direct.map((s) => s.cold));
  const gatewayCold = best(gateway.map((s) => s.cold));
  const gatewayWarm = best(gateway.flatMap((s) => s.again));
  const reopenedWarm = best(reopened.map((s) => s.cold));
  const [localMiB] = rate(localWarm);
  const [directMiB] = rate(directCold);
  const [coldMiB] = rate(gatewayCold);
  const [warmMiB] = rate(gatewayWarm);

  console.log(
    `\nFull scan of expression (all columns), best of ${COLD_RUNS} cold runs (a new process and, for the gateway, an empty cache each) / ${WARM_RUNS} warm scans:`,
  );
  table(
    ["path", "open ms", "scan ms", "reader CPU ms", "MiB/s", "Mrows/s", "ratio", "vs"],
    [
      ["local disk, first scan in a new process", local.open.ms, local.cold.ms, local.cold.cpuMs, ...rate(local.cold), 1, ""],
      ["local disk, best", "", localWarm.ms, localWarm.cpuMs, ...rate(localWarm), 1, ""],
      ["Lance direct → Hub, cold", best(direct.map((s) => s.open)).ms, directCold.ms, directCold.cpuMs, ...rate(directCold), 1, ""],
      [
        "gateway → Hub, cold",
        best(gateway.map((s) => s.open)).ms,
        gatewayCold.ms,
        gatewayCold.cpuMs,
        ...rate(gatewayCold),
        coldMiB / directMiB,
        "Lance direct",
      ],
      ["gateway, warm cache", "", gatewayWarm.ms, gatewayWarm.cpuMs, ...rate(gatewayWarm), warmMiB / localMiB, "local disk"],
      [
        "gateway, warm cache, new process",
        best(reopened.map((s) => s.open)).ms,
        reopenedWarm.ms,
        reopenedWarm.cpuMs,
        ...rate(reopenedWarm),
        rate(reopenedWarm)[0] / rate(local.cold)[0],
        "local, new process",
      ],
    ],
  );

  const [d, g] = [direct[0], gateway[0]];
  const row = (name: string, p: Phase) => [name, ...KINDS.map((k) => p.upstream[k]), total(p), mib(p.bytesDown)];
  console.log("\nRequests the Hub and its CDN received (first run of each):");
  table(
    ["path, phase", ...KINDS, "total", "MiB down"],
    [
      row("Lance direct: open", d.open),
      row("Lance direct: cold full scan", d.cold),
      row("Lance direct: same scan again", d.again[0]),
      row("gateway: open", g.open),
      row("gateway: cold full scan", g.cold),
      ...g.again.map((p, i) => row(`gateway: same scan again (${i + 1})`, p)),
      row("gateway, new process, warm cache: open", reopened[0].open),
      row("gateway, new process, warm cache: scan", reopened[0].cold),
    ],
  );

  const resolves = (s: Session) => s.open.upstream.resolve + s.cold.upstream.resolve;
  const repeated = [...gateway.flatMap((s) => s.again), ...reopened.map((s) => s.cold)].reduce((n, p) => n + total(p), 0);
  const resolverRatio = resolves(g) / resolves(d);
  console.log("\nGoals (issue 9):");
  table(
    ["goal", "measured", "target", "met"],
    [
      ["cold throughput, gateway / Lance direct", coldMiB / directMiB, "≥ 0.9", coldMiB / directMiB >= 0.9 ? "yes" : "NO"],
      ["warm throughput, gateway cache / local disk", warmMiB / localMiB, "≥ 0.8", warmMiB / localMiB >= 0.8 ? "yes" : "NO"],
      [`Hub resolver requests, cold open + scan (${resolves(g)} vs ${resolves(d)})`, resolverRatio, "≤ 0.10", resolverRatio <= 0.1 ? "yes" : "NO"],
      [`upstream requests, ${gateway.length * (WARM_RUNS + 1)} repeated scans through the gateway`, repeated, "= 0", repeated === 0 ? "yes" : "NO"],
    ],
  );
  const counted = Object.values(g.cold.gatewayRequests ?? {}).reduce((n, v) => n + v, 0);
  console.log(
    `The gateway's own upstream counters after its first cold scan: ${JSON.stringify(g.cold.gatewayRequests)} = ${counted} requests ` +
      `(${counted === total(g.open) + total(g.cold) ? "the same as" : "NOT the same as"} the Hub's log).`,
  );
  console.log(
    `The expression table has ${data.expressionDataFiles} data files: Lance direct sent ${(d.cold.upstream.resolve / data.expressionDataFiles).toFixed(1)} ` +
      `resolves per file in its cold scan, the gateway ${(g.cold.upstream.resolve / data.expressionDataFiles).toFixed(1)} (one per file is the fewest ` +
      `a client that must follow the Hub's 302 to a signed CDN URL can send).`,
  );
  console.log("S3: not measured; the gateway does not serve s3:// yet.");
}
