/**
 * The gateway's S3 face over HTTP, against a real S3 server (radosgw) behind a fault-injecting proxy: who may
 * ask (only requests signed with an open's local key, inside its bucket and prefix), what may be asked (reads
 * only), ranges and listings as S3 answers them, named errors for the upstream's refusals, retries of cut
 * bodies and SlowDown answers, and a cache that never holds a wrong or partial block.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startGateway, type Gateway, type PinnedS3Dataset, type S3Access } from "../../../main/services/gateway";
import { startFaultProxy, type FaultProxy } from "../../fixtures/s3/fault-proxy";
import { s3Available, s3TestServer, type S3TestServer } from "../../fixtures/s3/rgw";
import { S3TestClient, type S3Account } from "../../fixtures/s3/s3-client";
import { tempDir } from "../../fixtures/slaf-fixture";
import { QUICK } from "./helpers";

const BLOCK = 16 * 1024;

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await fs.readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await walk(full)));
    else out.push(full);
  }
  return out;
}

/** Every cached block of every S3 object version, checked against the bytes that version had; temp files left. */
async function checkS3Cache(cacheDir: string, versions: Map<string, Buffer>): Promise<{ blocks: number; bad: string[]; temps: string[] }> {
  const files = await walk(path.join(cacheDir, "s3"));
  const bad: string[] = [];
  let blocks = 0;
  for (const metaFile of files.filter((f) => path.basename(f) === "@file.json")) {
    const meta = JSON.parse(await fs.readFile(metaFile, "utf8")) as { size: number; etag: string; blockBytes: number };
    const source = versions.get(meta.etag);
    if (!source) {
      bad.push(`${metaFile}: unknown ETag ${meta.etag}`);
      continue;
    }
    for (const name of await fs.readdir(path.dirname(metaFile))) {
      const m = /^@(\d+)\.blk$/.exec(name);
      if (!m) continue;
      blocks++;
      const start = Number(m[1]);
      const bytes = await fs.readFile(path.join(path.dirname(metaFile), name));
      if (!bytes.equals(source.subarray(start, Math.min(source.length, start + meta.blockBytes)))) bad.push(`${metaFile} block at ${start} differs`);
    }
  }
  return { blocks, bad, temps: files.filter((f) => f.includes(".tmp-")) };
}

