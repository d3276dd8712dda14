import fs from "node:fs/promises";
import path from "node:path";
import h5wasm from "h5wasm/node";
import * as lancedb from "@lancedb/lancedb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { convertFile, inspectInput } from "../../../main/services/convert/convert";
import { loadPbmc } from "../../fixtures/pbmc";
import { tempDir } from "../../fixtures/slaf-fixture";
import { readBack, triples } from "./read-back";

let dir: string;
beforeAll(async () => {
  dir = await tempDir("slafwb-loom-");
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

/** Edges of the test graph: every cell to the next one and to the one 7 further on, weighted. */
const EDGES = Array.from({ length: 160 }, (_, i) => [
  { a: i, b: (i + 1) % 160, w: 1 + i / 100 },
  { a: i, b: (i + 7) % 160, w: 0.5 },
]).flat();

/**
 * A loompy 3 file from the real PBMC 3k data: /matrix (genes × cells, float32, 64 × 64 gzip chunks), the counts
 * again as the int32 layer "spliced", row_attrs (Gene, Accession, highly_variable, a 2-D PCs), col_attrs
 * (CellID, cell_type, nCount_RNA, a 2-D UMAP), a cell graph and global attributes in /attrs.
 */
async function writePbmcLoom(file: string) {
  const pbmc = loadPbmc();
  const dense = new Float32Array(pbmc.nGenes * pbmc.nCells);
  pbmc.cells.forEach((c, i) => c.genes.forEach((g, k) => (dense[g * pbmc.nCells + i] = c.values[k])));
  const typeAt = pbmc.obsColumns.indexOf("cell_type");
  const countAt = pbmc.obsColumns.indexOf("nCount_RNA");
  const u = pbmc.obsColumns.indexOf("UMAP_1");
  const umap = pbmc.obs.map((r) => [Math.fround(Number(r[u])), Math.fround(Number(r[u + 1]))]);
  const pcs = pbmc.genes.map((_, g) => [g / 10, -g]);
  await h5wasm.ready;
  const f = new h5wasm.File(file, "w");
  try {
    f.create_dataset({ name: "matrix", data: dense, shape: [pbmc.nGenes, pbmc.nCells], chunks: [64, 64], compression: "gzip" });
    const layers = f.create_group("layers");
    layers.create_dataset({ name: "spliced", data: Int32Array.from(dense), shape: [pbmc.nGenes, pbmc.nCells], chunks: [64, 64], compression: "gzip" });
    const rows = f.create_group("row_attrs");
    rows.create_dataset({ name: "Gene", data: pbmc.genes });
    rows.create_dataset({ name: "Accession", data: pbmc.genes.map((g, i) => `ENSG${String(i).padStart(8, "0")}`), dtype: "S15" });
    rows.create_dataset({ name: "highly_variable", data: Int8Array.from(pbmc.highlyVariable, (b) => (b ? 1 : 0)) });
    rows.create_dataset({ name: "PCs", data: Float64Array.from(pcs.flat()), shape: [pbmc.nGenes, 2] });
    const cols = f.create_group("col_attrs");
    cols.create_dataset({ name: "CellID", data: pbmc.barcodes });
    cols.create_dataset({ name: "cell_type", data: pbmc.obs.map((r) => String(r[typeAt])) });
    cols.create_dataset({ name: "nCount_RNA", data: Float64Array.from(pbmc.obs, (r) => Number(r[countAt])) });
    cols.create_dataset({ name: "UMAP", data: Float32Array.from(umap.flat()), shape: [pbmc.nCells, 2] });
    const graphs = f.create_group("col_graphs").create_group("KNN");
    graphs.create_dataset({ name: "a", data: BigInt64Array.from(EDGES, (e) => BigInt(e.a)) });
    graphs.create_dataset({ name: "b", data: BigInt64Array.from(EDGES, (e) => BigInt(e.b)) });
    graphs.create_dataset({ name: "w", data: Float32Array.from(EDGES, (e) => e.w) });
    f.create_group("row_graphs");
    const attrs = f.create_group("attrs");
    attrs.create_dataset({ name: "LOOM_SPEC_VERSION", data: "3.0.0" });
    attrs.create_dataset({ name: "title", data: "PBMC 3k" });
  } finally {
    f.close();
  }
  return { pbmc, umap, pcs };
}

describe(".loom input", () => {
  it("reads /matrix genes × cells, row_attrs, col_attrs, layers, graphs and attributes, value by value", async () => {
    const file = path.join(dir, "pbmc.loom");
    const { pbmc, umap, pcs } = await writePbmcLoom(file);
    const inspection = await inspectInput(file);
    expect(inspection).toMatchObject({ format: "loom", nCells: 160, nGenes: 8674, layers: ["spliced"], obsm: ["UMAP"], varm: ["PCs"], defaultMatrix: "X" });
    expect(inspection.matrices.map((m) => [m.name, m.path, m.dtype, m.integer])).toEqual([
      ["X", "/matrix", "float32", true],
      ["layer:spliced", "layers/spliced", "int32", true],
    ]);
    const out = path.join(dir, "pbmc.slaf");
    const summary = await convertFile(file, out, { chunkCells: 48 });
    expect(summary.format).toBe("loom");
    expect(summary.notes).toContain("cells named by col_attrs/CellID, genes by row_attrs/Gene");
    const data = await readBack(out);
    const expected = pbmc.cells.flatMap((c, i) => c.genes.map((g, k) => `${i}:${g}=${c.values[k]}`));
    expect(triples(data)).toEqual(expected);
    expect(data.expression.types.value).toBe("Uint16");
    expect(data.fragments).toBe(Math.ceil(160 / 48));
    expect(data.cells.cell_id).toEqual(pbmc.barcodes);
    expect(data.cells.cell_type).toEqual(pbmc.obs.map((r) => r[pbmc.obsColumns.indexOf("cell_type")]));
    expect(data.cells.nCount_RNA).toEqual(pbmc.obs.map((r) => r[pbmc.obsColumns.indexOf("nCount_RNA")]));
    expect(data.cells.UMAP).toEqual(umap);
    expect(data.genes.gene_id).toEqual(pbmc.genes);
    expect(data.genes.Accession?.[42]).toBe("ENSG00000042");
    expect(data.genes.highly_variable).toEqual(pbmc.highlyVariable.map((b) => (b ? 1 : 0)));
    expect(data.genes.PCs).toEqual(pcs.map((r) => r.map(Math.fround)));
    expect(data.config.layers.available).toEqual(["spliced"]);
    const l = data.layers!;
    expect(l.cell_integer_id.map((c, i) => `${c}:${l.gene_integer_id[i]}=${l.spliced[i]}`)).toEqual(expected);
    expect(data.config.obsp.available).toEqual(["KNN"]);
    const db = await lancedb.connect(out);
    const t = await db.openTable("cellsxcells");
    const g = await t.query().toArrow();
    t.close();
    db.close();
    const stored = Array.from(
      { length: g.numRows },
      (_, r) => `${g.getChild("cell_integer_id_i")!.get(r)}:${g.getChild("cell_integer_id_j")!.get(r)}=${g.getChild("KNN")!.get(r)}`,
    );
    expect(stored).toEqual(
      EDGES.slice()
        .sort((x, y) => x.a - y.a || x.b - y.b)
        .map((e) => `${e.a}:${e.b}=${Math.fround(e.w)}`),
    );
    expect(JSON.parse(await fs.readFile(path.join(out, "uns.json"), "utf8"))).toEqual({ LOOM_SPEC_VERSION: "3.0.0", title: "PBMC 3k" });

    const spliced = path.join(dir, "spliced.slaf");
    await convertFile(file, spliced, { matrix: "layer:spliced" });
    expect(triples(await readBack(spliced))).toEqual(expected);
  });

  it("reads a loom 2 file: attributes on the root, cells without CellID named by position", async () => {
    const file = path.join(dir, "v2.loom");
    const rows = [
      [0, 2, 0],
      [1, 0, 0],
      [0, 0, 3],
      [4, 5, 0],
    ]; // genes × cells
    await h5wasm.ready;
    const f = new h5wasm.File(file, "w");
    try {
      f.create_dataset({ name: "matrix", data: Float64Array.from(rows.flat()), shape: [4, 3] });
      f.create_group("row_attrs").create_dataset({ name: "Gene", data: ["A", "B", "C", "D"] });
      f.create_group("col_attrs").create_dataset({ name: "ClusterID", data: Int32Array.from([7, 8, 9]) });
      f.create_group("layers");
      f.create_attribute("LOOM_SPEC_VERSION", "2.0.1");
      f.create_attribute("CreationDate", "20190101T000000.000000Z");
    } finally {
      f.close();
    }
    const out = path.join(dir, "v2.slaf");
    const summary = await convertFile(file, out);
    const data = await readBack(out);
    expect(triples(data)).toEqual(["0:1=1", "0:3=4", "1:0=2", "1:3=5", "2:2=3"]);
    expect(data.cells.cell_id).toEqual(["0", "1", "2"]);
    expect(data.cells.ClusterID).toEqual([7, 8, 9]);
    expect(summary.warnings).toContain(
      "col_attrs has none of CellID, cell_id, obs_names, CellIDs, cell_names, Barcode, barcode, barcodes; cells are named by their position",
    );
    expect(JSON.parse(await fs.readFile(path.join(out, "uns.json"), "utf8"))).toEqual({ LOOM_SPEC_VERSION: "2.0.1", CreationDate: "20190101T000000.000000Z" });
  });

  it("refuses a loom without /matrix, naming it, and leaves nothing behind", async () => {
    const file = path.join(dir, "nomatrix.loom");
    await h5wasm.ready;
    const f = new h5wasm.File(file, "w");
    try {
      f.create_group("row_attrs").create_dataset({ name: "Gene", data: ["A"] });
      f.create_group("col_attrs").create_dataset({ name: "CellID", data: ["c"] });
    } finally {
      f.close();
    }
    const out = path.join(dir, "nomatrix.slaf");
    await expect(convertFile(file, out)).rejects.toMatchObject({
      appError: { code: "CONVERT_INPUT_INVALID", message: `${file} has no /matrix; a loom file keeps its genes × cells matrix there` },
    });
    expect((await fs.readdir(dir)).filter((n) => n.includes("nomatrix.slaf"))).toEqual([]);
  });
});
