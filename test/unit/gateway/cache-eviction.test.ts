/**
 * The size cap and LRU eviction, on blocks read through a real gateway from the fake Hub: the least recently
 * used unpinned blocks go first, pinned and in-use blocks stay, and reads keep working when their blocks vanish.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startGateway, type Gateway } from "../../../main/services/gateway";
import { CacheKeeper } from "../../../main/services/gateway/cache-keeper";
import { cacheManager } from "../../../main/services/gateway/cache-manager";
import { PinRecorder } from "../../../main/services/gateway/cache-pin";
import { pinSite } from "../../../main/services/gateway/cache-pin-sites";
import { HubDiskCache } from "../../../main/services/gateway/disk-cache";
import { blocksUnder, getThrough, openStream, resolveUrl, uploadBlobs } from "./cache-helpers";
import { hubEnv, QUICK, type HubEnv } from "./helpers";

const KB = 1024;
const BLOCK = 4 * KB;
let env: HubEnv;
/** A second gateway on the same cache with larger blocks, for the reads over 8 MiB (the file's first reader sets its block size). */
let bigGateway: Gateway;
let sha: string;
let bytes: Map<string, Buffer>;
const REPO = "acme/blobs";

beforeAll(async () => {
  env = await hubEnv({ dataset: false, gateway: { blockBytes: BLOCK, maxFetchBytes: 64 * KB, touchIntervalMs: 0 } });
  ({ sha, bytes } = await uploadBlobs(env, REPO, {
    "lru/a.bin": 16 * KB,
    "lru/b.bin": 16 * KB,
    "lru/c.bin": 16 * KB,
    "lru/d.bin": 16 * KB,
    "kept/p.bin": 16 * KB,
    "big/big.bin": 9 * 1024 * KB,
    "big/other.bin": 16 * KB,
  }));
  bigGateway = await startGateway({ cacheDir: env.cacheDir, hubEndpoint: env.hub.url, ...QUICK, blockBytes: 256 * KB });
});
afterAll(async () => {
  await bigGateway?.close();
  await env?.close();
});

function filesDir(repoPath: string): string {
  return new HubDiskCache(env.cacheDir, env.gateway.hubUpstream).fileDir({ owner: "acme", name: "blobs" }, sha, repoPath);
}

const get = (repoPath: string, range?: string): Promise<Buffer> => getThrough(env.gateway, REPO, sha, repoPath, range);

