/** The cache manager on S3 data (radosgw, read through the gateway): listed per bucket, dataset and table, evicted by LRU and by URI, cleared. */
import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startGateway, type Gateway, type PinnedS3Dataset } from "../../../main/services/gateway";
import { cacheManager } from "../../../main/services/gateway/cache-manager";
import { s3Available, s3TestServer, type S3TestServer } from "../../fixtures/s3/rgw";
import { tempDir } from "../../fixtures/slaf-fixture";
import { blocksUnder } from "./cache-helpers";
import { QUICK } from "./helpers";

const KB = 1024;

describe.skipIf(!s3Available())("cache of S3 datasets", () => {
  let s3: S3TestServer;
  let gateway: Gateway;
  let dir: string;
  let cacheDir: string;
  let bucket: string;
  let pinned: PinnedS3Dataset;
  const objects = new Map<string, Buffer>();

  beforeAll(async () => {
    s3 = await s3TestServer();
    dir = await tempDir("slafwb-cache-s3-");
    cacheDir = path.join(dir, "cache");
    bucket = await s3.bucket();
    for (const [key, size] of [
      ["ds/config.json", 300],
      ["ds/cells.lance/data/a.lance", 64 * KB],
      ["ds/expression.lance/data/b.lance", 64 * KB],
    ] as const) {
      const body = randomBytes(size);
      await s3.client.put(bucket, key, body);
      objects.set(key, body);
    }
    gateway = await startGateway({ cacheDir, hubEndpoint: "http://127.0.0.1:9", ...QUICK, blockBytes: 16 * KB });
    const access = { accessKeyId: s3.account.accessKeyId, secretAccessKey: s3.account.secretAccessKey, region: "us-east-1", endpoint: s3.account.endpoint };
    pinned = await gateway.pinS3(`s3://${bucket}/ds`, access);
  });
  afterAll(async () => {
    await gateway?.close();
    await s3?.close();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  const read = async (rel: string): Promise<Buffer> => gateway.readFile(pinned, rel, { maxBytes: 1024 * KB });

  it("lists S3 data per bucket, dataset and table, evicts it least recently used first, and by URI", async () => {
    const cache = cacheManager(cacheDir);
    for (const rel of ["config.json", "cells.lance/data/a.lance", "expression.lance/data/b.lance"])
      expect((await read(rel)).equals(objects.get(`ds/${rel}`)!)).toBe(true);
    let usage = await cache.usage();
    const s3Entries = usage.entries.filter((e) => e.source === "s3");
    expect(s3Entries.map((e) => [e.repo, e.dataset, e.table, e.sha, e.uri])).toEqual([
      [bucket, "ds", null, null, `s3://${bucket}/ds`],
      [bucket, "ds", "cells", null, `s3://${bucket}/ds`],
      [bucket, "ds", "expression", null, `s3://${bucket}/ds`],
    ]);
    expect(s3Entries.find((e) => e.table === "cells")).toMatchObject({ blocks: 4, bytes: expect.any(Number) });
    expect(s3Entries[0].endpoint).toBe(s3.account.endpoint.replace(/\/+$/, ""));

    // cells was read before expression: lowering the cap by 40 KB takes cells' blocks first.
    await cache.setCap(usage.totalBytes - 40 * KB);
    usage = await cache.usage();
    expect(usage.entries.find((e) => e.table === "cells")?.blocks ?? 0).toBeLessThan(4);
    expect(usage.entries.find((e) => e.table === "expression")?.blocks).toBe(4);
    // Read again from S3, right.
    await cache.setCap(1024 ** 3);
    expect((await read("cells.lance/data/a.lance")).equals(objects.get("ds/cells.lance/data/a.lance")!)).toBe(true);

    const removed = await cache.evict({ uri: `s3://${bucket}/ds`, table: "expression" });
    expect(removed.removedBlocks).toBe(4);
    usage = await cache.usage();
    expect(usage.entries.map((e) => e.table)).toEqual([null, "cells"]);
    await cache.evict({ uri: `s3://${bucket}/ds/` });
    expect((await cache.usage()).entries).toEqual([]);
    expect(await blocksUnder(path.join(cacheDir, "s3"))).toEqual([]);

    await read("config.json");
    expect((await cache.usage()).entries.length).toBe(1);
    await cache.clear();
    expect((await cache.usage()).entries).toEqual([]);
    await expect(cache.evict({ uri: `s3://${bucket}/a//b` })).rejects.toMatchObject({ appError: { code: "INVALID_ARGUMENT" } });
  });
});
