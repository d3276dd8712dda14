/**
 * Benchmark runs of an s3:// dataset through the gateway and a real local S3 (radosgw), with a request log in
 * front of it: the run's figures are the gateway's counters and the requests that reached the store; cold reads
 * fetch the data and leave the user's cache as it was; warm reads fetch no data (each open still lists the
 * dataset's folders once, which is how an S3 open learns the objects' ETags); the bucket never changes.
 */
import fs from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SourceCounters } from "../../../shared/ipc/contract";
import type { Services } from "../../../main/services/index";
import { startS3RequestLog, type S3RequestLog } from "../../bench/remote-s3";
import { unwrap } from "../../fixtures/result";
import { s3Available, s3TestServer, type S3TestServer } from "../../fixtures/s3/rgw";
import { testServices } from "../../fixtures/services";
import { tempDir, writePbmcSlaf } from "../../fixtures/slaf-fixture";
import { snapshotTree } from "../../fixtures/tree-snapshot";
import { benchOptions, runBench, tableRows } from "./helpers";

describe.skipIf(!s3Available())("s3:// runs (radosgw)", () => {
  let s3: S3TestServer;
  let requests: S3RequestLog;
  let dir: string;
  let bucket: string;
  let uri: string;
  let services: Services;
  let expressionRows: number;
  let bucketBefore: Record<string, string>;
  const cacheDir = () => path.join(dir, "user", "cache");

  const s3Counters = async (): Promise<SourceCounters> => unwrap(await services.api.sources.status({})).counters.find((c) => c.source === "s3")!;
  const logged = (from: number) => {
    const kinds = requests.log.slice(from);
    return { list: kinds.filter((k) => k === "list").length, get: kinds.filter((k) => k === "get").length, head: kinds.filter((k) => k === "head").length };
  };

  beforeAll(async () => {
    s3 = await s3TestServer();
    dir = await tempDir("slafwb-bench-s3-");
    const root = path.join(dir, "pbmc.slaf");
    await writePbmcSlaf(root, { cellsPerChunk: 50 });
    expressionRows = await tableRows(root, "expression");
    bucket = await s3.bucket();
    await s3.client.uploadDir(root, bucket, "pbmc.slaf");
    bucketBefore = await s3.client.snapshot(bucket);
    uri = `s3://${bucket}/pbmc.slaf`;
    requests = await startS3RequestLog(s3.account.endpoint);
    services = testServices(path.join(dir, "user"), {
      sources: { hubEndpoint: "http://127.0.0.1:9", gateway: { retry: { attempts: 3, baseDelayMs: 10, maxDelayMs: 50 } } },
    });
    const { accessKeyId, secretAccessKey, region } = s3.account;
    unwrap(await services.api.settings.set({ s3: { accessKeyId, secretAccessKey, region, endpoint: requests.url, pathStyle: true } }));
    // radosgw may take minutes to start on a busy machine (rgw-server.ts waits up to 180 s).
  }, 300_000);

  afterAll(async () => {
    await services?.dispose();
    await requests?.close();
    await s3?.close();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it("cold reads the data upstream, counted as the gateway and the store saw it, and leaves the cache as it was", async () => {
    const warm = await runBench(services, benchOptions({ uris: [uri], table: "expression", batchSize: 4096 }));
    expect(warm.run.results[0].error).toBeUndefined();
    const cacheBefore = await snapshotTree(cacheDir());
    const before = await s3Counters();
    const mark = requests.log.length;
    const { run } = await runBench(services, benchOptions({ uris: [uri], table: "expression", batchSize: 4096, concurrency: 2, cold: true }));
    const after = await s3Counters();
    const s = run.results[0];
    expect(s).toMatchObject({ uri, source: "s3", revision: bucketBefore["pbmc.slaf/config.json"].split(":")[0] });
    const m = s.median;
    expect(m).toMatchObject({ rows: expressionRows, cells: 160, rateLimitUsed: null });
    expect(m.servedBytes).toBe(after.bytesServed - before.bytesServed);
    expect(m.upstreamBytes).toBe(after.bytesDown - before.bytesDown);
    expect(m.cacheHits).toBe(after.cache.hits - before.cache.hits);
    expect(m.upstreamByKind).toEqual(logged(mark));
    expect(m.upstreamRequests).toBe(requests.log.length - mark);
    expect(m.upstreamByKind?.get).toBeGreaterThan(0);
    expect(await snapshotTree(cacheDir())).toEqual(cacheBefore);
  });

  it("warm fetches no data: each open only lists the dataset's folders again; cache hits serve the rest", async () => {
    const mark = requests.log.length;
    const { run } = await runBench(services, benchOptions({ uris: [uri], table: "expression", batchSize: 4096, repeat: 2 }));
    for (const m of run.results[0].repeats) {
      expect(m.rows).toBe(expressionRows);
      expect(m.upstreamByKind).toMatchObject({ get: 0, head: 0 });
      expect(m.upstreamByKind?.list).toBe(m.upstreamRequests);
      expect(m.cacheHits).toBeGreaterThan(0);
      expect(m.upstreamBytes).toBeLessThan(m.servedBytes! / 10);
    }
    expect(run.results[0].notes).toBeUndefined();
    expect(logged(mark)).toMatchObject({ get: 0, head: 0 });
    expect(await s3.client.snapshot(bucket)).toEqual(bucketBefore);
  });
});
