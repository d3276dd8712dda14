/** The gateway's HTTP behaviour against the fake Hub, spoken to directly (no Lance): ranges, cache, faults, refusals. */
import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import http from "node:http";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startGateway } from "../../../main/services/gateway";
import { checkCachedBlocks, hubEnv, QUICK, request, type HubEnv } from "./helpers";

let env: HubEnv;
const files: Record<string, Buffer> = {
  "big.bin": randomBytes(50_000), // LFS: served through the CDN redirect
  "small.txt": Buffer.from("a small file kept in git, read without a redirect\n".repeat(6)),
  "dir/a/b.bin": randomBytes(5_000),
  "dir/c.txt": Buffer.from("ten bytes!"),
};

async function uploadFiles(id: string): Promise<string> {
  const dir = await env.hub.createRepo(id);
  for (const [rel, bytes] of Object.entries(files)) {
    await fs.mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
    await fs.writeFile(path.join(dir, rel), bytes);
  }
  return env.hub.commit(id);
}

const gw = (p: string): string => `${env.gateway.hfEndpoint}${p}`;
const resolve = (repo: string, rev: string, file: string): string => gw(`/datasets/${repo}/resolve/${rev}/${file}`);

beforeAll(async () => {
  env = await hubEnv({ dataset: false, hub: { pageSize: 2 }, gateway: { blockBytes: 4096, maxFetchBytes: 16_384 } });
});
afterAll(async () => {
  await env?.close();
});

