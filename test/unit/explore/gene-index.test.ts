/**
 * The gene index (issue 13's cold colour-by-gene goal): a gene-major copy of `expression` under the cache folder,
 * built when Explore opens the dataset. The source dataset is never written, every gene read through the index
 * equals the plain filtered read, a changed table gets a new index (the stale one removed), damaged, truncated,
 * foreign-key and v1 folders are ignored and removed with answers from the source, and a table whose rows are not
 * in cell order gets none.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs/promises";
import path from "node:path";
import * as lancedb from "@lancedb/lancedb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { arrow } from "../../../main/services/arrow";
import { columnNumbers } from "../../../main/services/explore/arrow-read";
import { CELLS_FILE, OFFSETS_FILE, VALUES_FILE } from "../../../main/services/explore/gene-index-files";
import { geneIndexKey } from "../../../main/services/explore/gene-index-key";
import { readGeneIndexMeta } from "../../../main/services/explore/gene-index-store";
import { readGene } from "../../../main/services/explore/gene-values";
import { scanBatches } from "../../../main/services/explore/lance-scan";
import { tempDir, writePbmcSlaf } from "../../fixtures/slaf-fixture";
import { snapshotTree } from "../../fixtures/tree-snapshot";
import { built, indexEnv, indexFolders, readyIndex, type IndexEnv } from "./gene-index-helpers";

let dir: string;
let root: string;
let lyz: number;
let nGenes: number;
let rows: number;

beforeAll(async () => {
  dir = await tempDir("slafwb-gene-index-");
  root = path.join(dir, "pbmc.slaf");
  await writePbmcSlaf(root);
  const env = await indexEnv(root, path.join(dir, "probe-cache"), { minRows: Number.MAX_SAFE_INTEGER });
  try {
    const ds = env.datasets.get(env.datasetId);
    nGenes = ds.summary.tables.find((t) => t.name === "genes")!.rows;
    rows = ds.summary.tables.find((t) => t.name === "expression")!.rows;
    const found = await env.explore.searchGenes({ datasetId: env.datasetId, query: "LYZ", limit: 1 });
    lyz = found.ok ? found.value.matches[0].geneIntegerId : -1;
  } finally {
    await env.close();
  }
});

afterAll(async () => {
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

const expression = (env: IndexEnv) => env.datasets.get(env.datasetId).tables.get("expression")!;

/**
 * Every gene through the index equals the source: all genes against one scan of the table grouped by gene (values
 * summed per cell in row order, as readGene sums them), and a sample against readGene itself.
 */
async function expectEveryGeneEqual(env: IndexEnv, nCells: number) {
  const index = await readyIndex(env);
  const source = expression(env);
  const expected = Array.from({ length: nGenes }, () => ({ values: new Float32Array(nCells), rows: 0 }));
  for await (const batch of scanBatches(source, ["cell_integer_id", "gene_integer_id", "value"])) {
    const cells = columnNumbers(batch.getChild("cell_integer_id")!);
    const genes = columnNumbers(batch.getChild("gene_integer_id")!);
    const values = columnNumbers(batch.getChild("value")!);
    for (let r = 0; r < cells.length; r++) {
      expected[genes[r]].values[cells[r]] += values[r];
      expected[genes[r]].rows++;
    }
  }
  let seen = 0;
  for (let g = 0; g < nGenes; g++) {
    const viaIndex = await index.read(g, nCells);
    expect(viaIndex.rowsRead).toBe(expected[g].rows);
    expect(Buffer.from(viaIndex.values.buffer).equals(Buffer.from(expected[g].values.buffer))).toBe(true);
    seen += viaIndex.rowsRead;
  }
  expect(seen).toBe(index.layout.rows);
  for (const g of [0, lyz, Math.floor(nGenes / 2), nGenes - 1]) {
    const viaIndex = await index.read(g, nCells);
    const plain = await readGene(source, g, nCells);
    expect(viaIndex.rowsRead).toBe(plain.rowsRead);
    expect(Array.from(viaIndex.values)).toEqual(Array.from(plain.values));
  }
}

