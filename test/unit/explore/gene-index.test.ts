/**
 * The gene index (issue 13's cold colour-by-gene goal): a shallow clone of `expression` with a bitmap index on
 * gene_integer_id under the cache folder. The source dataset is never written, values read through the index
 * equal the plain filtered read, a changed table gets a new index (the stale one removed), a half-built folder is
 * ignored and removed, cache clear removes it and reads fall back, and a failed or cancelled build leaves gene
 * colouring working.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs/promises";
import path from "node:path";
import * as lancedb from "@lancedb/lancedb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cacheManager } from "../../../main/services/gateway/cache-manager";
import { expressionPass } from "../../../main/services/explore/expression-pass";
import { geneIndexKind } from "../../../main/services/explore/gene-index-build";
import { geneIndexKey } from "../../../main/services/explore/gene-index-key";
import { readGeneIndexMeta } from "../../../main/services/explore/gene-index-store";
import { readGene } from "../../../main/services/explore/gene-values";
import { tempDir, writePbmcSlaf } from "../../fixtures/slaf-fixture";
import { snapshotTree } from "../../fixtures/tree-snapshot";
import { indexEnv, indexFolders, type IndexEnv } from "./gene-index-helpers";

let dir: string;
let root: string;
let lyz: number;
let nowhere: number;
let nGenes: number;

beforeAll(async () => {
  dir = await tempDir("slafwb-gene-index-");
  root = path.join(dir, "pbmc.slaf");
  await writePbmcSlaf(root);
  const env = await indexEnv(root, path.join(dir, "probe-cache"), { minRows: Number.MAX_SAFE_INTEGER });
  try {
    const ds = env.datasets.get(env.datasetId);
    nGenes = ds.summary.tables.find((t) => t.name === "genes")!.rows;
    const found = await env.explore.searchGenes({ datasetId: env.datasetId, query: "LYZ", limit: 1 });
    lyz = found.ok ? found.value.matches[0].geneIntegerId : -1;
    const counts = (await expressionPass(ds.tables.get("expression")!, 160, nGenes)).geneCells;
    nowhere = counts.findIndex((n) => n === 0);
  } finally {
    await env.close();
  }
});

afterAll(async () => {
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

/** Builds the index through a first colour by gene and waits for the job. */
async function build(env: IndexEnv, gene = lyz) {
  await env.gene(gene);
  const index = env.explore.geneIndexOf(env.datasetId)!;
  expect(index.jobId).not.toBeNull();
  return env.waitJob(index.jobId!);
}

/** Values per cell through the open index and through the plain filtered read of the source table. */
async function bothWays(env: IndexEnv, gene: number) {
  const source = env.datasets.get(env.datasetId).tables.get("expression")!;
  const index = await env.explore.geneIndexOf(env.datasetId)!.ready();
  expect(index).not.toBeNull();
  const viaIndex = await index!.read((t) => readGene(t, gene, 160));
  const plain = await readGene(source, gene, 160);
  return { viaIndex, plain };
}