describe("size cap and LRU eviction", () => {
  it("evicts the least recently used unpinned blocks first, down to below the cap, and never pinned ones", async () => {
    const cache = cacheManager(env.cacheDir);
    const keeper = CacheKeeper.for(env.cacheDir);
    await cache.setCap(1024 * KB);

    // A pin of kept/ (recorded the way cache.pin records a table's blocks), read first: the oldest blocks.
    const dataset = await env.gateway.pin(`hf://datasets/${REPO}`);
    const recorder = new PinRecorder(pinSite(env.gateway, dataset));
    const target = { table: "kept", tablePath: "kept", columns: null };
    await recorder.protect(target, ["kept"]);
    const scope = recorder.scope(["kept"]);
    expect((await get("kept/p.bin")).equals(bytes.get("kept/p.bin")!)).toBe(true);
    scope.close();
    const record = await recorder.complete(target, scope.blocks, ["kept"], 0);
    await recorder.finish();
    expect(record.bytes).toBe(16 * KB);

    for (const name of ["a", "b", "c"]) await get(`lru/${name}.bin`);
    await get("lru/a.bin"); // a is used again: b is now the least recently used
    await keeper.idle();
    const before = (await blocksUnder(path.join(env.cacheDir, "hf"))).filter((b) => !b.file.startsWith(filesDir("kept")));
    const usage = await cache.usage();
    expect(usage.pinnedBytes).toBe(16 * KB);
    expect(usage.totalBytes).toBeGreaterThan(64 * KB);

    // Lower the cap to what is there minus 8 KB: a pass must free about a block and a half plus 10 % of the cap.
    const cap = usage.totalBytes - 8 * KB;
    const result = await cache.setCap(cap);
    expect(result.totalBytes).toBeLessThanOrEqual(Math.floor(cap * 0.9));
    expect(result.evictedBlocks).toBeGreaterThan(0);

    const after = new Set((await blocksUnder(path.join(env.cacheDir, "hf"))).map((b) => b.file));
    // Every pinned block stays, although they are the oldest.
    for (const name of ["@0.blk", "@4096.blk", "@8192.blk", "@12288.blk"]) expect(after.has(path.join(filesDir("kept/p.bin"), name))).toBe(true);
    // What went is exactly the oldest part of what could go.
    const order = before.sort((x, y) => x.mtimeMs - y.mtimeMs).map((b) => b.file);
    const gone = order.filter((f) => !after.has(f));
    expect(gone.length).toBe(result.evictedBlocks);
    expect(order.slice(0, gone.length)).toEqual(gone);
    // b (least recently used) went before a (used again after c).
    expect(gone.some((f) => f.startsWith(filesDir("lru/b.bin")))).toBe(true);
    expect(gone.some((f) => f.startsWith(filesDir("lru/a.bin")))).toBe(false);

    // Reads of evicted blocks fetch them again, and the bytes are right.
    expect((await get("lru/b.bin")).equals(bytes.get("lru/b.bin")!)).toBe(true);
    await keeper.idle();
    expect((await cache.usage()).totalBytes).toBeLessThanOrEqual(cap);
    await cache.setCap(1024 * KB);
  });

  it("a write over the cap starts a pass by itself; the cap is shared through the cache folder", async () => {
    const cache = cacheManager(env.cacheDir);
    const keeper = CacheKeeper.for(env.cacheDir);
    await cache.evict({ uri: `hf://datasets/${REPO}/lru` });
    await keeper.idle();
    const base = (await cache.usage()).totalBytes;
    await cache.setCap(base + 40 * KB);
    expect(await cacheManager(env.cacheDir).cap()).toBe(base + 40 * KB);
    expect(JSON.parse(await fs.readFile(path.join(env.cacheDir, "cache.json"), "utf8"))).toEqual({ capBytes: base + 40 * KB });
    for (const name of ["a", "b", "c", "d"]) await get(`lru/${name}.bin`); // 64 KB more: over the cap
    await keeper.idle();
    const usage = await cache.usage();
    expect(usage.totalBytes).toBeLessThanOrEqual(base + 40 * KB);
    // The newest file is whole; the oldest lost blocks.
    expect((await blocksUnder(filesDir("lru/d.bin"))).length).toBe(4);
    expect((await blocksUnder(filesDir("lru/a.bin"))).length).toBeLessThan(4);
    expect(usage.pinnedBytes).toBe(16 * KB);
    await cache.setCap(1024 * KB);
  });
});

describe("reads while blocks go", () => {
  const getBig = (repoPath: string): Promise<Buffer> => getThrough(bigGateway, REPO, sha, repoPath);

  it("a streamed read over 8 MiB fetches again blocks that vanish under it (another process's eviction)", async () => {
    const big = bytes.get("big/big.bin")!;
    await getBig("big/big.bin"); // cached whole
    env.hub.resetLog();
    const stream = await openStream(resolveUrl(bigGateway, REPO, sha, "big/big.bin"));
    expect(stream.status).toBe(200);
    const first = (await stream.next())!;
    // Another process evicts every block of the file while the answer is under way.
    for (const b of await blocksUnder(filesDir("big/big.bin"))) await fs.rm(b.file);
    const body = Buffer.concat([first, await stream.rest()]);
    expect(body.length).toBe(big.length);
    expect(body.equals(big)).toBe(true);
    expect(env.hub.count(["cdn", "resolve"])).toBeGreaterThan(0);
  });

  it("this process's passes never evict blocks being served, even with a cap of 0", async () => {
    const big = bytes.get("big/big.bin")!;
    const cache = cacheManager(env.cacheDir);
    await getBig("big/big.bin");
    await getBig("big/other.bin");
    const stream = await openStream(resolveUrl(bigGateway, REPO, sha, "big/big.bin"));
    const first = (await stream.next())!;
    const held = await blocksUnder(filesDir("big/big.bin"));
    expect(held.length).toBe(big.length / (256 * KB));
    env.hub.resetLog();
    await cache.setCap(0);
    try {
      // Everything else unpinned went; the blocks of the answer under way stayed.
      expect(await blocksUnder(filesDir("big/other.bin"))).toEqual([]);
      expect((await blocksUnder(filesDir("big/big.bin"))).length).toBe(held.length);
      const body = Buffer.concat([first, await stream.rest()]);
      expect(body.equals(big)).toBe(true);
      expect(env.hub.log).toEqual([]);
      // Once served, they are ordinary blocks again.
      const after = await cache.enforceCap();
      expect(after.evictedBlocks).toBe(held.length);
      expect((await cache.usage()).pinnedBytes).toBe(16 * KB);
    } finally {
      await cache.setCap(1024 * KB);
    }
  });
});

