import { existsSync } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";
import h5wasm from "h5wasm/node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { convertFile } from "../../../main/services/convert/convert";
import { DATA_DIR, loadPbmc } from "../../fixtures/pbmc";
import { tempDir } from "../../fixtures/slaf-fixture";
import * as lancedb from "@lancedb/lancedb";
import { writeCellxgeneH5ad } from "./cellxgene-h5ad";
import { readBack, triples } from "./read-back";

type Group = InstanceType<typeof h5wasm.Group>;
type Sparse = { i: number; j: number; v: number }[];

let dir: string;
beforeAll(async () => {
  dir = await tempDir("slafwb-pairwise-");
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

const attr = (e: { create_attribute(name: string, data: never): void }, name: string, value: unknown) => e.create_attribute(name, value as never);

/** Writes entries as anndata's csr_matrix (or csc_matrix) group, each row's (column's) entries in the given order. */
function writeSparse(parent: Group, name: string, entries: Sparse, n: number, layout: "csr" | "csc"): void {
  const major = (e: Sparse[number]) => (layout === "csr" ? e.i : e.j);
  const minor = (e: Sparse[number]) => (layout === "csr" ? e.j : e.i);
  const ordered = entries.map((e, k) => ({ e, k })).sort((a, b) => major(a.e) - major(b.e) || a.k - b.k);
  const indptr = new BigInt64Array(n + 1);
  for (const { e } of ordered) indptr[major(e) + 1]++;
  for (let r = 0; r < n; r++) indptr[r + 1] += indptr[r];
  const g = parent.create_group(name);
  attr(g, "encoding-type", `${layout}_matrix`);
  attr(g, "encoding-version", "0.1.0");
  attr(g, "shape", BigInt64Array.from([BigInt(n), BigInt(n)]));
  g.create_dataset({ name: "data", data: Float32Array.from(ordered.map((o) => o.e.v)) });
  g.create_dataset({ name: "indices", data: Int32Array.from(ordered.map((o) => minor(o.e))) });
  g.create_dataset({ name: "indptr", data: indptr });
}

/** A 5-nearest-neighbour graph of the PBMC cells on their UMAP: distances (each row nearest first, so unsorted) and symmetric connectivities. */
function knn(): { distances: Sparse; connectivities: Sparse } {
  const pbmc = loadPbmc();
  const u = pbmc.obsColumns.indexOf("UMAP_1");
  const xy = pbmc.obs.map((r) => [Number(r[u]), Number(r[u + 1])]);
  const distances: Sparse = [];
  xy.forEach(([x, y], i) => {
    const near = xy
      .map(([a, b], j) => ({ j, d: Math.hypot(a - x, b - y) }))
      .filter((n) => n.j !== i)
      .sort((a, b) => a.d - b.d || a.j - b.j)
      .slice(0, 5);
    for (const n of near) distances.push({ i, j: n.j, v: Math.fround(n.d) });
  });
  const conn = new Map<string, Sparse[number]>();
  for (const d of distances) {
    for (const [i, j] of [
      [d.i, d.j],
      [d.j, d.i],
    ]) {
      conn.set(`${i}:${j}`, { i, j, v: Math.fround(Math.exp(-d.v)) });
    }
  }
  return { distances, connectivities: [...conn.values()] };
}

/** cellsxcells / genesxgenes read back as "i:j=v1,v2" rows in stored order. */
async function pairRows(root: string, table: string, prefix: string, keys: string[]): Promise<string[]> {
  const db = await lancedb.connect(root);
  try {
    const t = await db.openTable(table);
    const a = await t.query().toArrow();
    t.close();
    const col = (n: string) => a.getChild(n)!.toArray() as ArrayLike<number>;
    const [i, j] = [col(`${prefix}_i`), col(`${prefix}_j`)];
    const vs = keys.map(col);
    return Array.from({ length: a.numRows }, (_, r) => `${i[r]}:${j[r]}=${vs.map((v) => v[r]).join(",")}`);
  } finally {
    db.close();
  }
}

/** The expected rows: union of (i, j) over keys, sorted, 0 where a key has no entry. */
function union(keys: Sparse[]): string[] {
  const rows = new Map<string, { i: number; j: number; v: number[] }>();
  keys.forEach((entries, k) => {
    for (const e of entries) {
      const key = `${e.i}:${e.j}`;
      const row = rows.get(key) ?? rows.set(key, { i: e.i, j: e.j, v: keys.map(() => 0) }).get(key)!;
      row.v[k] = e.v;
    }
  });
  return [...rows.values()].sort((a, b) => a.i - b.i || a.j - b.j).map((r) => `${r.i}:${r.j}=${r.v.join(",")}`);
}

/** The real PBMC 3k h5ad with obsp, varp and uns added. */
async function pbmcWithExtras(file: string, extras: (f: InstanceType<typeof h5wasm.File>) => void): Promise<void> {
  await fs.copyFile(path.join(DATA_DIR, "pbmc3k.h5ad"), file);
  await h5wasm.ready;
  const f = new h5wasm.File(file, "a");
  try {
    extras(f);
  } finally {
    f.close();
  }
}

const VARP: Sparse = Array.from({ length: 50 }, (_, g) => ({ i: g, j: (g * 7) % 50, v: g + 0.5 }));

describe("obsp, varp and uns in the streaming path", () => {
  it("writes cellsxcells / genesxgenes as SLAF does (union of keys, sorted, 0.0 where a key is absent) and uns.json", async () => {
    const file = path.join(dir, "extras.h5ad");
    const graph = knn();
    await pbmcWithExtras(file, (f) => {
      const has = (n: string) => f.keys().includes(n);
      const obsp = has("obsp") ? (f.get("obsp") as Group) : f.create_group("obsp");
      writeSparse(obsp, "distances", graph.distances, 160, "csr");
      writeSparse(obsp, "connectivities", graph.connectivities, 160, "csc");
      const varp = has("varp") ? (f.get("varp") as Group) : f.create_group("varp");
      writeSparse(varp, "gene.corr", VARP, 8674, "csr");
      const uns = has("uns") ? (f.get("uns") as Group) : f.create_group("uns");
      const neighbors = uns.create_group("neighbors");
      neighbors.create_dataset({ name: "connectivities_key", data: "connectivities" });
      const params = neighbors.create_group("params");
      params.create_dataset({ name: "n_neighbors", data: 5 });
      params.create_dataset({ name: "method", data: "umap" });
      uns.create_dataset({ name: "cell_type_colors", data: ["#1f77b4", "#ff7f0e", "#279e68"] });
      uns.create_dataset({ name: "variance", data: Float64Array.from([1, 2, 3, 4, 5, 6]), shape: [2, 3] });
      const cat = uns.create_group("batch");
      attr(cat, "encoding-type", "categorical");
      cat.create_dataset({ name: "categories", data: ["a", "b"] });
      cat.create_dataset({ name: "codes", data: Int8Array.from([1, 0, -1, 1]) });
      const nullable = uns.create_group("counts");
      attr(nullable, "encoding-type", "nullable-integer");
      nullable.create_dataset({ name: "values", data: Int32Array.from([4, 5, 6]) });
      nullable.create_dataset({ name: "mask", data: Uint8Array.from([0, 1, 0]) });
      writeSparse(uns, "sparse_thing", [{ i: 0, j: 1, v: 2 }], 3, "csr");
    });
    const out = path.join(dir, "extras.slaf");
    const summary = await convertFile(file, out, { chunkCells: 48 });
    const data = await readBack(out);
    expect(data.config.tables).toMatchObject({ cellsxcells: "cellsxcells.lance", genesxgenes: "genesxgenes.lance" });
    // Keys in the order HDF5 lists them (by name).
    expect(data.config.obsp).toEqual({
      available: ["connectivities", "distances"],
      immutable: ["connectivities", "distances"],
      mutable: [],
      dimensions: { distances: 160, connectivities: 160 },
    });
    expect(data.config.varp).toEqual({ available: ["gene_corr"], immutable: ["gene_corr"], mutable: [], dimensions: { gene_corr: 8674 } });
    expect(await pairRows(out, "cellsxcells", "cell_integer_id", ["connectivities", "distances"])).toEqual(union([graph.connectivities, graph.distances]));
    expect(await pairRows(out, "genesxgenes", "gene_integer_id", ["gene_corr"])).toEqual(union([VARP]));
    const uns = JSON.parse(await fs.readFile(path.join(out, "uns.json"), "utf8"));
    expect(uns).toEqual({
      neighbors: { connectivities_key: "connectivities", params: { n_neighbors: 5, method: "umap" } },
      cell_type_colors: ["#1f77b4", "#ff7f0e", "#279e68"],
      variance: [
        [1, 2, 3],
        [4, 5, 6],
      ],
      batch: ["b", "a", null, "b"],
      counts: [4, null, 6],
    });
    expect(summary.warnings).toContain("uns/sparse_thing is a csr_matrix; left out of uns.json");
    expect(triples(data)).toHaveLength(151_815);
  });

  it("writes one (0, 0, 0) row when every key is empty, and no uns.json when uns is empty", async () => {
    const file = path.join(dir, "empty.h5ad");
    await pbmcWithExtras(file, (f) => {
      const obsp = f.keys().includes("obsp") ? (f.get("obsp") as Group) : f.create_group("obsp");
      writeSparse(obsp, "connectivities", [], 160, "csr");
    });
    const out = path.join(dir, "empty.slaf");
    await convertFile(file, out);
    expect(await pairRows(out, "cellsxcells", "cell_integer_id", ["connectivities"])).toEqual(["0:0=0"]);
    expect(existsSync(path.join(out, "uns.json"))).toBe(false);
  });

  it("refuses an obsp matrix whose size is not the number of cells, and writes nothing", async () => {
    const file = path.join(dir, "bad-obsp.h5ad");
    await pbmcWithExtras(file, (f) => {
      const obsp = f.keys().includes("obsp") ? (f.get("obsp") as Group) : f.create_group("obsp");
      writeSparse(obsp, "connectivities", [{ i: 0, j: 1, v: 1 }], 159, "csr");
    });
    const out = path.join(dir, "bad-obsp.slaf");
    await expect(convertFile(file, out)).rejects.toMatchObject({
      appError: { code: "CONVERT_INPUT_INVALID", message: `${file}: obsp/connectivities is 159 × 159 but obs has 160 rows` },
    });
    expect((await fs.readdir(dir)).filter((n) => n.includes("bad-obsp.slaf"))).toEqual([]);
  });

  it("places varp on raw/var's genes when raw/X fills expression", async () => {
    const file = path.join(dir, "cellxgene-varp.h5ad");
    const cx = await writeCellxgeneH5ad(file);
    await h5wasm.ready;
    const entries: Sparse = [
      { i: 0, j: 3, v: 1.5 },
      { i: 3, j: 0, v: 2.5 },
      { i: 10, j: cx.genes.length - 1, v: 3.5 },
    ];
    const f = new h5wasm.File(file, "a");
    try {
      const varp = f.keys().includes("varp") ? (f.get("varp") as Group) : f.create_group("varp");
      writeSparse(varp, "k", entries, cx.genes.length, "csr");
    } finally {
      f.close();
    }
    const out = path.join(dir, "cellxgene-varp.slaf");
    const summary = await convertFile(file, out);
    expect(summary.sourceMatrix).toBe("raw/X");
    const moved = entries.map((e) => ({ i: cx.geneInRaw[e.i], j: cx.geneInRaw[e.j], v: e.v }));
    expect(await pairRows(out, "genesxgenes", "gene_integer_id", ["k"])).toEqual(union([moved]));
    expect((await readBack(out)).config.varp.dimensions).toEqual({ k: cx.rawGenes.length });
  });
});
