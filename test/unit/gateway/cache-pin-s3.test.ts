/**
 * Pins of an S3 dataset (radosgw, read by LanceDB through the gateway): a pinned table survives a cap of 0 and
 * scans offline in a new open, pinned columns only those, another dataset of the bucket read meanwhile is not
 * pinned, unpin and evict by s3:// URI, and the source bucket never changes.
 */
import fs from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isAppFailure, type AppError } from "../../../shared/result";
import { cacheCommand } from "../../../main/commands/cache";
import { fileSecretStore } from "../../../main/services/secrets/store";
import { SETTINGS_FILE } from "../../../main/services/settings";
import { appFailureFromLanceError, startGateway, type Gateway, type PinnedS3Dataset, type S3Access } from "../../../main/services/gateway";
import { cacheManager, type CacheManager, type PinProgress } from "../../../main/services/gateway/cache-manager";
import { s3Available, s3TestServer, type S3TestServer } from "../../fixtures/s3/rgw";
import { tempDir, writePbmcSlaf } from "../../fixtures/slaf-fixture";
import { blocksUnder } from "./cache-helpers";
import { QUICK } from "./helpers";
import { freshRows } from "./lance-rows";

async function failureOf(p: Promise<unknown>, table: string): Promise<AppError> {
  const e = await p.then(
    () => null,
    (x: unknown) => x,
  );
  if (isAppFailure(e)) return e.appError;
  const mapped = appFailureFromLanceError(e, { table });
  if (!mapped) throw new Error(`expected a named failure, got ${String(e)}`);
  return mapped.appError;
}

