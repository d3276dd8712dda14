/** Reads of cached blocks on disk: what they record of a block's last use (its mtime, the LRU clock shared by processes). */
import fs from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { HubDiskCache, type FileMeta } from "../../../main/services/gateway/disk-cache";
import { tempDir } from "../../fixtures/slaf-fixture";

const repo = { owner: "acme", name: "blobs" };
const sha = "a".repeat(40);
const meta: FileMeta = { size: 8, etag: null, cdnEtag: null, blockBytes: 4 };
let dir: string;

beforeEach(async () => {
  dir = await tempDir("slafwb-block-reads-");
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

const mtime = async (file: string): Promise<number> => (await fs.stat(file)).mtimeMs;

describe("last use of a block", () => {
  it("a read does not set the mtime again when this process set it less than the interval ago", async () => {
    const cache = new HubDiskCache(path.join(dir, "cache"), "http://127.0.0.1:1", "hf", 60_000);
    await cache.writeBlock(repo, sha, "f.bin", meta, 0, Buffer.from("abcd"));
    const file = cache.blockFile(repo, sha, "f.bin", 0);
    const written = await mtime(file);
    for (let i = 0; i < 3; i++) expect((await cache.readBlockSlice(repo, sha, "f.bin", meta, 0, 1, 3))?.toString()).toBe("bc");
    expect(await mtime(file)).toBe(written);
  });

  it("a read of a block another process wrote sets its mtime once, then not within the interval", async () => {
    const cache = new HubDiskCache(path.join(dir, "cache"), "http://127.0.0.1:1", "hf", 60_000);
    const file = cache.blockFile(repo, sha, "g.bin", 4);
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(file, "efgh");
    const hourAgo = (Date.now() - 3600_000) / 1000;
    await fs.utimes(file, hourAgo, hourAgo);
    expect((await cache.readBlockSlice(repo, sha, "g.bin", meta, 1, 0, 4))?.toString()).toBe("efgh");
    const touched = await mtime(file);
    expect(touched).toBeGreaterThan(hourAgo * 1000 + 1000);
    await cache.readBlockSlice(repo, sha, "g.bin", meta, 1, 0, 4);
    expect(await mtime(file)).toBe(touched);
  });

  it("with an interval of 0 every read is a new last use", async () => {
    const cache = new HubDiskCache(path.join(dir, "cache"), "http://127.0.0.1:1", "hf", 0);
    await cache.writeBlock(repo, sha, "h.bin", meta, 0, Buffer.from("abcd"));
    const file = cache.blockFile(repo, sha, "h.bin", 0);
    const written = await mtime(file);
    await cache.readBlockSlice(repo, sha, "h.bin", meta, 0, 0, 4);
    expect(await mtime(file)).toBeGreaterThan(written);
  });
});
