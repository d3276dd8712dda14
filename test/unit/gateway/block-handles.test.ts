/**
 * Reads of cached blocks through the open handles kept per cache (block-handles.ts): fewer opens, and a block
 * removed, replaced or damaged on disk after it was read is noticed exactly as without them.
 */
import fs from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { BlockHandles, type BlockLease } from "../../../main/services/gateway/block-handles";
import { HubDiskCache, type FileMeta } from "../../../main/services/gateway/disk-cache";
import { tempDir } from "../../fixtures/slaf-fixture";

const repo = { owner: "acme", name: "blobs" };
const sha = "c".repeat(40);
const meta: FileMeta = { size: 8, etag: null, cdnEtag: null, blockBytes: 4 };
let dir: string;
let cache: HubDiskCache;

beforeEach(async () => {
  dir = await tempDir("slafwb-block-handles-");
  cache = new HubDiskCache(path.join(dir, "cache"), "http://127.0.0.1:1", "hf", 60_000);
});
afterEach(async () => {
  vi.restoreAllMocks();
  await cache.close();
  await fs.rm(dir, { recursive: true, force: true });
});

/** A block written by another process (this cache holds nothing of it in memory). */
async function writeElsewhere(index: number, text: string): Promise<string> {
  const file = cache.blockFile(repo, sha, "f.bin", index * meta.blockBytes);
  await fs.mkdir(path.dirname(file), { recursive: true });
  const temp = `${file}.tmp`;
  await fs.writeFile(temp, text);
  await fs.rename(temp, file);
  return file;
}

const slice = async (index: number, from: number, to: number): Promise<string | null> =>
  (await cache.readBlockSlice(repo, sha, "f.bin", meta, index, from, to))?.toString() ?? null;

describe("reads of blocks on disk", () => {
  it("open a block once for many reads", async () => {
    await writeElsewhere(0, "abcd");
    const open = vi.spyOn(fs, "open");
    expect([await slice(0, 0, 2), await slice(0, 2, 4), await slice(0, 1, 3)]).toEqual(["ab", "cd", "bc"]);
    expect(open.mock.calls.filter(([f]) => String(f).endsWith("@0.blk"))).toHaveLength(1);
  });

  it("read a block this cache wrote through the handle it was written with", async () => {
    await cache.writeBlock(repo, sha, "f.bin", meta, 1, [Buffer.from("ef"), Buffer.from("gh")]);
    const open = vi.spyOn(fs, "open");
    expect([await slice(1, 0, 4), await slice(1, 1, 3)]).toEqual(["efgh", "fg"]);
    expect(open).not.toHaveBeenCalled();
    await fs.rm(cache.blockFile(repo, sha, "f.bin", 4)); // evicted elsewhere: gone for the next read too
    expect(await slice(1, 0, 4)).toBeNull();
  });

  it("see a block removed after it was read as gone, and a replaced one as what is there now", async () => {
    const file = await writeElsewhere(0, "abcd");
    expect(await slice(0, 0, 4)).toBe("abcd");
    await fs.rm(file);
    expect(await slice(0, 0, 4)).toBeNull();
    await writeElsewhere(0, "wxyz");
    expect(await slice(0, 0, 4)).toBe("wxyz");
    await writeElsewhere(0, "WXYZ"); // replaced (renamed over) while this cache holds it open
    expect(await slice(0, 0, 4)).toBe("WXYZ");
  });

  it("remove a block damaged in place after it was read", async () => {
    const file = await writeElsewhere(1, "efgh");
    expect(await slice(1, 0, 4)).toBe("efgh");
    await fs.truncate(file, 2);
    expect(await slice(1, 0, 4)).toBeNull();
    await expect(fs.stat(file)).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("keep at most the handles they are allowed, and close the rest", async () => {
    const handles = new BlockHandles(2);
    const files = await Promise.all([0, 1].map((i) => writeElsewhere(i, i === 0 ? "abcd" : "efgh")));
    const third = path.join(path.dirname(files[0]), "x.blk");
    await fs.writeFile(third, "ijkl");
    const leases: BlockLease[] = [];
    for (const f of [...files, third]) {
      const lease = (await handles.acquire(f, 4))!;
      lease.release();
      leases.push(lease);
    }
    // The oldest handle was closed when the third was opened; the other two are still usable.
    await vi.waitFor(() => expect(leases[0].handle.fd).toBe(-1));
    expect(leases[1].handle.fd).toBeGreaterThan(0);
    expect(leases[2].handle.fd).toBeGreaterThan(0);
    await handles.closeAll();
    await vi.waitFor(() => expect(leases.map((l) => l.handle.fd)).toEqual([-1, -1, -1]));
  });
});