describe("file reads", () => {
  let sha: string;
  beforeAll(async () => {
    sha = await uploadFiles("acme/files");
  });

  it("serves every kind of range exactly as the Hub has the file", async () => {
    const big = files["big.bin"];
    const cases: [string | null, number, number][] = [
      ["bytes=0-0", 0, 0],
      ["bytes=0-99", 0, 99],
      ["bytes=4095-4096", 4095, 4096],
      ["bytes=12345-23456", 12_345, 23_456],
      ["bytes=100-", 100, 49_999],
      ["bytes=-100", 49_900, 49_999],
      ["bytes=49990-60000", 49_990, 49_999],
      [null, 0, 49_999],
    ];
    for (const [range, start, end] of cases) {
      const res = await request(resolve("acme/files", sha, "big.bin"), { headers: range ? { range } : {} });
      expect(res.status, String(range)).toBe(range ? 206 : 200);
      expect(res.body.equals(big.subarray(start, end + 1)), String(range)).toBe(true);
      expect(res.headers.get("content-length")).toBe(String(end - start + 1));
      if (range) expect(res.headers.get("content-range")).toBe(`bytes ${start}-${end}/50000`);
      expect(res.headers.get("x-repo-commit")).toBe(sha);
    }
    const small = await request(resolve("acme/files", "main", "small.txt"), { headers: { range: "bytes=10-29" } });
    expect(small.body.equals(files["small.txt"].subarray(10, 30))).toBe(true);
    const beyond = await request(resolve("acme/files", sha, "big.bin"), { headers: { range: "bytes=50000-" } });
    expect(beyond.status).toBe(416);
    expect(beyond.headers.get("content-range")).toBe("bytes */50000");
    const head = await request(resolve("acme/files", sha, "dir/a/b.bin"), { method: "HEAD" });
    expect(head.headers.get("content-length")).toBe("5000");
    const missing = await request(resolve("acme/files", sha, "nope.bin"));
    expect(missing.status).toBe(404);
    expect(missing.headers.get("x-error-code")).toBe("EntryNotFound");
  });

  it("fetches blocks once: concurrent small reads coalesce, the CDN URL is reused, a repeat costs nothing", async () => {
    const cold = await uploadFiles("acme/coalesce");
    env.hub.resetLog();
    const big = files["big.bin"];
    const offsets = Array.from({ length: 20 }, (_, i) => i * 400);
    const reads = await Promise.all(offsets.map((o) => request(resolve("acme/coalesce", cold, "big.bin"), { headers: { range: `bytes=${o}-${o + 99}` } })));
    reads.forEach((r, i) => expect(r.body.equals(big.subarray(offsets[i], offsets[i] + 100))).toBe(true));
    expect(env.hub.count("resolve")).toBe(1);
    expect(env.hub.count("cdn")).toBeLessThanOrEqual(2);

    const far = await request(resolve("acme/coalesce", cold, "big.bin"), { headers: { range: "bytes=40000-40099" } });
    expect(far.body.equals(big.subarray(40_000, 40_100))).toBe(true);
    expect(env.hub.count("resolve")).toBe(1); // straight to the CDN with the URL from the first redirect

    const before = env.hub.log.length;
    await Promise.all(offsets.map((o) => request(resolve("acme/coalesce", cold, "big.bin"), { headers: { range: `bytes=${o}-${o + 99}` } })));
    expect(env.hub.log.length).toBe(before);
  });

  it("resolves a file once when reads far apart in it come together (the others wait for its CDN URL)", async () => {
    const s = await uploadFiles("acme/spread");
    // The file's size is on disk from a first read; a second gateway on the same cache knows it, but no CDN URL.
    await request(resolve("acme/spread", s, "big.bin"), { headers: { range: "bytes=0-9" } });
    const second = await startGateway({ cacheDir: env.cacheDir, hubEndpoint: env.hub.url, ...QUICK, blockBytes: 4096, maxFetchBytes: 16_384 });
    try {
      env.hub.resetLog();
      const big = files["big.bin"];
      // Blocks far apart: one upstream read each, all started before any CDN URL is known.
      const offsets = [12_000, 24_000, 36_000, 48_000];
      const url = `${second.hfEndpoint}/datasets/acme/spread/resolve/${s}/big.bin`;
      const reads = await Promise.all(offsets.map((o) => request(url, { headers: { range: `bytes=${o}-${o + 999}` } })));
      reads.forEach((r, i) => expect(r.body.equals(big.subarray(offsets[i], offsets[i] + 1000))).toBe(true));
      expect(env.hub.count("resolve")).toBe(1);
      expect(env.hub.count("cdn")).toBe(offsets.length);
    } finally {
      await second.close();
    }
  });

  it("resolves again when a remembered CDN URL stops working", async () => {
    const s = await uploadFiles("acme/rotate");
    await request(resolve("acme/rotate", s, "big.bin"), { headers: { range: "bytes=0-9" } });
    env.hub.rotateCdnKey();
    env.hub.resetLog();
    const res = await request(resolve("acme/rotate", s, "big.bin"), { headers: { range: "bytes=30000-30009" } });
    expect(res.body.equals(files["big.bin"].subarray(30_000, 30_010))).toBe(true);
    expect(env.hub.log.map((r) => `${r.kind}:${r.status}`)).toEqual(["cdn:403", "resolve:302", "cdn:206"]);
  });

  it("learns a file's size from its first block on HEAD, never the whole file", async () => {
    const s = await uploadFiles("acme/head");
    env.hub.resetLog();
    const head = await request(resolve("acme/head", s, "big.bin"), { method: "HEAD" });
    expect(head.headers.get("content-length")).toBe("50000");
    expect(env.hub.log.filter((r) => r.kind === "cdn").map((r) => r.range)).toEqual(["bytes=0-4095"]);
  });

  it("refuses bytes under another ETag than the file had in this commit, and caches none of them", async () => {
    const s = await uploadFiles("acme/etag");
    await request(resolve("acme/etag", s, "big.bin"), { headers: { range: "bytes=0-9" } });
    env.hub.faults.add({ kind: "corrupt" }, { on: "cdn", times: 1 });
    const bad = await request(resolve("acme/etag", s, "big.bin"), { headers: { range: "bytes=20000-20009" } });
    expect(bad.status).toBe(502);
    expect(bad.headers.get("x-error-code")).toBe("UpstreamInvalid");
    expect(bad.headers.get("x-error-message")).toMatch(/ETag of big\.bin changed/);
    expect(await checkCachedBlocks(env.cacheDir, "acme/etag", async (rel) => files[rel])).toEqual({ blocks: 1, temps: [], bad: [] });
    const good = await request(resolve("acme/etag", s, "big.bin"), { headers: { range: "bytes=20000-20009" } });
    expect(good.body.equals(files["big.bin"].subarray(20_000, 20_010))).toBe(true);
  });

  it("fetches again a cached block that was damaged or removed on disk", async () => {
    const s = await uploadFiles("acme/damaged");
    await request(resolve("acme/damaged", s, "big.bin"), { headers: { range: "bytes=0-12287" } });
    const blocks = (await fs.readdir(env.cacheDir, { recursive: true })).filter((f) => f.includes(`acme${path.sep}damaged`) && f.endsWith(".blk")).sort();
    expect(blocks.map((b) => path.basename(b))).toEqual(["@0.blk", "@4096.blk", "@8192.blk"]);
    await fs.truncate(path.join(env.cacheDir, blocks[0]), 100);
    await fs.rm(path.join(env.cacheDir, blocks[2]));
    env.hub.resetLog();
    const res = await request(resolve("acme/damaged", s, "big.bin"), { headers: { range: "bytes=0-12287" } });
    expect(res.body.equals(files["big.bin"].subarray(0, 12_288))).toBe(true);
    expect(env.hub.log.map((r) => `${r.kind}:${r.range}`)).toEqual(["cdn:bytes=0-4095", "cdn:bytes=8192-12287"]);
  });

  it("retries a cut body from the first block not yet written, and never keeps part of a block", async () => {
    const s = await uploadFiles("acme/cut");
    env.hub.faults.add({ kind: "cut" }, { on: ["cdn", "resolve"], times: 3 });
    const whole = await request(resolve("acme/cut", s, "big.bin"));
    expect(whole.body.equals(files["big.bin"])).toBe(true);
    const small = await request(resolve("acme/cut", s, "small.txt"));
    expect(small.body.equals(files["small.txt"])).toBe(true);
    expect(env.hub.faults.pending()).toBe(0);
    const check = await checkCachedBlocks(env.cacheDir, "acme/cut", async (rel) => files[rel]);
    expect(check).toEqual({ blocks: 14, temps: [], bad: [] });
  });

  it("keeps only whole blocks when every try is cut, and reads correctly once the Hub recovers", async () => {
    const s = await uploadFiles("acme/always-cut");
    // Each answer stops halfway through 3 blocks: block 0 arrives whole, block 1 only in part.
    env.hub.faults.add({ kind: "cut" }, { on: "cdn", times: 5 });
    const failed = await request(resolve("acme/always-cut", s, "big.bin"), { headers: { range: "bytes=0-12287" } });
    expect(failed.status).toBe(502);
    expect(failed.headers.get("x-error-code")).toBe("SourceUnreachable");
    expect(await checkCachedBlocks(env.cacheDir, "acme/always-cut", async (rel) => files[rel])).toEqual({ blocks: 1, temps: [], bad: [] });
    const ok = await request(resolve("acme/always-cut", s, "big.bin"), { headers: { range: "bytes=0-12287" } });
    expect(ok.body.equals(files["big.bin"].subarray(0, 12_288))).toBe(true);
  });

  it("retries 5xx and stalled connections; a Hub that keeps failing is SourceUnreachable", async () => {
    const s = await uploadFiles("acme/flaky");
    const retries = env.gateway.counters().hf.retries;
    env.hub.faults.add({ kind: "503" }, { on: "resolve", times: 2 });
    env.hub.faults.add({ kind: "stall", phase: "headers" }, { on: "cdn", times: 1 });
    const res = await request(resolve("acme/flaky", s, "big.bin"), { headers: { range: "bytes=0-9" } });
    expect(res.body.equals(files["big.bin"].subarray(0, 10))).toBe(true);
    expect(env.gateway.counters().hf.retries - retries).toBe(3);

    env.hub.faults.add({ kind: "503" }, { on: "tree", times: 5 });
    const down = await request(gw(`/api/datasets/acme/flaky/tree/${s}/dir`));
    expect(down.status).toBe(502);
    expect(down.headers.get("x-error-code")).toBe("SourceUnreachable");
    expect(down.headers.get("x-error-message")).toMatch(/did not answer .* after 5 tries/);
  });
});

