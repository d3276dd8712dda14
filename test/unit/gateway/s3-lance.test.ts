/**
 * LanceDB reading a SLAF dataset from a real S3 server (radosgw) through the gateway: the same rows as the local
 * copy, a repeated scan with no upstream request, offline reads from the cache (and fast named failures when the
 * bytes are not there), and a source bucket that no read changes.
 */
import fs from "node:fs/promises";
import path from "node:path";
import * as lancedb from "@lancedb/lancedb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appFailureFromLanceError, startGateway, type Gateway, type PinnedS3Dataset, type S3Access } from "../../../main/services/gateway";
import { startFaultProxy, type FaultProxy } from "../../fixtures/s3/fault-proxy";
import { s3Available, s3TestServer, type S3TestServer } from "../../fixtures/s3/rgw";
import { tempDir, writePbmcSlaf } from "../../fixtures/slaf-fixture";
import { QUICK } from "./helpers";

const TABLES = ["cells", "genes", "expression"] as const;

/** Every row of every table (as JSON lines), plus a filtered expression query. */
async function scan(uri: string, storageOptions: Record<string, string>): Promise<Record<string, unknown>> {
  const db = await lancedb.connect(uri, { storageOptions });
  try {
    const out: Record<string, unknown> = { tables: (await db.tableNames()).sort() };
    for (const name of TABLES) {
      const table = await db.openTable(name);
      out[`${name}.count`] = await table.countRows();
      out[name] = (await table.query().toArray()).map((r) => JSON.stringify(r, (_k, v) => (typeof v === "bigint" ? v.toString() : v)));
    }
    const expression = await db.openTable("expression");
    out.filtered = (await expression.query().where("cell_integer_id = 7 AND value > 2").select(["gene_integer_id", "value"]).toArray()).map(
      (r) => `${r.gene_integer_id}:${r.value}`,
    );
    return out;
  } finally {
    db.close();
  }
}

