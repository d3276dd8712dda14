/**
 * Benchmark runs of an hf:// dataset through the gateway and the fake Hub: the figures a run reports are the
 * gateway's counters over it and the requests the Hub received; cold reads go upstream and leave the user's cache
 * exactly as it was, warm ones send nothing upstream; cold scopes clean up after themselves. This file runs in
 * its own process (Lance reads HF_ENDPOINT once per process).
 */
import fs from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SourceCounters } from "../../../shared/ipc/contract";
import type { Services } from "../../../main/services/index";
import { publishDataset, startFakeHub, type FakeHub } from "../../fixtures/fake-hub";
import { unwrap } from "../../fixtures/result";
import { testServices } from "../../fixtures/services";
import { tempDir, writePbmcSlaf } from "../../fixtures/slaf-fixture";
import { snapshotTree } from "../../fixtures/tree-snapshot";
import { benchOptions, endOf, runBench, tableRows } from "./helpers";

let dir: string;
let hub: FakeHub;
let services: Services;
let sha: string;
let uri: string;
let expressionRows: number;
let expressionDataBytes = 0;

const cacheDir = () => path.join(dir, "user", "cache");

async function hubCounters(): Promise<SourceCounters> {
  return unwrap(await services.api.sources.status({})).counters.find((c) => c.source === "hf")!;
}

beforeAll(async () => {
  dir = await tempDir("slafwb-bench-hub-");
  const root = path.join(dir, "pbmc.slaf");
  await writePbmcSlaf(root, { cellsPerChunk: 50 });
  expressionRows = await tableRows(root, "expression");
  const data = path.join(root, "expression.lance", "data");
  for (const f of await fs.readdir(data)) expressionDataBytes += (await fs.stat(path.join(data, f))).size;
  hub = await startFakeHub();
  sha = await publishDataset(hub, "acme/pbmc", root);
  uri = `hf://datasets/acme/pbmc/pbmc.slaf@${sha}`;
  delete process.env.HF_TOKEN;
  // No idle timeout to speak of: a read the Hub stalls ends only if the benchmark ends it (the cancel test).
  services = testServices(path.join(dir, "user"), {
    sources: { hubEndpoint: hub.url, gateway: { retry: { attempts: 3, baseDelayMs: 10, maxDelayMs: 50 }, idleTimeoutMs: 600_000 } },
  });
  await services.sources.gateway();
});

afterAll(async () => {
  await services?.dispose();
  await hub?.close();
  await fs.rm(dir, { recursive: true, force: true });
});