/** A fresh service's answer for a gene equals the plain read of the source. */
async function expectAnswerFromSource(env: IndexEnv, gene: number, nCells = 160) {
  const answer = await env.gene(gene);
  const plain = await readGene(expression(env), gene, nCells);
  expect(answer.rowsRead).toBe(plain.rowsRead);
  expect(answer.nExpressing).toBe(plain.values.filter((v) => v > 0).length);
}

describe("gene index", () => {
  it("is built when Explore opens the dataset, without writing a byte of the source; every gene reads as from the source", async () => {
    const cacheDir = path.join(dir, "cache-a");
    const before = await snapshotTree(root);
    const env = await indexEnv(root, cacheDir);
    try {
      const done = await built(env);
      expect(done.state).toBe("done");
      expect(done.result).toMatchObject({ task: "index", datasetId: env.datasetId });
      const folders = await indexFolders(cacheDir);
      expect(folders).toHaveLength(1);
      const folder = path.join(cacheDir, "gene-index", folders[0]);
      const meta = await readGeneIndexMeta(folder);
      expect(meta).toMatchObject({
        format: 2,
        tablePath: await fs.realpath(path.join(root, "expression.lance")),
        folder: folders[0],
        nGenes,
        rows,
        valueType: "uint16",
      });
      expect(meta!.bytes).toBe((nGenes + 1) * 8 + rows * 6);
      expect((done.result as { bytes: number }).bytes).toBe(meta!.bytes);
      expect((await fs.readdir(folder)).sort()).toEqual([CELLS_FILE, "gene-index.json", OFFSETS_FILE, VALUES_FILE].sort());
      expect(env.explore.geneIndexOf(env.datasetId)!.state).toBe("ready");
      await expectEveryGeneEqual(env, 160);
    } finally {
      await env.close();
    }

    // A fresh service finds the index built earlier and reads through it at once, with the service's answer unchanged.
    const again = await indexEnv(root, cacheDir);
    try {
      expect(await again.opened()).toBeNull();
      const index = again.explore.geneIndexOf(again.datasetId)!;
      expect(index.state).toBe("ready");
      const answer = await again.gene(lyz);
      const plain = await readGene(expression(again), lyz, 160);
      expect(answer.rowsRead).toBe(plain.rowsRead);
      expect(answer.bytesRead).toBe(plain.rowsRead * 6);
      expect(answer.nExpressing).toBe(plain.values.filter((v) => v > 0).length);
    } finally {
      await again.close();
    }
    expect(await snapshotTree(root)).toEqual(before);
  });

  it("a larger table through tiny staging buffers (thousands of flushes) reads the same, within the rows of the table", async () => {
    const synth = path.join(dir, "synth.slaf");
    await writePbmcSlaf(synth, { nCells: 1200, cellsPerChunk: 250 });
    const before = await snapshotTree(synth);
    const env = await indexEnv(synth, path.join(dir, "cache-synth"), { stagingBytes: 64 * 1024 });
    try {
      expect((await built(env)).state).toBe("done");
      const build = env.explore.geneIndexOf(env.datasetId)!.lastBuild!;
      const synthRows = env.datasets.get(env.datasetId).summary.tables.find((t) => t.name === "expression")!.rows;
      expect(build.rows).toBe(synthRows);
      // 64 KB of staging holds ~5.5k rows: each gene is written in many pieces.
      expect(build.writes).toBeGreaterThan((2 * synthRows) / 5_500);
      await expectEveryGeneEqual(env, 1200);
    } finally {
      await env.close();
    }
    expect(await snapshotTree(synth)).toEqual(before);
  });

  it("keys the index to the table's version and manifest: a changed table gets a new index, the stale one removed; duplicates are summed", async () => {
    const copy = path.join(dir, "changed.slaf");
    await fs.cp(root, copy, { recursive: true });
    const cacheDir = path.join(dir, "cache-b");
    const env = await indexEnv(copy, cacheDir);
    let first: string;
    try {
      expect((await built(env)).state).toBe("done");
      [first] = await indexFolders(cacheDir);
      // Same table, manifest touched (a rewrite in place keeps the version number but not the file): another key.
      const key = await geneIndexKey(path.join(copy, "expression.lance"), expression(env));
      expect(key.folder).toBe(first);
      const manifest = path.join(copy, "expression.lance", "_versions", key.manifest.name);
      const t = new Date(Date.now() + 5_000);
      await fs.utimes(manifest, t, t);
      const touched = await geneIndexKey(path.join(copy, "expression.lance"), expression(env));
      expect(touched.pathHash).toBe(key.pathHash);
      expect(touched.folder).not.toBe(key.folder);
    } finally {
      await env.close();
    }
    // A new version of the copy (our own copy, never a source we read): LYZ's last row stored a second time.
    const db = await lancedb.connect(copy);
    const table = await db.openTable("expression");
    const lyzRows = (await table.query().where(`gene_integer_id = ${lyz}`).select(["cell_integer_id", "gene_integer_id", "value"]).toArrow()) as InstanceType<
      typeof arrow.Table
    >;
    const lastRow = lyzRows.slice(lyzRows.numRows - 1);
    await table.add(lastRow);
    const cell = Number(lastRow.getChild("cell_integer_id")!.get(0));
    const value = Number(lastRow.getChild("value")!.get(0));
    table.close();
    db.close();

    const next = await indexEnv(copy, cacheDir);
    try {
      expect((await built(next)).state).toBe("done");
      const folders = await indexFolders(cacheDir);
      expect(folders).toHaveLength(1);
      expect(folders[0]).not.toBe(first!);
      const viaIndex = await (await readyIndex(next)).read(lyz, 160);
      const plain = await readGene(expression(next), lyz, 160);
      expect(Array.from(viaIndex.values)).toEqual(Array.from(plain.values));
      expect(viaIndex.rowsRead).toBe(lyzRows.numRows + 1);
      expect(viaIndex.values[cell]).toBe(2 * value);
    } finally {
      await next.close();
    }
  });

  it("ignores and removes a half-built folder, a damaged one and a v1 Lance clone, then builds", async () => {
    const cacheDir = path.join(dir, "cache-c");
    const env = await indexEnv(root, cacheDir, { minRows: Number.MAX_SAFE_INTEGER });
    const key = await geneIndexKey(path.join(root, "expression.lance"), expression(env));
    await env.close();
    const base = path.join(cacheDir, "gene-index");
    const deadPid = spawnSync(process.execPath, ["-e", ""]).pid;
    const half = path.join(base, `.tmp-${key.folder}-${deadPid}-0badf00d`);
    await fs.mkdir(half, { recursive: true });
    await fs.writeFile(path.join(half, CELLS_FILE), "half");
    // The complete folder's name without its meta: never used.
    const damaged = path.join(base, key.folder);
    await fs.mkdir(damaged);
    await fs.writeFile(path.join(damaged, "junk"), "x");
    // v1: a Lance clone with its meta, of this table (stale) and of another table (an older format).
    const v1Meta = { kind: "bitmap", tablePath: "/x/expression.lance", version: 1, manifest: {}, builtAt: "", buildMs: 1, bytes: 1 };
    for (const name of [`${key.pathHash}-0123456789abcdef`, "fedcba9876543210-0123456789abcdef"]) {
      await fs.mkdir(path.join(base, name, "expression.lance", "_indices"), { recursive: true });
      await fs.writeFile(path.join(base, name, "gene-index.json"), JSON.stringify({ ...v1Meta, folder: name }));
    }

    const again = await indexEnv(root, cacheDir);
    try {
      await expectAnswerFromSource(again, lyz);
      expect((await built(again)).state).toBe("done");
      expect(await indexFolders(cacheDir)).toEqual([key.folder]);
      expect(await fs.stat(path.join(damaged, "junk")).catch(() => null)).toBeNull();
      expect((await readGeneIndexMeta(damaged))?.folder).toBe(key.folder);
    } finally {
      await again.close();
    }
  });

  // Each damages the complete index of the table; a fresh service must not use it, remove it, answer from the source, and build again.
  const damages: [string, (folder: string) => Promise<void>][] = [
    ["a truncated values file", (f) => fs.truncate(path.join(f, VALUES_FILE), 10)],
    ["a cells file one row longer", (f) => fs.appendFile(path.join(f, CELLS_FILE), Buffer.alloc(4))],
    ["offsets that do not end at the rows", (f) => fs.writeFile(path.join(f, OFFSETS_FILE), Buffer.alloc((nGenes + 1) * 8))],
    [
      "decreasing offsets",
      async (f) => {
        const o = new Float64Array((await fs.readFile(path.join(f, OFFSETS_FILE))).buffer.slice(0));
        const g = o.findIndex((x) => x > 0);
        o[g] = o[g + 1] + 1;
        await fs.writeFile(path.join(f, OFFSETS_FILE), new Uint8Array(o.buffer));
      },
    ],
    ["a missing offsets file", (f) => fs.rm(path.join(f, OFFSETS_FILE))],
    ["a meta that is not JSON", (f) => fs.writeFile(path.join(f, "gene-index.json"), "{")],
    [
      "a meta of another key",
      async (f) => {
        const meta = (await readGeneIndexMeta(f))!;
        await fs.writeFile(path.join(f, "gene-index.json"), JSON.stringify({ ...meta, version: meta.version + 1 }));
      },
    ],
    [
      "a meta with another value type",
      async (f) => {
        const meta = (await readGeneIndexMeta(f))!;
        await fs.writeFile(path.join(f, "gene-index.json"), JSON.stringify({ ...meta, valueType: "float32" }));
      },
    ],
  ];
  it.each(damages)("an index with %s is ignored and removed, answers come from the source, and it is built again", async (_name, damage) => {
    const cacheDir = path.join(dir, `cache-damage-${_name.replace(/\W+/g, "-")}`);
    const env = await indexEnv(root, cacheDir);
    try {
      expect((await built(env)).state).toBe("done");
    } finally {
      await env.close();
    }
    const [folder] = await indexFolders(cacheDir);
    await damage(path.join(cacheDir, "gene-index", folder));

    const again = await indexEnv(root, cacheDir);
    try {
      const jobId = await again.opened();
      expect(jobId).not.toBeNull();
      await expectAnswerFromSource(again, lyz);
      expect((await again.waitJob(jobId!)).state).toBe("done");
      expect(await indexFolders(cacheDir)).toEqual([folder]);
      const viaIndex = await (await readyIndex(again)).read(lyz, 160);
      expect(Array.from(viaIndex.values)).toEqual(Array.from((await readGene(expression(again), lyz, 160)).values));
    } finally {
      await again.close();
    }
  });

  it("an index damaged under an open service is dropped at its first failed read, and the read answered from the source", async () => {
    const cacheDir = path.join(dir, "cache-damaged");
    const env = await indexEnv(root, cacheDir);
    try {
      expect((await built(env)).state).toBe("done");
      const [folder] = await indexFolders(cacheDir);
      await fs.truncate(path.join(cacheDir, "gene-index", folder, CELLS_FILE), 0);
      await expectAnswerFromSource(env, lyz);
      expect(env.explore.geneIndexOf(env.datasetId)!.state).toBe("failed");
    } finally {
      await env.close();
    }
  });

  it("a table whose rows are not in cell order gets no index (named error) and reads stay on the source", async () => {
    const shuffled = path.join(dir, "unordered.slaf");
    await fs.cp(root, shuffled, { recursive: true });
    const db = await lancedb.connect(shuffled);
    const table = await db.openTable("expression");
    const all = (await table.query().select(["cell_integer_id", "gene_integer_id", "value"]).toArrow()) as InstanceType<typeof arrow.Table>;
    table.close();
    // The same rows, last cell first.
    const reversed = Object.fromEntries(
      ["cell_integer_id", "gene_integer_id", "value"].map((name) => [name, (all.getChild(name)!.toArray() as Uint16Array).slice().reverse()]),
    );
    await db.createTable("expression", arrow.tableFromArrays(reversed), { mode: "overwrite" });
    db.close();
    const env = await indexEnv(shuffled, path.join(dir, "cache-unordered"));
    try {
      const done = await built(env);
      expect(done.state).toBe("failed");
      expect(done.error?.code).toBe("EXPLORE_DATASET_UNSUPPORTED");
      expect(done.error?.message).toMatch(/^Expression rows are not in cell order \(gene \d+: cell \d+ after cell \d+\)/);
      expect(await indexFolders(path.join(dir, "cache-unordered"))).toEqual([]);
      await expectAnswerFromSource(env, lyz);
    } finally {
      await env.close();
    }
  });
});