describe.skipIf(!s3Available())("Lance through the gateway's S3 side (radosgw)", () => {
  let s3: S3TestServer;
  let proxy: FaultProxy;
  let gateway: Gateway;
  let dir: string;
  let bucket: string;
  let access: S3Access;
  let localScan: Record<string, unknown>;
  let pinned: PinnedS3Dataset;
  let bucketBefore: Record<string, string>;

  beforeAll(async () => {
    s3 = await s3TestServer();
    dir = await tempDir("slafwb-s3-lance-");
    const local = path.join(dir, "pbmc.slaf");
    await writePbmcSlaf(local, { cellsPerChunk: 50 });
    bucket = await s3.bucket();
    await s3.client.uploadDir(local, bucket, "pbmc.slaf");
    await s3.client.uploadDir(local, bucket, "unread.slaf");
    bucketBefore = await s3.client.snapshot(bucket);
    localScan = await scan(local, {});
    // The proxy sees every byte the gateway sends upstream.
    proxy = await startFaultProxy(s3.account.endpoint);
    access = { accessKeyId: s3.account.accessKeyId, secretAccessKey: s3.account.secretAccessKey, region: "us-east-1", endpoint: proxy.url };
    // Small blocks and fetches, so every data file spans several blocks and runs.
    gateway = await startGateway({
      cacheDir: path.join(dir, "cache"),
      hubEndpoint: "http://127.0.0.1:9",
      ...QUICK,
      blockBytes: 16 * 1024,
      maxFetchBytes: 64 * 1024,
    });
  });
  afterAll(async () => {
    await gateway?.close();
    await proxy?.close();
    await s3?.close();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it("reads the same tables and rows as the local copy; Lance holds only the local key pair", async () => {
    pinned = await gateway.pinS3(`s3://${bucket}/pbmc.slaf/`, access);
    expect(pinned).toMatchObject({ source: "s3", uri: `s3://${bucket}/pbmc.slaf`, bucket, prefix: "pbmc.slaf" });
    expect(pinned.version).toBe(bucketBefore["pbmc.slaf/config.json"].split(":")[0]);
    const { aws_access_key_id: keyId, aws_secret_access_key: secret, ...rest } = pinned.storageOptions;
    expect(rest).toEqual({
      endpoint: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
      allow_http: "true",
      region: "us-east-1",
      aws_virtual_hosted_style_request: "false",
    });
    expect(keyId).toMatch(/^SLAF[0-9A-F]{16}$/);
    expect(secret).not.toBe(s3.account.secretAccessKey);
    expect(JSON.stringify(pinned)).not.toContain(s3.account.secretAccessKey);

    expect(await scan(pinned.uri, pinned.storageOptions)).toEqual(localScan);
    expect(localScan["expression.count"]).toBe(151_815);
    const config = await gateway.readFile(pinned, "config.json", { maxBytes: 1 << 20 });
    expect(config.equals(await fs.readFile(path.join(dir, "pbmc.slaf", "config.json")))).toBe(true);
    const c = gateway.counters().s3;
    expect(c.requests.list).toBeGreaterThan(0);
    expect(c.requests.get).toBeGreaterThan(0);
    expect(c.bytesDown).toBeGreaterThan(0);
    expect(c.latencyMs.p50).not.toBeNull();
    expect(c.endpoints).toEqual([proxy.url]);
  });

  it("sends zero upstream requests for a second identical scan, and no data request for the next open", async () => {
    const before = gateway.counters().s3;
    const up = proxy.bytesUp;
    expect(await scan(pinned.uri, pinned.storageOptions)).toEqual(localScan);
    expect(proxy.bytesUp).toBe(up);
    const after = gateway.counters().s3;
    expect(after.requests).toEqual(before.requests);
    expect(after.cache.hits).toBeGreaterThan(before.cache.hits);
    expect(after.cache.misses).toBe(before.cache.misses);

    // A new open learns ETags again (listings, HEADs) but every byte comes from the cache.
    const again = await gateway.pinS3(`s3://${bucket}/pbmc.slaf`, access);
    expect(again.storageOptions.aws_access_key_id).not.toBe(pinned.storageOptions.aws_access_key_id);
    expect(await scan(again.uri, again.storageOptions)).toEqual(localScan);
    expect(gateway.counters().s3.requests.get).toBe(before.requests.get);
  });

  it("offline: answers cached scans, and fails at once with OFFLINE_NOT_CACHED naming table and object otherwise", async () => {
    const unread = await gateway.pinS3(`s3://${bucket}/unread.slaf`, access);
    const db = await lancedb.connect(unread.uri, { storageOptions: unread.storageOptions });
    await (await db.openTable("expression")).countRows(); // listing and manifest cached, no data file read
    gateway.setOffline(true);
    const up = proxy.bytesUp;
    const requests = gateway.counters().s3.requests;
    try {
      expect(await scan(pinned.uri, pinned.storageOptions)).toEqual(localScan);
      // An offline open uses what the last online open saw.
      const offlineOpen = await gateway.pinS3(`s3://${bucket}/pbmc.slaf`, access);
      expect(offlineOpen.version).toBe(pinned.version);
      expect(await scan(offlineOpen.uri, offlineOpen.storageOptions)).toEqual(localScan);

      const failure = await (
        await db.openTable("expression")
      )
        .query()
        .where("cell_integer_id = 7")
        .toArray()
        .then(
          () => null,
          (e: unknown) => appFailureFromLanceError(e),
        );
      expect(failure?.appError.code).toBe("OFFLINE_NOT_CACHED");
      expect(failure?.appError.message).toMatch(
        new RegExp(
          `^Table "expression": Offline, and s3://${bucket}/unread\\.slaf/expression\\.lance/data/[0-9a-z]+\\.lance( \\(bytes \\d+-\\d+\\))? is not in the local cache$`,
        ),
      );
      expect(failure?.appError.path).toMatch(/^unread\.slaf\/expression\.lance\/data\//);

      const never = await gateway.pinS3(`s3://${bucket}/never-opened.slaf`, access).catch((e: unknown) => e);
      expect((never as { appError?: { code: string } }).appError?.code).toBe("OFFLINE_NOT_CACHED");
      expect(proxy.bytesUp).toBe(up);
      expect(gateway.counters().s3.requests).toEqual(requests);
    } finally {
      gateway.setOffline(false);
      db.close();
    }
  });

  it("changed no byte of the source bucket", async () => {
    expect(await s3.client.snapshot(bucket)).toEqual(bucketBefore);
  });
});