describe("pins", () => {
  it("a pin whose blocks were removed before it completed (an evict meanwhile) fetches them again and completes", async () => {
    const cache = cacheManager(env.cacheDir);
    const dataset = await env.gateway.pin(`hf://datasets/${REPO}`);
    const recorder = new PinRecorder(pinSite(env.gateway, dataset));
    const target = { table: "d", tablePath: "lru/d.bin", columns: null };
    const scope = recorder.scope(["lru/d.bin"]);
    await get("lru/d.bin");
    scope.close();
    expect(scope.blocks.size).toBe(4);
    await cache.evict({ uri: `hf://datasets/${REPO}/lru@${sha}` });
    expect(await blocksUnder(filesDir("lru/d.bin"))).toEqual([]);
    env.hub.resetLog();
    const record = await recorder.complete(target, scope.blocks, ["lru/d.bin"], 0);
    expect(record.bytes).toBe(16 * KB);
    expect(env.hub.count(["cdn", "resolve"])).toBeGreaterThan(0);
    expect((await blocksUnder(filesDir("lru/d.bin"))).length).toBe(4);
    expect((await cache.usage()).pins.find((p) => p.table === "d")).toMatchObject({ presentBytes: 16 * KB, bytes: 16 * KB });
    expect(await cache.unpin({ uri: `hf://datasets/${REPO}`, table: "d" })).toBe(1);
  });
});

describe("leftovers of crashed processes", () => {
  it("a pass removes temp files over an hour old and removal trash of dead processes, and keeps the rest", async () => {
    const cache = cacheManager(env.cacheDir);
    await get("lru/c.bin");
    const dir = filesDir("lru/c.bin");
    const oldTemp = path.join(dir, "@0.blk.tmp-1-aaaaaa");
    const newTemp = path.join(dir, "@4096.blk.tmp-2-bbbbbb");
    await fs.writeFile(oldTemp, "half a block");
    await fs.writeFile(newTemp, "a write under way");
    const twoHoursAgo = (Date.now() - 2 * 3600 * 1000) / 1000;
    await fs.utimes(oldTemp, twoHoursAgo, twoHoursAgo);
    // A process that exited: its pid is free.
    const dead = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" }).stdout;
    const deadTrash = path.join(env.cacheDir, `.trash-${dead}-cafe01`);
    const liveTrash = path.join(env.cacheDir, `.trash-${process.pid}-cafe02`);
    for (const t of [deadTrash, liveTrash]) {
      await fs.mkdir(path.join(t, "files"), { recursive: true });
      await fs.writeFile(path.join(t, "files", "@0.blk"), "x");
    }
    await settled(env.cacheDir);
    const result = await cache.enforceCap();
    expect(await fs.stat(oldTemp).catch(() => null)).toBeNull();
    expect(await fs.stat(deadTrash).catch(() => null)).toBeNull();
    expect((await fs.stat(newTemp)).isFile()).toBe(true);
    expect((await fs.stat(liveTrash)).isDirectory()).toBe(true);
    // The total the pass reports is within one metadata file of what is on disk: its walk can race the gateway of
    // this file rewriting a file's @file.json (known; the pass only uses it to decide whether to evict).
    expect(Math.abs(result.totalBytes - (await stableTotal(() => cache.usage())))).toBeLessThan(1024);
    await fs.rm(newTemp);
    await fs.rm(liveTrash, { recursive: true });
  });
});

/** The cache's total size once two walks in a row agree. */
async function stableTotal(usage: () => Promise<{ totalBytes: number }>): Promise<number> {
  let last = (await usage()).totalBytes;
  for (let tries = 0; tries < 50; tries++) {
    const now = (await usage()).totalBytes;
    if (now === last) return now;
    last = now;
  }
  return last;
}

/** Waits until nothing under `dir` changes (names, sizes, times) for a few polls in a row. */
async function settled(dir: string): Promise<void> {
  const state = async () => {
    const names = ((await fs.readdir(dir, { recursive: true }).catch(() => [])) as string[]).sort();
    const stats = await Promise.all(names.map((n) => fs.stat(path.join(dir, n)).catch(() => null)));
    return names.map((n, k) => `${n}:${stats[k]?.size}:${stats[k]?.mtimeMs}`).join("\n");
  };
  let last = await state();
  for (let quiet = 0, tries = 0; quiet < 3 && tries < 100; tries++) {
    await new Promise((r) => setTimeout(r, 100));
    const now = await state();
    quiet = now === last ? quiet + 1 : 0;
    last = now;
  }
}
