/** The tables `bench remote` prints: throughput, requests that reached each source, and the goals. */
import type { RunnerResult } from "./remote-protocol";
import type { BenchDataset } from "./remote-dataset";
import type { RemoteSource } from "./remote-sources";
import { table } from "./util";

export interface Phase extends RunnerResult {
  /** Requests that reached the source during the phase, by kind. */
  upstream: Record<string, number>;
  /** Bytes that crossed the shaped link towards the reader. */
  bytesDown: number;
}

export interface Session {
  open: Phase;
  cold: Phase;
  /** The same scan again in the same process. */
  again: Phase[];
  /** SLAFWB_BENCH_REMOTE_RECOLD=1: once more after the gateway's cache folder was emptied (cold data, warm code). */
  recold?: Phase;
}

export interface SourceRuns {
  source: RemoteSource;
  direct: Session[];
  gateway: Session[];
  /** A new process on the cache a gateway run filled: open and one scan. */
  reopened: Session[];
}

const best = (phases: Phase[]): Phase => phases.reduce((a, b) => (b.ms < a.ms ? b : a));
const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const total = (p: Phase): number => Object.values(p.upstream).reduce((n, v) => n + v, 0);
const mib = (bytes: number): number => bytes / 2 ** 20;
const met = (ok: boolean): string => (ok ? "yes" : "NO");

export function report(data: BenchDataset, local: Session, results: SourceRuns[], runs: { coldRuns: number; warmRuns: number }): void {
  const mibs = (p: Phase): number => mib(data.expressionDataBytes) / (p.ms / 1000);
  const row = (name: string, open: Phase | null, p: Phase, ratio: number, vs: string) => [
    name,
    open ? open.ms : "",
    p.ms,
    p.cpuMs,
    mibs(p),
    data.expressionRows / 1e6 / (p.ms / 1000),
    ratio,
    vs,
  ];
  const localBest = best([local.cold, ...local.again]);
  const throughput = [row("local disk, first scan in a new process", local.open, local.cold, 1, ""), row("local disk, best", null, localBest, 1, "")];
  const goals: (string | number)[][] = [];
  for (const { source, direct, gateway, reopened } of results) {
    const s = source.name;
    const directCold = best(direct.map((x) => x.cold));
    const gatewayCold = best(gateway.map((x) => x.cold));
    const warm = best(gateway.flatMap((x) => x.again));
    const reopenedScan = best(reopened.map((x) => x.cold));
    const cold = mibs(gatewayCold) / mibs(directCold);
    const warmRatio = mibs(warm) / mibs(localBest);
    throughput.push(
      row(`${s}: Lance direct, cold`, best(direct.map((x) => x.open)), directCold, 1, ""),
      row(`${s}: gateway, cold`, best(gateway.map((x) => x.open)), gatewayCold, cold, "Lance direct"),
      row(`${s}: gateway, warm cache`, null, warm, warmRatio, "local disk, best"),
      row(
        `${s}: gateway, warm cache, new process`,
        best(reopened.map((x) => x.open)),
        reopenedScan,
        mibs(reopenedScan) / mibs(local.cold),
        "local, new process",
      ),
    );
    goals.push([`${s}: cold throughput, gateway / Lance direct`, cold, "≥ 0.9", met(cold >= 0.9)]);
    const medianCold = median(direct.map((x) => x.cold.ms)) / median(gateway.map((x) => x.cold.ms));
    goals.push([`${s}: the same, medians of ${gateway.length} cold runs`, medianCold, "(≥ 0.9)", met(medianCold >= 0.9)]);
    goals.push([`${s}: warm throughput, gateway cache / local disk`, warmRatio, "≥ 0.8", met(warmRatio >= 0.8)]);
    const [d, g] = [direct[0], gateway[0]];
    if (source.resolverKind) {
      const kind = source.resolverKind;
      const [rg, rd] = [g.open.upstream[kind] + g.cold.upstream[kind], d.open.upstream[kind] + d.cold.upstream[kind]];
      goals.push([`${s}: resolver requests, cold open + full scan (${rg} vs ${rd})`, rg / rd, "≤ 0.10", met(rg / rd <= 0.1)]);
    }
    const repeated = gateway.flatMap((x) => x.again).reduce((n, p) => n + total(p), 0);
    goals.push([`${s}: upstream requests of ${gateway.length * runs.warmRuns} repeated scans through the gateway`, repeated, "= 0", met(repeated === 0)]);
    const later = reopened.map((x) => x.cold);
    const laterData = later.reduce((n, p) => n + source.dataKinds.reduce((m, k) => m + p.upstream[k], 0), 0);
    const laterAll = later.reduce((n, p) => n + total(p), 0);
    goals.push([
      `${s}: upstream data requests of ${later.length} scans in a new process on the warm cache (all requests: ${laterAll})`,
      laterData,
      "= 0",
      met(laterData === 0),
    ]);

    console.log(`\n${s}: requests that reached the source (first run of each), ${source.profile}:`);
    const reqRow = (name: string, p: Phase) => [name, ...source.kinds.map((k) => p.upstream[k]), total(p), mib(p.bytesDown)];
    table(
      ["path, phase", ...source.kinds, "total", "MiB down"],
      [
        reqRow("Lance direct: open", d.open),
        reqRow("Lance direct: cold full scan", d.cold),
        reqRow("Lance direct: same scan again", d.again[0]),
        reqRow("gateway: open", g.open),
        reqRow("gateway: cold full scan", g.cold),
        ...g.again.map((p, i) => reqRow(`gateway: same scan again (${i + 1})`, p)),
        reqRow("gateway, new process, warm cache: open", reopened[0].open),
        reqRow("gateway, new process, warm cache: scan", reopened[0].cold),
      ],
    );
    const runsText = (sessions: Session[]) => sessions.map((x) => `${Math.round(x.cold.ms)} ms (CPU ${Math.round(x.cold.cpuMs)})`).join(", ");
    console.log(`Cold scans in run order: Lance direct ${runsText(direct)}; gateway ${runsText(gateway)}.`);
    const recold = gateway.flatMap((x) => (x.recold ? [`${Math.round(x.recold.ms)} ms (CPU ${Math.round(x.recold.cpuMs)})`] : []));
    if (recold.length) console.log(`Gateway cold again in the same process, its cache folder emptied (cold data, warm code): ${recold.join(", ")}.`);
    const counted = Object.values(g.cold.gatewayRequests ?? {}).reduce((n, v) => n + v, 0);
    const seen = total(g.open) + total(g.cold);
    console.log(`The gateway's own upstream counters after its first cold scan: ${counted} requests (the source saw ${seen}).`);
    if (source.resolverKind) {
      const perFile = (p: Phase) => (p.upstream[source.resolverKind!] / data.expressionDataFiles).toFixed(1);
      console.log(
        `Resolves per data file in the cold scan: Lance direct ${perFile(d.cold)}, gateway ${perFile(g.cold)} ` +
          `(one per file is the fewest a client that follows the Hub's 302 to a signed CDN URL can send).`,
      );
    }
  }
  console.log(`\nFull scan of expression (all columns): best of ${runs.coldRuns} cold runs (a new process, and an empty cache for the gateway) / warm scans:`);
  table(["path", "open ms", "scan ms", "reader CPU ms", "MiB/s", "Mrows/s", "ratio", "vs"], throughput);
  console.log("\nGoals (issue 9):");
  table(["goal", "measured", "target", "met"], goals);
}