describe("listings, paths-info and revisions", () => {
  let sha: string;
  beforeAll(async () => {
    sha = await uploadFiles("acme/meta");
  });

  it("serves a tree listing whole (every Link page fetched upstream), cached per commit; a missing folder's 404 too", async () => {
    env.hub.resetLog();
    const res = await request(gw(`/api/datasets/acme/meta/tree/${sha}/?expand=True&recursive=True`));
    const entries = JSON.parse(res.body.toString()) as { path: string; type: string }[];
    expect(entries.map((e) => `${e.type[0]}:${e.path}`)).toEqual(["f:big.bin", "d:dir", "d:dir/a", "f:dir/a/b.bin", "f:dir/c.txt", "f:small.txt"]);
    expect(res.headers.get("link")).toBeNull();
    expect(env.hub.count("tree")).toBe(3); // pages of 2
    const top = await request(gw(`/api/datasets/acme/meta/tree/${sha}/dir?expand=True`));
    expect((JSON.parse(top.body.toString()) as { path: string }[]).map((e) => e.path)).toEqual(["dir/a", "dir/c.txt"]);
    const missing = await request(gw(`/api/datasets/acme/meta/tree/${sha}/nothing/here?expand=True&recursive=True`));
    expect(missing.status).toBe(404);
    expect(missing.headers.get("x-error-code")).toBe("EntryNotFound");

    const upstream = env.hub.log.length;
    await request(gw(`/api/datasets/acme/meta/tree/${sha}/?expand=True&recursive=True`));
    await request(gw(`/api/datasets/acme/meta/tree/${sha}/nothing/here?expand=True&recursive=True`));
    expect(env.hub.log.length).toBe(upstream);
  });

  it("answers paths-info (form or JSON; not found is []) and caches it", async () => {
    const form = await request(gw(`/api/datasets/acme/meta/paths-info/${sha}`), {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "paths=dir%2Fc.txt&paths=nope&expand=True",
    });
    const entries = JSON.parse(form.body.toString()) as { path: string; size: number; lastCommit?: { id: string } }[];
    expect(entries.map((e) => [e.path, e.size, e.lastCommit?.id])).toEqual([["dir/c.txt", 10, sha]]);
    const json = await request(gw(`/api/datasets/acme/meta/paths-info/${sha}`), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ paths: ["big.bin"], expand: false }),
    });
    expect((JSON.parse(json.body.toString()) as { lfs?: { size: number } }[])[0].lfs?.size).toBe(50_000);
    const upstream = env.hub.log.length;
    await request(gw(`/api/datasets/acme/meta/paths-info/${sha}`), {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "paths=nope&paths=dir%2Fc.txt&expand=True",
    });
    expect(env.hub.log.length).toBe(upstream);
  });

  it("resolves a branch once and pins it: reads keep that commit after the branch moves, until pinned again", async () => {
    const first = await uploadFiles("acme/branch");
    env.hub.resetLog();
    const a = await request(resolve("acme/branch", "main", "dir/c.txt"));
    expect(a.headers.get("x-repo-commit")).toBe(first);
    await fs.writeFile(path.join(env.hub.repoDir("acme/branch"), "dir", "c.txt"), "changed!!!");
    const second = await env.hub.commit("acme/branch");
    const b = await request(resolve("acme/branch", "main", "dir/c.txt"));
    expect(b.body.toString()).toBe("ten bytes!");
    expect(env.hub.log.filter((r) => r.path.includes("/revision/")).length).toBe(1);
    const pinned = await env.gateway.pin("hf://datasets/acme/branch");
    expect(pinned.sha).toBe(second);
    const c = await request(resolve("acme/branch", "main", "dir/c.txt"));
    expect(c.body.toString()).toBe("changed!!!");
    expect((await request(resolve("acme/branch", first, "dir/c.txt"))).body.toString()).toBe("ten bytes!");
    // Revision names are percent-decoded per segment: a tag "v1.0" and a PR ref.
    env.hub.tag("acme/branch", "v1.0", first);
    expect((await request(resolve("acme/branch", "v1%2E0", "dir/c.txt"))).body.toString()).toBe("ten bytes!");
    const pr = await request(gw(`/api/datasets/acme/branch/tree/refs%2Fpr%2F1/dir`));
    expect(pr.headers.get("x-error-code")).toBe("RevisionNotFound");
  });

  it("offline: serves what is cached and answers anything else at once with OfflineNotCached, asking nothing upstream", async () => {
    const s = await uploadFiles("acme/offline");
    await request(resolve("acme/offline", s, "big.bin"), { headers: { range: "bytes=0-99" } });
    env.gateway.setOffline(true);
    env.hub.resetLog();
    try {
      const cached = await request(resolve("acme/offline", s, "big.bin"), { headers: { range: "bytes=10-4000" } });
      expect(cached.body.equals(files["big.bin"].subarray(10, 4001))).toBe(true);
      const miss = await request(resolve("acme/offline", s, "big.bin"), { headers: { range: "bytes=20000-20099" } });
      expect(miss.status).toBe(409);
      expect(miss.headers.get("x-error-code")).toBe("OfflineNotCached");
      expect(miss.headers.get("x-error-message")).toBe(
        `Offline, and big.bin (bytes 20000-20099 of acme/offline at ${s.slice(0, 8)}) is not in the local cache`,
      );
      const listing = await request(gw(`/api/datasets/acme/offline/tree/${s}/dir`));
      expect(listing.headers.get("x-error-code")).toBe("OfflineNotCached");
      const branch = await request(gw(`/api/datasets/acme/offline/tree/dev/dir`));
      expect(branch.headers.get("x-error-message")).toMatch(/revision "dev" of acme\/offline \(it was never opened online\)/);
      expect(env.hub.log).toEqual([]);
    } finally {
      env.gateway.setOffline(false);
    }
  });
});

