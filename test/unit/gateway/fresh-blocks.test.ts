/**
 * Blocks fetched upstream are written as the parts they arrived in (never joined), and the read that fetched
 * them is answered from those parts in memory, not by reading back what it just wrote.
 */
import fs from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { HubDiskCache, writeAtomic } from "../../../main/services/gateway/disk-cache";
import { tempDir } from "../../fixtures/slaf-fixture";
import { blocksUnder, getThrough } from "./cache-helpers";
import { uploadBlobs } from "./cache-helpers";
import { hubEnv, type HubEnv } from "./helpers";

const KB = 1024;
const REPO = "acme/fresh";
let env: HubEnv;
let sha: string;
let bytes: Map<string, Buffer>;

beforeAll(async () => {
  env = await hubEnv({ dataset: false, gateway: { blockBytes: 4 * KB, maxFetchBytes: 64 * KB } });
  ({ sha, bytes } = await uploadBlobs(env, REPO, { "f.bin": 64 * KB, "g.bin": 64 * KB, "h.bin": 64 * KB }));
});
afterAll(async () => {
  vi.restoreAllMocks();
  await env?.close();
});

describe("writeAtomic", () => {
  it("writes bytes given in parts (empty ones too) as one file", async () => {
    const dir = await tempDir("slafwb-fresh-");
    try {
      const file = path.join(dir, "sub", "@0.blk");
      await writeAtomic(file, [Buffer.from("ab"), Buffer.alloc(0), Buffer.from("cde"), new Uint8Array([0x66])], { mtimeMs: 1_000_000 });
      expect((await fs.readFile(file)).toString()).toBe("abcdef");
      expect((await fs.stat(file)).mtimeMs).toBe(1_000_000);
      expect(await fs.readdir(path.dirname(file))).toEqual(["@0.blk"]);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});

describe("writeBlock", () => {
  it("writes the file's meta again when its folder was removed (an evict or clear elsewhere), though it wrote there just before", async () => {
    const dir = await tempDir("slafwb-fresh-");
    try {
      const cache = new HubDiskCache(path.join(dir, "cache"), "http://127.0.0.1:1");
      const ref = { owner: "acme", name: "blobs" };
      const meta = { size: 8, etag: null, cdnEtag: null, blockBytes: 4 };
      await cache.writeFileMeta(ref, "b".repeat(40), "x.bin", meta);
      await cache.writeBlock(ref, "b".repeat(40), "x.bin", meta, 0, Buffer.from("abcd"));
      await fs.rm(cache.fileDir(ref, "b".repeat(40), "x.bin"), { recursive: true });
      await cache.writeBlock(ref, "b".repeat(40), "x.bin", meta, 1, [Buffer.from("ef"), Buffer.from("gh")]);
      expect(await cache.readFileMeta(ref, "b".repeat(40), "x.bin")).toEqual(meta);
      expect((await cache.readBlockSlice(ref, "b".repeat(40), "x.bin", meta, 1, 0, 4))?.toString()).toBe("efgh");
      expect(await writeAtomic(path.join(dir, "new", "f"), "1")).toBe(true);
      expect(await writeAtomic(path.join(dir, "new", "g"), "2")).toBe(false);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});

/** Every block is removed as soon as it is written (as another process's eviction could): the spy, to restore. */
function removeBlocksOnWrite() {
  const write = HubDiskCache.prototype.writeBlock;
  return vi.spyOn(HubDiskCache.prototype, "writeBlock").mockImplementation(async function (this: HubDiskCache, ...args) {
    await write.apply(this, args);
    const [repo, commit, repoPath, meta, index] = args;
    await fs.rm(this.blockFile(repo, commit, repoPath, index * meta.blockBytes));
  });
}

describe("a read that fetches blocks", () => {
  it("is answered from what it fetched, even when every block is removed as soon as it is written (another process's eviction)", async () => {
    const source = bytes.get("f.bin")!;
    // The first read learns the file's size (and caches block 0).
    expect((await getThrough(env.gateway, REPO, sha, "f.bin", "bytes=0-99")).equals(source.subarray(0, 100))).toBe(true);
    const spy = removeBlocksOnWrite();
    env.hub.resetLog();
    try {
      const body = await getThrough(env.gateway, REPO, sha, "f.bin", `bytes=${10 * KB + 7}-${30 * KB}`);
      expect(body.equals(source.subarray(10 * KB + 7, 30 * KB + 1))).toBe(true);
      expect(spy).toHaveBeenCalledTimes(6); // blocks 2..7, written once each
    } finally {
      spy.mockRestore();
    }
    // One upstream read of the data (a resolve and its CDN redirect), not another for a read-back that found nothing.
    expect(env.hub.count(["cdn"])).toBe(1);
    const dir = new HubDiskCache(env.cacheDir, env.gateway.hubUpstream).fileDir({ owner: "acme", name: "fresh" }, sha, "f.bin");
    expect((await blocksUnder(dir)).map((b) => path.basename(b.file))).toEqual(["@0.blk"]);
  });

  it("that is the file's first (learning its size) is answered from what it fetched too", async () => {
    const source = bytes.get("g.bin")!;
    const spy = removeBlocksOnWrite();
    env.hub.resetLog();
    try {
      expect((await getThrough(env.gateway, REPO, sha, "g.bin", `bytes=${5 * KB}-${9 * KB}`)).equals(source.subarray(5 * KB, 9 * KB + 1))).toBe(true);
    } finally {
      spy.mockRestore();
    }
    expect(env.hub.count(["cdn"])).toBe(1);
  });

  it("that waits for a concurrent read's fetch of the same blocks is answered from what that read fetched", async () => {
    const source = bytes.get("h.bin")!;
    expect((await getThrough(env.gateway, REPO, sha, "h.bin", "bytes=0-99")).equals(source.subarray(0, 100))).toBe(true);
    const spy = removeBlocksOnWrite();
    env.hub.resetLog();
    try {
      const [a, b] = await Promise.all([
        getThrough(env.gateway, REPO, sha, "h.bin", `bytes=${8 * KB}-${40 * KB - 1}`),
        getThrough(env.gateway, REPO, sha, "h.bin", `bytes=${12 * KB + 5}-${36 * KB}`),
      ]);
      expect(a.equals(source.subarray(8 * KB, 40 * KB))).toBe(true);
      expect(b.equals(source.subarray(12 * KB + 5, 36 * KB + 1))).toBe(true);
    } finally {
      spy.mockRestore();
    }
    // Every block came once: whichever read fetched a block, the other was given its bytes (none were on disk to read back).
    const ranges = env.hub.log
      .filter((r) => r.kind === "cdn")
      .map((r) =>
        /^bytes=(\d+)-(\d+)$/
          .exec(r.range ?? "")!
          .slice(1)
          .map(Number),
      );
    const fetched = ranges.reduce((n, [from, to]) => n + to - from + 1, 0);
    expect(fetched).toBe(32 * KB);
    expect(new Set(ranges.flatMap(([from, to]) => Array.from({ length: (to - from + 1) / (4 * KB) }, (_, k) => from + k * 4 * KB))).size).toBe(8);
  });

  it("that finds its blocks on disk reads them as they are, without checking for each one first", async () => {
    const source = bytes.get("f.bin")!;
    const hasBlock = vi.spyOn(HubDiskCache.prototype, "hasBlock");
    env.hub.resetLog();
    try {
      expect((await getThrough(env.gateway, REPO, sha, "f.bin", "bytes=5-4000")).equals(source.subarray(5, 4001))).toBe(true);
      expect(hasBlock).not.toHaveBeenCalled();
    } finally {
      hasBlock.mockRestore();
    }
    expect(env.hub.log).toEqual([]);
  });
});