describe("hf:// runs", () => {
  it("report the gateway's counters over the run, and the requests the Hub received", async () => {
    const before = await hubCounters();
    hub.resetLog();
    const { run } = await runBench(services, benchOptions({ uris: [uri], table: "expression", batchSize: 4096, concurrency: 2, cold: true }));
    const after = await hubCounters();
    const s = run.results[0];
    expect(s).toMatchObject({ uri, source: "hf", revision: sha });
    expect(s.error).toBeUndefined();
    const m = s.median;
    expect(m).toMatchObject({ rows: expressionRows, cells: 160 });
    expect(m.servedBytes).toBe(after.bytesServed - before.bytesServed);
    expect(m.upstreamBytes).toBe(after.bytesDown - before.bytesDown);
    expect(m.cacheHits).toBe(after.cache.hits - before.cache.hits);
    expect(m.cacheMisses).toBe(after.cache.misses - before.cache.misses);
    const sent = Object.keys(after.requests).reduce((n, k) => n + after.requests[k] - before.requests[k], 0);
    expect(m.upstreamRequests).toBe(sent);
    expect(m.upstreamRequests).toBe(hub.log.length);
    expect(m.upstreamByKind).toEqual({
      api: hub.count("repo-info"),
      tree: hub.count(["tree", "paths-info"]),
      resolve: hub.count("resolve"),
      cdn: hub.count("cdn"),
    });
    // The Hub reports its budget on every answer (the fake's quota is 100,000 per bucket).
    expect(m.rateLimitUsed).toEqual({
      api: { used: hub.count(["repo-info", "tree", "paths-info"]), quota: 100_000 },
      resolvers: { used: hub.count("resolve"), quota: 100_000 },
    });
    // The scan read (about) every expression data file through the gateway.
    expect(m.servedBytes).toBeGreaterThan(expressionDataBytes / 2);
    expect(m.upstreamBytes).toBeGreaterThan(expressionDataBytes / 2);
  });

  it("cold goes upstream and leaves the user's cache as it was; warm sends nothing upstream", async () => {
    await runBench(services, benchOptions({ uris: [uri], table: "expression", batchSize: 4096 }));
    const cacheBefore = await snapshotTree(cacheDir());
    hub.resetLog();
    const { run: cold } = await runBench(services, benchOptions({ uris: [uri], table: "expression", batchSize: 4096, cold: true, repeat: 2 }));
    for (const m of cold.results[0].repeats) {
      expect(m.rows).toBe(expressionRows);
      expect(m.upstreamByKind?.resolve).toBeGreaterThan(0);
      expect(m.upstreamBytes).toBeGreaterThan(expressionDataBytes / 2);
    }
    expect(hub.log.length).toBe(cold.results[0].repeats.reduce((n, m) => n + m.upstreamRequests, 0));
    expect(await snapshotTree(cacheDir())).toEqual(cacheBefore);

    hub.resetLog();
    const { run: warm } = await runBench(services, benchOptions({ uris: [uri], table: "expression", batchSize: 4096, repeat: 2 }));
    for (const m of warm.results[0].repeats) {
      expect(m).toMatchObject({ rows: expressionRows, upstreamRequests: 0, upstreamBytes: 0, cacheMisses: 0 });
      expect(m.cacheHits).toBeGreaterThan(0);
      expect(m.servedBytes).toBeGreaterThan(expressionDataBytes / 2);
    }
    expect(warm.results[0].notes).toBeUndefined();
    expect(hub.log).toEqual([]);
  });

  it("a branch is resolved once per run: every repeat reads its commit", async () => {
    hub.resetLog();
    const branch = "hf://datasets/acme/pbmc/pbmc.slaf@main";
    // The expression table is in the cache (the runs above read it warm).
    const { run } = await runBench(services, benchOptions({ uris: [branch], table: "expression", batchSize: 4096, repeat: 2 }));
    expect(run.results[0]).toMatchObject({ uri: branch, revision: sha });
    for (const m of run.results[0].repeats) expect(m).toMatchObject({ rows: expressionRows, upstreamRequests: 0 });
    // The one request of the run: the revision, asked before the first measurement.
    expect(hub.log.map((r) => r.kind)).toEqual(["repo-info"]);
  });

  it("the dataloader's workers read cold through the scope too", async () => {
    const cacheBefore = await snapshotTree(cacheDir());
    hub.resetLog();
    const { run } = await runBench(services, benchOptions({ uris: [uri], table: "expression", reader: "raw", batchSize: 32, concurrency: 2, cold: true }));
    const m = run.results[0].median;
    expect(run.results[0].error).toBeUndefined();
    expect(m).toMatchObject({ rows: expressionRows, cells: 160 });
    expect(m.upstreamByKind?.resolve).toBeGreaterThan(0);
    expect(m.upstreamRequests).toBe(hub.log.length);
    expect(await snapshotTree(cacheDir())).toEqual(cacheBefore);
  });

  it("offline: a cold read is a named error for that source, a warm one reads the cache", async () => {
    unwrap(await services.api.sources.setOffline({ offline: true }));
    try {
      hub.resetLog();
      const { run } = await runBench(services, benchOptions({ uris: [uri, uri], table: "cells", cold: true }));
      expect(run.results[0]).toMatchObject({ error: { code: "BENCH_OPTIONS_INVALID" }, repeats: [] });
      const { run: warm } = await runBench(services, benchOptions({ uris: [uri], table: "expression", batchSize: 4096 }));
      expect(warm.results[0].median).toMatchObject({ rows: expressionRows, upstreamRequests: 0 });
      expect(hub.log).toEqual([]);
    } finally {
      unwrap(await services.api.sources.setOffline({ offline: false }));
    }
  });
});

describe("cancel", () => {
  it("does not wait for a read the Hub stalls: the run ends, saved as cancelled", async () => {
    hub.faults.add({ kind: "stall", phase: "headers" }, { on: ["resolve", "cdn"], times: 1_000_000 });
    try {
      hub.resetLog();
      const { jobId, runId } = unwrap(await services.bench.start({ options: benchOptions({ uris: [uri], table: "expression", batchSize: 4096, cold: true }) }));
      while (hub.count(["resolve", "cdn"]) === 0) await new Promise((r) => setTimeout(r, 20));
      unwrap(await services.api.jobs.cancel({ jobId }));
      expect(await endOf(services, jobId)).toMatchObject({ state: "cancelled", error: { code: "BENCH_CANCELLED" } });
      expect(unwrap(await services.api.bench.get({ runId }))).toMatchObject({ cancelled: true, results: [] });
    } finally {
      hub.faults.clear();
    }
  });
});

describe("cold scopes", () => {
  it("remove their scratch cache at close, and refuse the reads of an ended scope", async () => {
    const gateway = await services.sources.gateway();
    const scope = await gateway.coldScope(dir);
    const pinned = await scope.pin(uri);
    expect(pinned.storageOptions.hf_token).toMatch(/^cold-/);
    expect((await gateway.readFile(pinned, "config.json", { maxBytes: 1 << 20 })).toString("utf8")).toContain('"tables"');
    expect((await fs.readdir(scope.dir)).length).toBeGreaterThan(0);
    await scope.close();
    await expect(fs.stat(scope.dir)).rejects.toMatchObject({ code: "ENOENT" });
    await expect(gateway.readFile(pinned, "config.json", { maxBytes: 1 << 20 })).rejects.toMatchObject({ appError: { code: "DATASET_NOT_OPEN" } });
    hub.resetLog();
    const late = await fetch(`${gateway.hfEndpoint}/datasets/acme/pbmc/resolve/${sha}/pbmc.slaf/config.json`, {
      headers: { authorization: `Bearer ${pinned.storageOptions.hf_token}` },
    });
    expect(late.status).toBe(403);
    expect(hub.log).toEqual([]);
  });
});