describe("Hub etiquette and accounting", () => {
  it("paces requests as the budget runs low, so the Hub never has to answer 429", async () => {
    const s = await uploadFiles("acme/paced");
    await request(gw(`/api/datasets/acme/paced/tree/${s}/dir`)); // warm: the connection and the first budget reading
    env.hub.budget.set("api", { quota: 8, windowSeconds: 1 });
    env.hub.resetLog();
    try {
      // 20 distinct listings (missing folders: each a real upstream request), twice the window's quota.
      for (let i = 0; i < 20; i++) {
        const res = await request(gw(`/api/datasets/acme/paced/tree/${s}/missing-${i}`));
        expect(res.headers.get("x-error-code")).toBe("EntryNotFound");
      }
      expect(env.hub.count("tree")).toBe(20);
      expect(env.hub.log.filter((r) => r.status === 429)).toEqual([]);
      expect(env.gateway.counters().hf.rateLimit.api).toMatchObject({ quota: 8, windowSeconds: 1 });
    } finally {
      env.hub.budget.set("api", { quota: 100_000, windowSeconds: 300 });
    }
  });

  it("gives up with RateLimited (never a 429) when the Hub asks for a longer wait than allowed", async () => {
    const s = await uploadFiles("acme/limited");
    const impatient = await startGateway({ cacheDir: path.join(env.dir, "cache-impatient"), hubEndpoint: env.hub.url, ...QUICK, maxRateLimitWaitMs: 100 });
    try {
      env.hub.faults.add({ kind: "429", retryAfter: 30 }, { on: "resolve", times: 1 });
      const res = await request(`${impatient.hfEndpoint}/datasets/acme/limited/resolve/${s}/small.txt`);
      expect(res.status).toBe(409);
      expect(res.headers.get("x-error-code")).toBe("RateLimited");
      expect(impatient.counters().hf.rateLimited).toBe(1);
    } finally {
      env.hub.faults.clear();
      await impatient.close();
    }
  });

  it("counts upstream requests by kind, bytes, latency and cache hits", async () => {
    const fresh = await startGateway({ cacheDir: path.join(env.dir, "cache-counted"), hubEndpoint: env.hub.url, ...QUICK, blockBytes: 4096 });
    try {
      const s = await uploadFiles("acme/counted");
      const base = `${fresh.hfEndpoint}/datasets/acme/counted/resolve/${s}`;
      await request(`${base}/big.bin`, { headers: { range: "bytes=0-4095" } });
      await request(`${base}/big.bin`, { headers: { range: "bytes=0-4095" } });
      await request(`${base}/small.txt`);
      const listing = await request(`${fresh.hfEndpoint}/api/datasets/acme/counted/tree/main/dir`);
      const c = fresh.counters().hf;
      expect(c.requests).toEqual({ api: 1, tree: 1, resolve: 2, cdn: 1 });
      expect(c.cache).toMatchObject({ hits: 1, misses: 3 });
      expect(c.bytesServed).toBe(4096 * 2 + files["small.txt"].length + listing.body.length);
      expect(c.bytesDown).toBeGreaterThanOrEqual(4096 + files["small.txt"].length);
      expect(c.latencyMs.p50).not.toBeNull();
      expect(c.latencyMs.p95!).toBeGreaterThanOrEqual(c.latencyMs.p50!);
      expect(c.endpoint).toBe(env.hub.url);
    } finally {
      await fresh.close();
    }
  });
});