describe.skipIf(!s3Available())("the gateway's S3 face (radosgw behind a fault proxy)", () => {
  let s3: S3TestServer;
  let proxy: FaultProxy;
  let gateway: Gateway;
  let dir: string;
  let cacheDir: string;
  let bucket: string;
  let access: S3Access;
  let pinned: PinnedS3Dataset;
  /** The gateway as Lance sees it: signed with the open's local key pair. */
  let lance: S3TestClient;
  const objects = new Map<string, Buffer>();
  /** ETag → content of every object version written, for cache checks. */
  const versions = new Map<string, Buffer>();

  async function put(key: string, body: Buffer): Promise<void> {
    await s3.client.put(bucket, key, body);
    objects.set(key, body);
    const etag = (await s3.client.list(bucket, key)).find((o) => o.key === key)!.etag;
    versions.set(etag, body);
  }

  function localAccount(p: PinnedS3Dataset): S3Account {
    return {
      endpoint: p.storageOptions.endpoint,
      accessKeyId: p.storageOptions.aws_access_key_id,
      secretAccessKey: p.storageOptions.aws_secret_access_key,
      region: "us-east-1",
    };
  }

  /** Runs `fn` and checks that it sent nothing upstream. */
  async function noUpstream<T>(fn: () => Promise<T>): Promise<T> {
    const up = proxy.bytesUp;
    const requests = gateway.counters().s3.requests;
    const out = await fn();
    expect(proxy.bytesUp).toBe(up);
    expect(gateway.counters().s3.requests).toEqual(requests);
    return out;
  }

  beforeAll(async () => {
    s3 = await s3TestServer();
    dir = await tempDir("slafwb-s3-gateway-");
    cacheDir = path.join(dir, "cache");
    bucket = await s3.bucket();
    await put("ds/config.json", Buffer.from('{"format_version":"0.5"}'));
    await put("ds/data/big.bin", randomBytes(200 * 1024 + 123));
    await put("ds/data/cut.bin", randomBytes(100 * 1024));
    await put("ds/data/stubborn.bin", randomBytes(100 * 1024));
    await put("ds/data/slow.bin", randomBytes(40 * 1024));
    await put("ds/data/changing.bin", randomBytes(64 * 1024));
    await put("ds/data/offline.bin", randomBytes(40 * 1024));
    await put("ds/data/evicted.bin", randomBytes(200 * 1024));
    await put("ds/data/flaky.bin", randomBytes(40 * 1024));
    await put("ds/empty.bin", Buffer.alloc(0));
    for (let i = 0; i < 5; i++) await put(`ds/tbl.lance/_versions/${i}.manifest`, Buffer.from(`manifest ${i}`));
    await put("ds/a b+c/ü&x.bin", Buffer.from("odd key"));
    await put("other/secret.txt", Buffer.from("outside the dataset"));
    proxy = await startFaultProxy(s3.account.endpoint);
    access = { accessKeyId: s3.account.accessKeyId, secretAccessKey: s3.account.secretAccessKey, region: "us-east-1", endpoint: proxy.url };
    gateway = await startGateway({ cacheDir, hubEndpoint: "http://127.0.0.1:9", ...QUICK, blockBytes: BLOCK, maxFetchBytes: 4 * BLOCK });
    pinned = await gateway.pinS3(`s3://${bucket}/ds`, access);
    lance = new S3TestClient(localAccount(pinned));
  });
  afterAll(async () => {
    await gateway?.close();
    await proxy?.close();
    await s3?.close();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it("serves whole objects, ranges (bounded, open, suffix), HEAD and odd keys as S3 does", async () => {
    const big = objects.get("ds/data/big.bin")!;
    const whole = await lance.request("GET", `${bucket}/ds/data/big.bin`);
    expect(whole.status).toBe(200);
    expect(whole.body.equals(big)).toBe(true);
    expect(whole.headers.get("etag")).toMatch(/^"[0-9a-f]{32}"$/);
    expect(whole.headers.get("last-modified")).toMatch(/GMT$/);
    const cases: [string, number, number][] = [
      ["bytes=10-19", 10, 19],
      ["bytes=20000-40000", 20000, 40000],
      [`bytes=${big.length - 5}-`, big.length - 5, big.length - 1],
      ["bytes=-100", big.length - 100, big.length - 1],
      [`bytes=100-${big.length + 1000}`, 100, big.length - 1],
    ];
    for (const [range, start, end] of cases) {
      const r = await lance.request("GET", `${bucket}/ds/data/big.bin`, { headers: { range } });
      expect(r.status, range).toBe(206);
      expect(r.headers.get("content-range")).toBe(`bytes ${start}-${end}/${big.length}`);
      expect(r.body.equals(big.subarray(start, end + 1)), range).toBe(true);
    }
    expect((await lance.request("GET", `${bucket}/ds/data/big.bin`, { headers: { range: `bytes=${big.length}-` } })).status).toBe(416);
    const head = await lance.request("HEAD", `${bucket}/ds/data/big.bin`);
    expect(head.status).toBe(200);
    expect(head.headers.get("content-length")).toBe(String(big.length));
    expect((await lance.request("GET", `${bucket}/ds/empty.bin`)).body.length).toBe(0);
    expect((await lance.request("GET", `${bucket}/ds/a b+c/ü&x.bin`)).body.toString()).toBe("odd key");
    const missing = await lance.request("GET", `${bucket}/ds/nope.bin`);
    expect(missing.status).toBe(404);
    expect(missing.body.toString()).toContain("<Code>EntryNotFound</Code>");
    // Read again: all from the cache.
    await noUpstream(async () => {
      expect((await lance.request("GET", `${bucket}/ds/data/big.bin`)).body.equals(big)).toBe(true);
    });
  });

  it("passes ListObjectsV2 on (prefix, delimiter, continuation tokens), fetched once per open", async () => {
    const direct = async (query: Record<string, string>): Promise<string> => (await s3.client.request("GET", bucket, { query })).body.toString();
    const viaGateway = async (query: Record<string, string>): Promise<string> => {
      const r = await lance.request("GET", bucket, { query });
      expect(r.status).toBe(200);
      return r.body.toString();
    };
    const root = { "list-type": "2", prefix: "ds/", delimiter: "/" };
    expect(await viaGateway(root)).toBe(await direct(root));
    expect(await viaGateway(root)).toContain("<Prefix>ds/tbl.lance/</Prefix>");
    const first = { "list-type": "2", prefix: "ds/tbl.lance/_versions/", "max-keys": "2" };
    const page1 = await viaGateway(first);
    expect(page1).toBe(await direct(first));
    expect(page1).toContain("<IsTruncated>true</IsTruncated>");
    const token = /<NextContinuationToken>([^<]+)</.exec(page1)![1];
    const second = { ...first, "continuation-token": token };
    expect(await viaGateway(second)).toBe(await direct(second));
    await noUpstream(async () => {
      expect(await viaGateway(second)).toBe(await direct(second));
    });
    // Listed objects are known with their ETags: reading one needs no HEAD.
    const heads = gateway.counters().s3.requests.head;
    expect((await lance.request("GET", `${bucket}/ds/tbl.lance/_versions/0.manifest`)).body.toString()).toBe("manifest 0");
    expect(gateway.counters().s3.requests.head).toBe(heads);
  });

  it("a new open learns the ETags of a folder's objects from one listing of it, not a HEAD per object", async () => {
    const again = await gateway.pinS3(`s3://${bucket}/ds`, access);
    const client = new S3TestClient(localAccount(again));
    const before = gateway.counters().s3.requests;
    for (const name of ["big", "cut", "slow"]) {
      const key = `ds/data/${name}.bin`;
      const r = await client.request("GET", `${bucket}/${key}`, { headers: { range: "bytes=0-99" } });
      expect(r.status).toBe(206);
      expect(r.headers.get("content-range")).toBe(`bytes 0-99/${objects.get(key)!.length}`);
      expect(versions.get(r.headers.get("etag")!.replace(/"/g, ""))).toBe(objects.get(key));
    }
    const after = gateway.counters().s3.requests;
    expect(after.head - before.head).toBe(0);
    expect(after.list - before.list).toBe(1);
    // A key the listing does not hold is still asked for, and named missing.
    const missing = await client.request("GET", `${bucket}/ds/data/nope.bin`);
    expect(missing.status).toBe(404);
    expect(missing.body.toString()).toContain("<Code>EntryNotFound</Code>");
  });

  it("refuses requests not signed with an open's local key, and reads outside the open's bucket and prefix, with no upstream request", async () => {
    await noUpstream(async () => {
      const url = `${pinned.storageOptions.endpoint}/${bucket}/ds/config.json`;
      expect((await fetch(url)).status).toBe(403);
      const account = localAccount(pinned);
      const wrongSecret = await lance.request("GET", `${bucket}/ds/config.json`, { account: { ...account, secretAccessKey: "not-the-secret" } });
      expect(wrongSecret.status).toBe(403);
      expect(wrongSecret.body.toString()).toContain("the signature does not match");
      const unknownKey = await lance.request("GET", `${bucket}/ds/config.json`, { account: { ...account, accessKeyId: "SLAF0000000000000000" } });
      expect(unknownKey.status).toBe(403);
      // The user's own credentials are no key of the gateway.
      expect((await lance.request("GET", `${bucket}/ds/config.json`, { account: { ...s3.account, endpoint: account.endpoint } })).status).toBe(403);
      expect((await lance.request("GET", `${bucket}/other/secret.txt`)).status).toBe(403);
      expect((await lance.request("GET", bucket, { query: { "list-type": "2", prefix: "other/" } })).status).toBe(403);
      expect((await lance.request("GET", bucket, { query: { "list-type": "2" } })).status).toBe(403);
      expect((await lance.request("GET", `not-${bucket}/ds/config.json`)).status).toBe(403);
    });
  });

  it("refuses every write and sub-resource, signed or not, with no upstream request; the bucket is unchanged", async () => {
    const before = await s3.client.snapshot(bucket);
    await noUpstream(async () => {
      const attempts: [string, string, Record<string, string>?][] = [
        ["PUT", `${bucket}/ds/new.bin`],
        ["PUT", `${bucket}/ds/config.json`],
        ["DELETE", `${bucket}/ds/config.json`],
        ["POST", `${bucket}/ds/big.bin`, { uploads: "" }],
        ["POST", bucket, { delete: "" }],
        ["PUT", bucket],
        ["DELETE", bucket],
        ["GET", `${bucket}/ds/config.json`, { acl: "" }],
        ["GET", bucket, { uploads: "" }],
        ["GET", ""],
      ];
      for (const [method, target, query] of attempts) {
        const r = await lance.request(method, target, { query, body: method === "PUT" || method === "POST" ? "x" : undefined });
        expect(r.status, `${method} ${target} ${JSON.stringify(query ?? {})}`).toBe(403);
      }
    });
    expect(await s3.client.snapshot(bucket)).toEqual(before);
  });

  it("names the upstream's refusals: wrong credentials, a missing bucket or prefix, a private bucket without credentials, a bad URI", async () => {
    const code = (p: Promise<unknown>): Promise<string | undefined> =>
      p.then(
        () => undefined,
        (e: { appError?: { code: string } }) => e.appError?.code,
      );
    expect(await code(gateway.pinS3(`s3://${bucket}/ds`, { ...access, secretAccessKey: "wrong" }))).toBe("AUTH_INVALID");
    expect(await code(gateway.pinS3(`s3://${bucket}/ds`, { ...access, accessKeyId: "NOSUCHKEY" }))).toBe("AUTH_INVALID");
    expect(await code(gateway.pinS3(`s3://no-such-bucket-${Date.now()}/ds`, access))).toBe("DATASET_NOT_FOUND");
    expect(await code(gateway.pinS3(`s3://${bucket}/no-such-prefix`, access))).toBe("DATASET_NOT_FOUND");
    expect(await code(gateway.pinS3(`s3://${bucket}/ds`, { region: "us-east-1", endpoint: proxy.url, anonymous: true }))).toBe("AUTH_REQUIRED");
    expect(await code(gateway.pinS3("s3://A_B/ds", access))).toBe("INVALID_ARGUMENT");
    expect(await code(gateway.pinS3(`s3://${bucket}/ds/../other`, access))).toBe("INVALID_ARGUMENT");
    const failed = await gateway.pinS3(`s3://${bucket}/ds`, { ...access, secretAccessKey: "wrong" }).catch((e: Error) => e);
    expect((failed as Error).message).not.toContain("wrong");
  });

  it("retries a cut body; a connection cut every time fails with SOURCE_UNREACHABLE; the cache holds only whole, correct blocks", async () => {
    const cut = objects.get("ds/data/cut.bin")!;
    await lance.request("HEAD", `${bucket}/ds/data/cut.bin`); // the ETag is known: the next connection carries the GET
    proxy.arm({ kind: "cut", afterBytes: 3 * 1024, times: 1 });
    const retries = gateway.counters().s3.retries;
    const r = await lance.request("GET", `${bucket}/ds/data/cut.bin`);
    expect(r.status).toBe(200);
    expect(r.body.equals(cut)).toBe(true);
    expect(proxy.injected).toBeGreaterThanOrEqual(1);
    expect(gateway.counters().s3.retries).toBeGreaterThan(retries);

    await lance.request("HEAD", `${bucket}/ds/data/stubborn.bin`);
    proxy.arm({ kind: "cut", afterBytes: 2000, times: 1000 });
    const failed = await lance.request("GET", `${bucket}/ds/data/stubborn.bin`);
    proxy.arm({ kind: "cut", afterBytes: 0, times: 0 });
    expect(failed.status).toBe(502);
    expect(failed.body.toString()).toContain("<Code>SourceUnreachable</Code>");
    // The failed answer may go out while another span's block is still being written (temp, then rename): wait
    // for writes in flight to end, then nothing may be left but whole, correct blocks.
    await expect.poll(async () => (await checkS3Cache(cacheDir, versions)).temps, { timeout: 10_000 }).toEqual([]);
    const check = await checkS3Cache(cacheDir, versions);
    expect(check.bad).toEqual([]);
    expect(check.blocks).toBeGreaterThan(10);
  });

  it("waits out 503 SlowDown answers instead of passing them to Lance", async () => {
    await lance.request("HEAD", `${bucket}/ds/data/slow.bin`);
    const before = gateway.counters().s3;
    // More SlowDowns than the 5 tries a failing request gets: they are waited out, not counted as failures.
    proxy.arm({ kind: "slowDown", times: 6 });
    const r = await lance.request("GET", `${bucket}/ds/data/slow.bin`);
    expect(r.status).toBe(200);
    expect(r.body.equals(objects.get("ds/data/slow.bin")!)).toBe(true);
    const after = gateway.counters().s3;
    expect(after.slowDowns - before.slowDowns).toBe(6);
    expect(after.retries - before.retries).toBe(6);
  });

  it("retries 5xx answers and a stalled connection with backoff", async () => {
    const key = "ds/data/flaky.bin";
    await lance.request("HEAD", `${bucket}/${key}`);
    const before = gateway.counters().s3;
    const injected = proxy.injected;
    proxy.arm({ kind: "status", status: 500, times: 2 });
    const r = await lance.request("GET", `${bucket}/${key}`, { headers: { range: "bytes=0-99" } });
    expect(r.body.equals(objects.get(key)!.subarray(0, 100))).toBe(true);
    proxy.arm({ kind: "stall", times: 1 });
    const stalled = await lance.request("GET", `${bucket}/${key}`, { headers: { range: `bytes=${BLOCK}-${BLOCK + 99}` } });
    expect(stalled.body.equals(objects.get(key)!.subarray(BLOCK, BLOCK + 100))).toBe(true);
    expect(proxy.injected - injected).toBe(3);
    expect(gateway.counters().s3.retries - before.retries).toBe(3);
  });

  it("never mixes a rewritten object with its old blocks: the open that saw the old ETag fails, a new open reads the new bytes", async () => {
    const key = "ds/data/changing.bin";
    const old = objects.get(key)!;
    const firstBlock = await lance.request("GET", `${bucket}/${key}`, { headers: { range: "bytes=0-99" } });
    expect(firstBlock.body.equals(old.subarray(0, 100))).toBe(true);
    await put(key, randomBytes(old.length));
    const fresh = objects.get(key)!;
    // Cached bytes of the version this open saw are still served; uncached ones cannot come from the new version.
    expect((await lance.request("GET", `${bucket}/${key}`, { headers: { range: "bytes=0-99" } })).body.equals(old.subarray(0, 100))).toBe(true);
    const mixed = await lance.request("GET", `${bucket}/${key}`, { headers: { range: `bytes=${old.length - 100}-` } });
    expect(mixed.status).toBe(502);
    expect(mixed.body.toString()).toContain("changed since the dataset was opened");

    const reopened = await gateway.pinS3(`s3://${bucket}/ds`, access);
    const now = await new S3TestClient(localAccount(reopened)).request("GET", `${bucket}/${key}`);
    expect(now.body.equals(fresh)).toBe(true);
    const check = await checkS3Cache(cacheDir, versions);
    expect(check.bad).toEqual([]);
  });

  it("reads a range again after an eviction took the object's cache entry, fetching only that range", async () => {
    const key = "ds/data/evicted.bin";
    const source = objects.get(key)!;
    expect((await lance.request("GET", `${bucket}/${key}`, { headers: { range: "bytes=0-99" } })).body.equals(source.subarray(0, 100))).toBe(true);
    const metaFile = (await walk(path.join(cacheDir, "s3"))).find((f) => f.endsWith(path.join("evicted.bin", "@file.json")))!;
    await fs.rm(path.dirname(metaFile), { recursive: true });
    const down = gateway.counters().s3.bytesDown;
    const r = await lance.request("GET", `${bucket}/${key}`, { headers: { range: "bytes=150000-150099" } });
    expect(r.body.equals(source.subarray(150000, 150100))).toBe(true);
    expect(gateway.counters().s3.bytesDown - down).toBeLessThan(source.length / 2);
  });

  it("reads a public bucket anonymously: upstream requests go unsigned", async () => {
    const open = await s3.bucket({ publicRead: true });
    await s3.client.request("PUT", `${open}/ds/config.json`, { body: "{}", headers: { "x-amz-acl": "public-read" } });
    const p = await gateway.pinS3(`s3://${open}/ds`, { endpoint: s3.account.endpoint, anonymous: true });
    expect((await new S3TestClient(localAccount(p)).request("GET", `${open}/ds/config.json`)).body.toString()).toBe("{}");
    expect((await gateway.readFile(p, "config.json", { maxBytes: 10 })).toString()).toBe("{}");
  });

  it("serves several upstreams at once, each open on its own endpoint and credentials", async () => {
    const direct = await gateway.pinS3(`s3://${bucket}/ds`, { ...access, endpoint: s3.account.endpoint });
    const [a, b] = await Promise.all([
      new S3TestClient(localAccount(direct)).request("GET", `${bucket}/ds/config.json`),
      lance.request("GET", `${bucket}/ds/config.json`),
    ]);
    expect(a.body.equals(objects.get("ds/config.json")!)).toBe(true);
    expect(b.body.equals(objects.get("ds/config.json")!)).toBe(true);
    expect(gateway.counters().s3.endpoints.sort()).toEqual([proxy.url, s3.account.endpoint].sort());
  });

  it("offline: cached bytes are served, a miss fails at once with OfflineNotCached and no upstream request", async () => {
    await lance.request("GET", `${bucket}/ds/data/offline.bin`, { headers: { range: "bytes=0-99" } });
    gateway.setOffline(true);
    try {
      await noUpstream(async () => {
        const cached = await lance.request("GET", `${bucket}/ds/data/offline.bin`, { headers: { range: "bytes=0-99" } });
        expect(cached.body.equals(objects.get("ds/data/offline.bin")!.subarray(0, 100))).toBe(true);
        const miss = await lance.request("GET", `${bucket}/ds/data/offline.bin`, { headers: { range: "bytes=30000-30099" } });
        expect(miss.status).toBe(409);
        expect(miss.body.toString()).toContain("<Code>OfflineNotCached</Code>");
        expect(miss.body.toString()).toContain(`s3://${bucket}/ds/data/offline.bin (bytes 30000-30099)`);
      });
    } finally {
      gateway.setOffline(false);
    }
  });
});