describe.skipIf(!s3Available())("pins of S3 datasets (radosgw)", () => {
  let s3: S3TestServer;
  let gateway: Gateway;
  let cache: CacheManager;
  let dir: string;
  let local: string;
  let bucket: string;
  let access: S3Access;
  let uri: string;
  let bucketBefore: Record<string, string>;

  beforeAll(async () => {
    s3 = await s3TestServer();
    dir = await tempDir("slafwb-pin-s3-");
    local = path.join(dir, "pbmc.slaf");
    await writePbmcSlaf(local, { cellsPerChunk: 50 });
    bucket = await s3.bucket();
    await s3.client.uploadDir(local, bucket, "pbmc.slaf");
    await s3.client.uploadDir(local, bucket, "other.slaf");
    bucketBefore = await s3.client.snapshot(bucket);
    access = { accessKeyId: s3.account.accessKeyId, secretAccessKey: s3.account.secretAccessKey, region: "us-east-1", endpoint: s3.account.endpoint };
    uri = `s3://${bucket}/pbmc.slaf`;
    const cacheDir = path.join(dir, "cache");
    // Small blocks, so every data file spans many blocks and a column's pages are blocks of their own.
    gateway = await startGateway({ cacheDir, hubEndpoint: "http://127.0.0.1:9", ...QUICK, blockBytes: 16 * 1024, maxFetchBytes: 64 * 1024 });
    cache = cacheManager(cacheDir);
  });
  afterAll(async () => {
    await gateway?.close();
    await s3?.close();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  const open = (which = uri): Promise<PinnedS3Dataset> => gateway.pinS3(which, access);
  const remoteRows = async (table: string, columns?: string[]): Promise<string[]> => {
    const ds = await open();
    return freshRows(ds.uri, table, { columns, storageOptions: ds.storageOptions });
  };

  it("pins a table with progress; with every unpinned block evicted, a new open scans it offline while another table fails fast", async () => {
    const progress: PinProgress[] = [];
    // Another dataset of the bucket read while the pin runs: its blocks are not the pin's.
    const other = await open(`s3://${bucket}/other.slaf`);
    const [pins, otherCells] = await Promise.all([
      cache.pin(gateway, { uri, tables: ["cells"], s3: access }, { onProgress: (p) => progress.push(p) }),
      freshRows(other.uri, "cells", { storageOptions: other.storageOptions }),
    ]);
    expect(otherCells).toEqual(await freshRows(local, "cells"));
    expect(pins).toEqual([
      expect.objectContaining({
        source: "s3",
        uri,
        repo: bucket,
        sha: null,
        dataset: "pbmc.slaf",
        table: "cells",
        columns: null,
        state: "complete",
        rows: 160,
      }),
    ]);
    expect(pins[0].bytes).toBeGreaterThan(0);
    expect(progress.filter((p) => p.phase === "scan").at(-1)).toMatchObject({ done: 160, total: 160, table: "cells" });

    // Expression read online (cached, not pinned), then a cap of 0: everything unpinned goes.
    expect(await remoteRows("expression", ["value"])).toEqual(await freshRows(local, "expression", { columns: ["value"] }));
    await cache.setCap(0);
    const usage = await cache.usage();
    expect(usage.pinnedBytes).toBe(pins[0].bytes);
    expect(usage.pins).toEqual([expect.objectContaining({ source: "s3", uri, table: "cells", presentBytes: pins[0].bytes, bytes: pins[0].bytes })]);
    expect(usage.entries.find((e) => e.dataset === "pbmc.slaf" && e.table === "cells")).toMatchObject({ source: "s3", pinnedBytes: expect.any(Number) });
    expect(usage.entries.filter((e) => e.dataset === "other.slaf").every((e) => e.pinnedBytes === 0)).toBe(true);
    expect(usage.entries.find((e) => e.dataset === "other.slaf" && e.table === "cells")?.blocks ?? 0).toBe(0);

    gateway.setOffline(true);
    const requests = gateway.counters().s3.requests;
    try {
      expect(await remoteRows("cells")).toEqual(await freshRows(local, "cells"));
      const miss = await failureOf(remoteRows("expression", ["value"]), "expression");
      expect(miss.code).toBe("OFFLINE_NOT_CACHED");
      expect(miss.message).toMatch(/expression\.lance\/data\//);
      expect(gateway.counters().s3.requests).toEqual(requests);
    } finally {
      gateway.setOffline(false);
      await cache.setCap(1024 ** 3);
    }
  });

  it("pins chosen columns of a table: those scan offline, the others do not", async () => {
    const [pin] = await cache.pin(gateway, { uri, tables: ["expression"], columns: ["value"], s3: access });
    expect(pin).toMatchObject({ source: "s3", table: "expression", columns: ["value"], rows: 151_815 });
    await cache.setCap(0);
    gateway.setOffline(true);
    try {
      expect(await remoteRows("expression", ["value"])).toEqual(await freshRows(local, "expression", { columns: ["value"] }));
      expect((await failureOf(remoteRows("expression", ["gene_integer_id"]), "expression")).code).toBe("OFFLINE_NOT_CACHED");
    } finally {
      gateway.setOffline(false);
      await cache.setCap(1024 ** 3);
    }
    expect((await cache.usage()).pins.map((p) => `${p.table}:${p.columns?.join(",") ?? "*"}:${p.presentBytes === p.bytes}`).sort()).toEqual([
      "cells:*:true",
      "expression:value:true",
    ]);
  });

  it("unpins by s3:// URI and table (the data stays, evictable again); evicting the dataset removes its pins", async () => {
    expect(await cache.unpin({ uri, table: "expression" })).toBe(1);
    await cache.setCap(0);
    let usage = await cache.usage();
    expect(usage.pins.map((p) => p.table)).toEqual(["cells"]);
    // Expression's data went; its manifest stays, pinned with what opening the dataset reads.
    const dataOf = (table: string) => path.join("pbmc.slaf", `${table}.lance`, "data");
    expect((await blocksUnder(path.join(dir, "cache", "s3"))).filter((b) => b.file.includes(dataOf("expression")))).toEqual([]);
    expect((await blocksUnder(path.join(dir, "cache", "s3"))).filter((b) => b.file.includes(dataOf("cells"))).length).toBeGreaterThan(0);
    expect(usage.pinnedBytes).toBe(usage.pins[0].bytes);
    await cache.setCap(1024 ** 3);

    const removed = await cache.evict({ uri });
    expect(removed.pinsRemoved).toBe(1);
    usage = await cache.usage();
    expect(usage.pins).toEqual([]);
    expect(usage.entries.filter((e) => e.dataset === "pbmc.slaf")).toEqual([]);
    expect((await blocksUnder(path.join(dir, "cache", "s3"))).filter((b) => b.file.includes(`${path.sep}pbmc.slaf${path.sep}`))).toEqual([]);
  });

  it("pinning a dataset that is not there, or with wrong credentials, names the problem", async () => {
    const missing = await failureOf(cache.pin(gateway, { uri: `s3://${bucket}/nothing.slaf`, s3: access }), "");
    expect(missing.code).toBe("DATASET_NOT_FOUND");
    const denied = await failureOf(cache.pin(gateway, { uri, s3: { ...access, secretAccessKey: "wrong" } }), "");
    expect(denied).toMatchObject({ code: "AUTH_INVALID", message: expect.stringContaining("Check the S3 access key and secret") });
    expect((await cache.usage()).pins).toEqual([]);
  });

  it("`cache pin s3://…` on the command line reads the saved S3 settings and pins; `cache list` shows the pin", async () => {
    const userData = path.join(dir, "cli-user");
    await fs.mkdir(userData, { recursive: true });
    const s3Settings = { accessKeyId: access.accessKeyId, region: "us-east-1", endpoint: access.endpoint, pathStyle: true };
    await fs.writeFile(path.join(userData, SETTINGS_FILE), JSON.stringify({ s3: s3Settings }));
    await fileSecretStore(userData).set("s3SecretAccessKey", access.secretAccessKey!);
    let out = "";
    const io = { out: (t: string) => void (out += t), err: () => undefined };
    await cacheCommand(["pin", uri, "--table", "genes", "--format", "json"], io, userData);
    expect(JSON.parse(out)).toEqual([
      expect.objectContaining({ source: "s3", uri, table: "genes", state: "complete", rows: (await freshRows(local, "genes")).length }),
    ]);
    out = "";
    await cacheCommand(["list"], io, userData);
    expect(out).toMatch(new RegExp(`Pins:\\n  s3://${bucket}/pbmc\\.slaf  genes  `));
  });

  it("changed no byte of the source bucket", async () => {
    expect(await s3.client.snapshot(bucket)).toEqual(bucketBefore);
  });
});