describe("refusals", () => {
  let sha: string;
  beforeAll(async () => {
    sha = await uploadFiles("acme/locked");
  });

  /** A request with the path sent exactly as written (fetch would normalise "..") and any Host. */
  function rawRequest(port: number, p: string, headers: Record<string, string>, method = "GET", body?: string): Promise<number> {
    return new Promise((done, fail) => {
      const req = http.request({ host: "127.0.0.1", port, path: p, headers, method }, (res) => {
        res.resume();
        done(res.statusCode ?? 0);
      });
      req.on("error", fail);
      req.end(body);
    });
  }

  it("answers 403 without the secret or with a foreign Host, and asks nothing upstream", async () => {
    env.hub.resetLog();
    const url = new URL(env.gateway.hfEndpoint);
    const secret = url.pathname.slice(1);
    const origin = url.origin;
    for (const p of [
      `/api/datasets/acme/locked`,
      `/${secret.slice(0, -1)}/api/datasets/acme/locked`,
      `/${secret}x/api/datasets/acme/locked`,
      `/x${secret}/datasets/acme/locked/resolve/main/big.bin`,
      `/`,
      `/${secret}`,
    ]) {
      expect((await request(`${origin}${p}`)).status, p).toBe(403);
    }
    expect(await rawRequest(Number(url.port), `/${secret}/api/datasets/acme/locked`, { host: "evil.example:80" })).toBe(403);
    expect(await rawRequest(Number(url.port), `/${secret}/api/datasets/acme/locked`, { host: `127.0.0.1:${url.port}` })).toBe(200);
    expect(env.hub.log.filter((r) => r.kind !== "repo-info")).toEqual([]);
    expect(env.hub.log.length).toBeLessThanOrEqual(1);
  });

  it("refuses every write and every API it does not serve, with no upstream request", async () => {
    env.hub.resetLog();
    const attempts: [string, string, string?][] = [
      ["PUT", `/datasets/acme/locked/resolve/main/big.bin`, "data"],
      ["DELETE", `/datasets/acme/locked/resolve/main/big.bin`],
      ["POST", `/api/datasets/acme/locked/commit/main`, "{}"],
      ["POST", `/api/datasets/acme/locked/preupload/main`, "{}"],
      ["GET", `/api/datasets/acme/locked/xet-write-token/main`],
      ["GET", `/api/datasets/acme/locked/xet-read-token/main`],
      ["POST", `/datasets/acme/locked.git/info/lfs/objects/batch`, "{}"],
      ["POST", `/api/datasets/acme/locked/tree/main`, "{}"],
      ["DELETE", `/api/datasets/acme/locked`],
      ["POST", `/api/repos/create`, "{}"],
      ["GET", `/api/models/acme/locked`],
      ["GET", `/api/whoami-v2`],
      ["GET", `/datasets/acme/locked/resolve/main/../../../etc/passwd`],
      ["GET", `/datasets/acme/locked/resolve/main/dir/%2E%2E/%2E%2E/x`],
    ];
    const url = new URL(env.gateway.hfEndpoint);
    for (const [method, p, body] of attempts) {
      expect(await rawRequest(Number(url.port), `${url.pathname}${p}`, { host: url.host }, method, body), `${method} ${p}`).toBe(403);
    }
    expect(env.hub.log).toEqual([]);
    const ok = await request(resolve("acme/locked", sha, "dir/c.txt"));
    expect(ok.status).toBe(200);
  });
});
