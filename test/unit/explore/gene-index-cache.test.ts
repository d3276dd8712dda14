/**
 * The gene index as part of the app's cache: counted in cache usage and removed by cache clear (reads fall back),
 * not built when the table is small or the index would take the cache past its cap, and a build that cannot write
 * (unwritable folder, full disk) or is cancelled leaves nothing and gene colouring working.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cacheCommand } from "../../../main/commands/cache";
import { writeCap } from "../../../main/services/gateway/cache-cap";
import { cacheManager } from "../../../main/services/gateway/cache-manager";
import { GENE_INDEX_MIN_ROWS, geneIndexMinRows } from "../../../main/services/explore/gene-index";
import { readGeneIndexMeta } from "../../../main/services/explore/gene-index-store";
import { readGene } from "../../../main/services/explore/gene-values";
import { unwrap } from "../../fixtures/result";
import { tempDir, writePbmcSlaf } from "../../fixtures/slaf-fixture";
import { snapshotTree } from "../../fixtures/tree-snapshot";
import { built, failedBuild, indexEnv, indexFolders, type IndexEnv } from "./gene-index-helpers";

let dir: string;
let root: string;

beforeAll(async () => {
  dir = await tempDir("slafwb-gene-index-cache-");
  root = path.join(dir, "pbmc.slaf");
  await writePbmcSlaf(root);
});

afterAll(async () => {
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

async function expectAnswerFromSource(env: IndexEnv, gene: number) {
  const answer = await env.gene(gene);
  const plain = await readGene(env.datasets.get(env.datasetId).tables.get("expression")!, gene, 160);
  expect(answer.rowsRead).toBe(plain.rowsRead);
  expect(answer.nExpressing).toBe(plain.values.filter((v) => v > 0).length);
}

describe("gene index in the cache", () => {
  it("counts in cache usage, is removed by cache clear, and reads fall back to the source", async () => {
    const cacheDir = path.join(dir, "cache-d");
    const env = await indexEnv(root, cacheDir);
    try {
      expect((await built(env)).state).toBe("done");
      const [folder] = await indexFolders(cacheDir);
      const meta = (await readGeneIndexMeta(path.join(cacheDir, "gene-index", folder)))!;
      const cache = cacheManager(cacheDir);
      const usage = await cache.usage();
      expect(usage.totalBytes).toBeGreaterThanOrEqual(meta.bytes);
      // Listed apart from the remote datasets' blocks: which table, at which version, its rows and its bytes on disk.
      expect(usage.geneIndexes).toEqual([
        { tablePath: meta.tablePath, version: meta.version, rows: meta.rows, bytes: expect.any(Number), builtAt: meta.builtAt },
      ]);
      expect(usage.geneIndexes[0].bytes).toBeGreaterThan(meta.bytes);
      const removed = await cache.clear();
      expect(removed.removedBytes).toBeGreaterThanOrEqual(meta.bytes);
      expect(await indexFolders(cacheDir)).toEqual([]);
      expect((await cache.usage()).geneIndexes).toEqual([]);

      await expectAnswerFromSource(env, 7);
      const index = env.explore.geneIndexOf(env.datasetId)!;
      expect(index.state).toBe("cleared");
      expect(await index.ready()).toBeNull();
      // Not rebuilt behind the user's back in this session.
      expect(await indexFolders(cacheDir)).toEqual([]);
    } finally {
      await env.close();
    }
  });

  it("`slaf-workbench cache list` shows it beside the remote data", async () => {
    const userData = path.join(dir, "user-data-list");
    const env = await indexEnv(root, path.join(userData, "cache"));
    try {
      expect((await built(env)).state).toBe("done");
      let out = "";
      await cacheCommand(["list"], { out: (t) => (out += t), err: () => undefined }, userData);
      const tablePath = await fs.realpath(path.join(root, "expression.lance"));
      expect(out).toMatch(/^Nothing cached\.\n\nGENE INDEX OF +VERSION +ROWS +SIZE +BUILT\n/);
      expect(out).toContain(tablePath);
      const [folder] = await indexFolders(path.join(userData, "cache"));
      const meta = (await readGeneIndexMeta(path.join(userData, "cache", "gene-index", folder)))!;
      expect(out).toContain(` ${meta.rows.toLocaleString("en-US")} `);
    } finally {
      await env.close();
    }
  });

  it("a table under the size threshold gets no index", async () => {
    const cacheDir = path.join(dir, "cache-g");
    const env = await indexEnv(root, cacheDir, { minRows: Number.MAX_SAFE_INTEGER });
    try {
      expect(await env.opened()).toBeNull();
      await expectAnswerFromSource(env, 7);
      expect(env.explore.geneIndexOf(env.datasetId)!.state).toBe("none");
      expect(unwrap(await env.explore.info({ datasetId: env.datasetId })).geneIndex).toEqual({ state: "off", jobId: null });
      expect(await indexFolders(cacheDir)).toEqual([]);
    } finally {
      await env.close();
    }
  });

  it("an index that would take the cache past its cap is not built: the job says so (DISK_FULL) and reads stay on the source", async () => {
    const cacheDir = path.join(dir, "cache-cap");
    await fs.mkdir(cacheDir);
    await writeCap(cacheDir, 64 * 1024);
    const env = await indexEnv(root, cacheDir);
    try {
      const done = await failedBuild(env);
      expect(done.error?.code).toBe("DISK_FULL");
      expect(done.error?.message).toMatch(/^The gene index would take [\d.]+ GB and the cache has [\d.]+ GB free under its 0\.00 GB cap: not built/);
      expect(env.explore.geneIndexOf(env.datasetId)!.lastBuild).toBeNull();
      expect(await indexFolders(cacheDir)).toEqual([]);
      await expectAnswerFromSource(env, 7);
    } finally {
      await env.close();
    }
  });

  it("an unwritable cache fails the build with a named error and gene colouring keeps working", async () => {
    const cacheDir = path.join(dir, "cache-e");
    await fs.mkdir(cacheDir);
    await fs.writeFile(path.join(cacheDir, "gene-index"), "a file where the folder should be");
    const env = await indexEnv(root, cacheDir);
    try {
      const done = await built(env);
      expect(done.state).toBe("failed");
      expect(done.error?.code).toBe("PERMISSION_DENIED");
      expect(done.error?.message).toContain(path.join(cacheDir, "gene-index"));
      await expectAnswerFromSource(env, 7);
      expect(env.explore.geneIndexOf(env.datasetId)!.state).toBe("failed");
    } finally {
      await env.close();
    }
  });

  it("closing the dataset cancels a build and leaves nothing half-built, the source untouched", async () => {
    const cacheDir = path.join(dir, "cache-f");
    const before = await snapshotTree(root);
    const env = await indexEnv(root, cacheDir);
    try {
      const jobId = await env.opened();
      await env.datasets.close({ datasetId: env.datasetId });
      const done = await env.waitJob(jobId!);
      expect(done.state).toBe("cancelled");
      expect(done.error?.code).toBe("EXPLORE_CANCELLED");
      expect(await indexFolders(cacheDir)).toEqual([]);
    } finally {
      await env.close();
    }
    expect(await snapshotTree(root)).toEqual(before);
  });
});

// A cache on a tiny tmpfs: mounting needs root (as in CI containers); elsewhere this is skipped.
const disk = await fs.mkdtemp(path.join(os.tmpdir(), "slafwb-gene-index-fulldisk-"));
let mounted = false;
try {
  execFileSync("mount", ["-t", "tmpfs", "-o", "size=128k", "tmpfs", disk], { stdio: "ignore" });
  mounted = true;
} catch {
  // not allowed here
}
afterAll(async () => {
  if (mounted) execFileSync("umount", [disk]);
  await fs.rm(disk, { recursive: true, force: true });
});

describe.skipIf(!mounted)("gene index on a full disk", () => {
  it("fails the build with DISK_FULL, leaves no folder behind, and gene reads go on from the source", async () => {
    const cacheDir = path.join(disk, "cache");
    const env = await indexEnv(root, cacheDir);
    try {
      const done = await failedBuild(env);
      expect(done.error?.code).toBe("DISK_FULL");
      expect(done.error?.message).toContain(path.join(cacheDir, "gene-index"));
      expect(await indexFolders(cacheDir)).toEqual([]);
      await expectAnswerFromSource(env, 7);
    } finally {
      await env.close();
    }
  });
});

describe("SLAFWB_GENE_INDEX_MIN_ROWS", () => {
  it("sets the threshold when it is a whole number, else the default stands", () => {
    expect(geneIndexMinRows({})).toBe(GENE_INDEX_MIN_ROWS);
    expect(geneIndexMinRows({ SLAFWB_GENE_INDEX_MIN_ROWS: "1000000" })).toBe(1_000_000);
    expect(geneIndexMinRows({ SLAFWB_GENE_INDEX_MIN_ROWS: " 0 " })).toBe(0);
    for (const bad of ["", "-5", "1e6", "12abc", "1.5", "9".repeat(16)])
      expect(geneIndexMinRows({ SLAFWB_GENE_INDEX_MIN_ROWS: bad })).toBe(GENE_INDEX_MIN_ROWS);
  });
});
