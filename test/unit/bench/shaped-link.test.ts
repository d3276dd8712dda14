/**
 * The measurement against a known link: the fake Hub (and its CDN) behind the shaping proxy, on one shared link
 * of 20 MiB/s, and a cold read large enough (~200 MB, ~10 s) to be bound by that link. A check that the benchmark's
 * clock and byte counts are right, with bounds the machine's speed cannot break: the bytes it counts upstream are
 * the bytes the proxies carried (less HTTP headers), the rate it reports cannot beat the link, and the time it
 * reports cannot exceed the wall time around the run. (A lower bound on the rate is a timing threshold: a busy CI
 * machine measured 17.9 MiB/s once.) Its own process (Lance reads HF_ENDPOINT once).
 */
import fs from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Services } from "../../../main/services/index";
import { publishDataset, startFakeHub, type FakeHub } from "../../fixtures/fake-hub";
import { testServices } from "../../fixtures/services";
import { Link, startShapingProxy, type ShapingProxy } from "../../fixtures/shaping-proxy";
import { tempDir, writePbmcSlaf } from "../../fixtures/slaf-fixture";
import { benchOptions, runBench } from "./helpers";

const MIB = 1024 * 1024;
/** Slow enough that the link, not the 2-core machine, bounds the read (measured 0.9–0.995 of it). */
const LINK_MIB_PER_SECOND = 20;
/** Enough cells for ~200 MB of expression data: about 10 s on the link. */
const CELLS = 80_000;

let dir: string;
let hub: FakeHub | null = null;
let proxies: ShapingProxy[] = [];
let services: Services;
let sha: string;
let dataBytes = 0;

beforeAll(async () => {
  dir = await tempDir("slafwb-bench-shaped-");
  const root = path.join(dir, "big.slaf");
  await writePbmcSlaf(root, { nCells: CELLS, cellsPerChunk: 20_000 });
  const data = path.join(root, "expression.lance", "data");
  for (const f of await fs.readdir(data)) dataBytes += (await fs.stat(path.join(data, f))).size;
  // The Hub and its CDN share one link; each connection alone could go much faster, so the link is the limit.
  const link = new Link((LINK_MIB_PER_SECOND * MIB * 8) / 1e6);
  const profile = { rttMs: 2, connMbps: 100_000 };
  const portOf = (url: string) => ({ host: "127.0.0.1", port: Number(new URL(url).port) });
  proxies = [await startShapingProxy(() => portOf(hub!.url), profile, link), await startShapingProxy(() => portOf(hub!.cdnUrl), profile, link)];
  hub = await startFakeHub({ cdnOrigin: proxies[1].url });
  sha = await publishDataset(hub, "acme/big", root, "big.slaf");
  delete process.env.HF_TOKEN;
  services = testServices(path.join(dir, "user"), { sources: { hubEndpoint: proxies[0].url } });
}, 300_000);

afterAll(async () => {
  await services?.dispose();
  await hub?.close();
  for (const p of proxies) await p.close();
  await fs.rm(dir, { recursive: true, force: true });
});

describe("a shaped link", () => {
  it("counts the bytes the link carried, and reports a rate no faster than the link in no more than the wall time", async () => {
    const uri = `hf://datasets/acme/big/big.slaf@${sha}`;
    const carriedBefore = proxies.reduce((sum, p) => sum + p.stats.bytesDown, 0);
    const wallStart = performance.now();
    const { run } = await runBench(services, benchOptions({ uris: [uri], table: "expression", batchSize: 65_536, cold: true }));
    const wallSeconds = (performance.now() - wallStart) / 1000;
    const carried = proxies.reduce((sum, p) => sum + p.stats.bytesDown, 0) - carriedBefore;
    const m = run.results[0].median;
    expect(run.results[0].error).toBeUndefined();
    expect(m.upstreamBytes).toBeGreaterThan(dataBytes * 0.9);
    expect(m.upstreamBytes).toBeLessThanOrEqual(carried);
    expect(carried - m.upstreamBytes, "HTTP headers only").toBeLessThan(carried * 0.02);
    const upstreamMibPerSecond = m.upstreamBytes / MIB / m.seconds;
    const what = `${(m.upstreamBytes / MIB).toFixed(1)} MiB upstream in ${m.seconds.toFixed(2)} s = ${upstreamMibPerSecond.toFixed(2)} MiB/s on a ${LINK_MIB_PER_SECOND} MiB/s link`;
    expect(upstreamMibPerSecond, what).toBeLessThanOrEqual(LINK_MIB_PER_SECOND * 1.05);
    expect(m.seconds, what).toBeLessThanOrEqual(wallSeconds);
  }, 300_000);
});