describe("gene index", () => {
  it("is built after the first colour by gene, without writing a byte of the source, and gives identical values", async () => {
    const cacheDir = path.join(dir, "cache-a");
    const before = await snapshotTree(root);
    const env = await indexEnv(root, cacheDir);
    try {
      const done = await build(env);
      expect(done.state).toBe("done");
      expect(done.result).toMatchObject({ task: "index", datasetId: env.datasetId });
      const folders = await indexFolders(cacheDir);
      expect(folders).toHaveLength(1);
      const meta = await readGeneIndexMeta(path.join(cacheDir, "gene-index", folders[0]));
      expect(meta).toMatchObject({ kind: "bitmap", tablePath: await fs.realpath(path.join(root, "expression.lance")), folder: folders[0] });
      expect(meta!.bytes).toBeGreaterThan(0);
      expect((done.result as { bytes: number }).bytes).toBe(meta!.bytes);
      expect(env.explore.geneIndexOf(env.datasetId)!.state).toBe("ready");

      for (const gene of [lyz, nowhere, nGenes - 1, 0]) {
        const { viaIndex, plain } = await bothWays(env, gene);
        expect(Array.from(viaIndex.values)).toEqual(Array.from(plain.values));
        expect(viaIndex.rowsRead).toBe(plain.rowsRead);
        if (gene === nowhere) expect(viaIndex.rowsRead).toBe(0);
        else expect(viaIndex.rowsRead).toBeGreaterThan(0);
      }
      // Lance answers the filter from the index on the clone (and scans on the source).
      const index = (await env.explore.geneIndexOf(env.datasetId)!.ready())!;
      const plan = await index.read((t) => t.query().where(`gene_integer_id = ${lyz}`).select(["cell_integer_id", "value"]).explainPlan());
      expect(plan).toMatch(/ScalarIndexQuery|MaterializeIndex/);
    } finally {
      await env.close();
    }

    // A fresh service finds the index built earlier and reads through it at once, with the service's answer unchanged.
    const again = await indexEnv(root, cacheDir);
    try {
      const answer = await again.gene(nGenes - 1);
      const index = again.explore.geneIndexOf(again.datasetId)!;
      expect(index.state).toBe("ready");
      expect(index.jobId).toBeNull();
      const plain = await readGene(again.datasets.get(again.datasetId).tables.get("expression")!, nGenes - 1, 160);
      expect(answer.rowsRead).toBe(plain.rowsRead);
      expect(answer.nExpressing).toBe(plain.values.filter((v) => v > 0).length);
    } finally {
      await again.close();
    }
    expect(await snapshotTree(root)).toEqual(before);
  });

  it("a btree index (for tables whose bitmap build would not fit in memory) gives the same values", async () => {
    const GiB = 2 ** 30;
    expect(geneIndexKind(690_000_000, 23 * GiB, 20 * GiB)).toBe("bitmap");
    expect(geneIndexKind(690_000_000, 16 * GiB, 14 * GiB)).toBe("btree");
    expect(geneIndexKind(138_000_000, 23 * GiB, 2 * GiB)).toBe("btree");
    const cacheDir = path.join(dir, "cache-btree");
    const before = await snapshotTree(root);
    const env = await indexEnv(root, cacheDir, { kind: "btree" });
    try {
      expect((await build(env)).state).toBe("done");
      const [folder] = await indexFolders(cacheDir);
      expect((await readGeneIndexMeta(path.join(cacheDir, "gene-index", folder)))?.kind).toBe("btree");
      for (const gene of [lyz, nowhere, nGenes - 1, 0]) {
        const { viaIndex, plain } = await bothWays(env, gene);
        expect(Array.from(viaIndex.values)).toEqual(Array.from(plain.values));
      }
    } finally {
      await env.close();
    }
    // A later session that would build a bitmap uses the btree built earlier.
    const later = await indexEnv(root, cacheDir);
    try {
      await later.gene(nGenes - 1);
      const index = later.explore.geneIndexOf(later.datasetId)!;
      expect(index.state).toBe("ready");
      expect(index.jobId).toBeNull();
      expect(await indexFolders(cacheDir)).toHaveLength(1);
    } finally {
      await later.close();
    }
    expect(await snapshotTree(root)).toEqual(before);
  });

  it("keys the index to the table's version and manifest: a changed table gets a new index and the stale one is removed", async () => {
    const copy = path.join(dir, "changed.slaf");
    await fs.cp(root, copy, { recursive: true });
    const cacheDir = path.join(dir, "cache-b");
    const env = await indexEnv(copy, cacheDir);
    let first: string;
    try {
      expect((await build(env)).state).toBe("done");
      [first] = await indexFolders(cacheDir);
      // Same table, manifest touched (a rewrite in place keeps the version number but not the file): another key.
      const expression = env.datasets.get(env.datasetId).tables.get("expression")!;
      const key = await geneIndexKey(path.join(copy, "expression.lance"), expression, "bitmap");
      expect(key.folder).toBe(first);
      const manifest = path.join(copy, "expression.lance", "_versions", key.manifest.name);
      const t = new Date(Date.now() + 5_000);
      await fs.utimes(manifest, t, t);
      const touched = await geneIndexKey(path.join(copy, "expression.lance"), expression, "bitmap");
      expect(touched.pathHash).toBe(key.pathHash);
      expect(touched.folder).not.toBe(key.folder);
    } finally {
      await env.close();
    }
    // A new version of the copy (our own copy, never a source we read): a row of LYZ deleted.
    const db = await lancedb.connect(copy);
    const table = await db.openTable("expression");
    const [row] = (await table.query().where(`gene_integer_id = ${lyz}`).select(["cell_integer_id"]).limit(1).toArray()) as { cell_integer_id: number }[];
    await table.delete(`gene_integer_id = ${lyz} AND cell_integer_id = ${row.cell_integer_id}`);
    table.close();
    db.close();

    const next = await indexEnv(copy, cacheDir);
    try {
      const answer = await next.gene(lyz);
      expect(answer.nExpressing).toBeGreaterThan(0);
      expect((await next.waitJob(next.explore.geneIndexOf(next.datasetId)!.jobId!)).state).toBe("done");
      const folders = await indexFolders(cacheDir);
      expect(folders).toHaveLength(1);
      expect(folders[0]).not.toBe(first!);
      const { viaIndex, plain } = await bothWays(next, lyz);
      expect(Array.from(viaIndex.values)).toEqual(Array.from(plain.values));
      expect(viaIndex.values[Number(row.cell_integer_id)]).toBe(0);
    } finally {
      await next.close();
    }
  });

  it("ignores and removes a half-built folder and a damaged one, then builds", async () => {
    const cacheDir = path.join(dir, "cache-c");
    const env = await indexEnv(root, cacheDir);
    try {
      const key = await geneIndexKey(path.join(root, "expression.lance"), env.datasets.get(env.datasetId).tables.get("expression")!, "bitmap");
      const deadPid = spawnSync(process.execPath, ["-e", ""]).pid;
      const half = path.join(cacheDir, "gene-index", `.tmp-${key.folder}-${deadPid}-0badf00d`);
      await fs.mkdir(path.join(half, "expression.lance"), { recursive: true });
      await fs.writeFile(path.join(half, "expression.lance", "partial.idx"), "half");
      // The complete folder's name without its meta: never used.
      const damaged = path.join(cacheDir, "gene-index", key.folder);
      await fs.mkdir(damaged);
      await fs.writeFile(path.join(damaged, "junk"), "x");

      const answer = await env.gene(lyz);
      const plain = await readGene(env.datasets.get(env.datasetId).tables.get("expression")!, lyz, 160);
      expect(answer.rowsRead).toBe(plain.rowsRead);
      const done = await env.waitJob(env.explore.geneIndexOf(env.datasetId)!.jobId!);
      expect(done.state).toBe("done");
      expect(await indexFolders(cacheDir)).toEqual([key.folder]);
      expect(await fs.stat(path.join(damaged, "junk")).catch(() => null)).toBeNull();
      expect((await readGeneIndexMeta(damaged))?.folder).toBe(key.folder);
    } finally {
      await env.close();
    }
  });

  it("counts in cache usage, is removed by cache clear, and reads fall back to the source", async () => {
    const cacheDir = path.join(dir, "cache-d");
    const env = await indexEnv(root, cacheDir);
    try {
      expect((await build(env)).state).toBe("done");
      const [folder] = await indexFolders(cacheDir);
      const meta = (await readGeneIndexMeta(path.join(cacheDir, "gene-index", folder)))!;
      const cache = cacheManager(cacheDir);
      expect((await cache.usage()).totalBytes).toBeGreaterThanOrEqual(meta.bytes);
      const removed = await cache.clear();
      expect(removed.removedBytes).toBeGreaterThanOrEqual(meta.bytes);
      expect(await indexFolders(cacheDir)).toEqual([]);

      const answer = await env.gene(nGenes - 1);
      const plain = await readGene(env.datasets.get(env.datasetId).tables.get("expression")!, nGenes - 1, 160);
      expect(answer.rowsRead).toBe(plain.rowsRead);
      const index = env.explore.geneIndexOf(env.datasetId)!;
      expect(index.state).toBe("cleared");
      expect(await index.ready()).toBeNull();
      // Not rebuilt behind the user's back in this session.
      expect(await indexFolders(cacheDir)).toEqual([]);
    } finally {
      await env.close();
    }
  });

  it("a damaged index (its files gone under an open table) is dropped and the read answered from the source", async () => {
    const cacheDir = path.join(dir, "cache-damaged");
    const env = await indexEnv(root, cacheDir);
    try {
      expect((await build(env)).state).toBe("done");
      const [folder] = await indexFolders(cacheDir);
      await fs.rm(path.join(cacheDir, "gene-index", folder, "expression.lance", "_indices"), { recursive: true });
      const answer = await env.gene(nGenes - 1);
      const plain = await readGene(env.datasets.get(env.datasetId).tables.get("expression")!, nGenes - 1, 160);
      expect(answer.rowsRead).toBe(plain.rowsRead);
      expect(answer.nExpressing).toBe(plain.values.filter((v) => v > 0).length);
      expect(env.explore.geneIndexOf(env.datasetId)!.state).toBe("failed");
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
      const done = await build(env);
      expect(done.state).toBe("failed");
      expect(done.error?.code).toBe("PERMISSION_DENIED");
      expect(done.error?.message).toContain(path.join(cacheDir, "gene-index"));
      const answer = await env.gene(nGenes - 1);
      const plain = await readGene(env.datasets.get(env.datasetId).tables.get("expression")!, nGenes - 1, 160);
      expect(answer.rowsRead).toBe(plain.rowsRead);
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
      await env.gene(lyz);
      const jobId = env.explore.geneIndexOf(env.datasetId)!.jobId!;
      await env.datasets.close({ datasetId: env.datasetId });
      const done = await env.waitJob(jobId);
      expect(done.state).toBe("cancelled");
      expect(done.error?.code).toBe("EXPLORE_CANCELLED");
      expect(await indexFolders(cacheDir)).toEqual([]);
    } finally {
      await env.close();
    }
    expect(await snapshotTree(root)).toEqual(before);
  });

  it("a table under the size threshold gets no index", async () => {
    const cacheDir = path.join(dir, "cache-g");
    const env = await indexEnv(root, cacheDir, { minRows: Number.MAX_SAFE_INTEGER });
    try {
      await env.gene(lyz);
      expect(env.explore.geneIndexOf(env.datasetId)!.jobId).toBeNull();
      expect(await indexFolders(cacheDir)).toEqual([]);
    } finally {
      await env.close();
    }
  });
});
