import fs from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { convertFile } from "../../../main/services/convert/convert";
import { DATA_DIR } from "../../fixtures/pbmc";
import { tempDir } from "../../fixtures/slaf-fixture";
import { writeCellRangerH5, writeCellRangerV2H5, writeTestH5ad } from "./h5-files";
import { readBack, triples } from "./read-back";

let dir: string;
beforeAll(async () => {
  dir = await tempDir("slafwb-formats-");
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

/** 7 cells × 6 genes with empty cells and genes, integer counts. */
const ROWS = [
  [0, 3, 0, 0, 1, 0],
  [2, 0, 0, 0, 0, 0],
  [0, 0, 0, 0, 0, 0],
  [1, 1, 1, 0, 0, 9],
  [0, 0, 5, 0, 0, 0],
  [0, 7, 0, 0, 2, 0],
  [4, 0, 0, 0, 0, 1],
];

function expectedTriples(rows: number[][]): string[] {
  return rows.flatMap((r, c) => r.flatMap((v, g) => (v !== 0 ? [`${c}:${g}=${v}`] : [])));
}

async function convert(name: string, input: string, chunkCells?: number) {
  const out = path.join(dir, `${name}.slaf`);
  const summary = await convertFile(input, out, { chunkCells });
  return { summary, data: await readBack(out) };
}

describe("input formats", () => {
  it("keeps obsm X_pca (10 dims) and X_tsne of pbmc_small.h5ad", async () => {
    const { data } = await convert("small", path.join(DATA_DIR, "pbmc_small.h5ad"));
    expect(data.config.obsm.dimensions).toEqual({ X_pca: 10, X_tsne: 2 });
    expect(data.cellTypes.X_pca).toMatch(/FixedSizeList\[10\]<Float32>/);
    expect((data.cells.X_pca as number[][])[0]).toHaveLength(10);
    expect(data.cells.X_tsne as number[][]).toHaveLength(80);
    expect(data.config.metadata.expression_count).toBe(4456);
    expect(data.cells.letter_idents).toHaveLength(80);
  });

  it("converts the Cell Ranger v3 MTX triplet (gzipped): Gene Expression by default, all features on request", async () => {
    const gex = await convert("tenx-gex", path.join(DATA_DIR, "tenx_v3_small"));
    expect(gex.summary.valueType).toBe("uint16");
    expect(triples(gex.data)).toEqual(["0:0=110", "1:1=1000", "2:2=500", "3:0=4000"]);
    expect(gex.data.genes.gene_id).toEqual(["RP11-34P13.3", "FAM138A", "FAM231B"]);
    expect(gex.summary.featureTypes).toEqual({ kept: ["Gene Expression"], leftOut: [{ type: "Antibody Capture", count: 2 }] });
  });

  it("converts every feature of the Cell Ranger v3 MTX triplet, storing values above 65,535 exactly as float32", async () => {
    const out = path.join(dir, "tenx.slaf");
    const summary = await convertFile(path.join(DATA_DIR, "tenx_v3_small"), out, { featureTypes: ["all"] });
    const data = await readBack(out);
    expect(summary.format).toBe("10x_mtx");
    expect(summary.valueType).toBe("float32");
    expect(triples(data)).toEqual(["0:0=110", "1:1=1000", "1:3=70000", "2:2=500", "3:0=4000", "3:3=5", "4:3=3332", "4:4=1200"]);
    expect(data.genes.gene_id).toEqual(["RP11-34P13.3", "FAM138A", "FAM231B", "CD3", "CD19"]);
    expect(data.genes.gene_ids).toEqual(["ENSG00000243485", "ENSG00000237613", "ENSG00000268674", "CD3_GCCTGACTAGATCCA", "CD19_CGTGCAACACTCGTA"]);
    expect(data.genes.feature_types?.[3]).toBe("Antibody Capture");
    expect(data.cells.cell_id?.[0]).toBe("AAAGTAGCACAGTCGC-1");
    expect(data.cells.cell_start_index).toEqual([0, 1, 3, 4, 6]);
  });

  it("reads a real Cell Ranger HDF5 layout (/matrix CSC over barcodes, byte strings)", async () => {
    const file = path.join(dir, "filtered_feature_bc_matrix.h5");
    const barcodes = ROWS.map((_, i) => `AAAC${i}-1`);
    const features = ROWS[0].map((_, g) => ({ id: `ENSG0000${g}`, name: `G${g}` }));
    await writeCellRangerH5(file, ROWS, barcodes, features);
    const { data, summary } = await convert("cellranger", file, 3);
    expect(summary.format).toBe("10x_h5");
    expect(triples(data)).toEqual(expectedTriples(ROWS));
    expect(data.cells.cell_id).toEqual(barcodes);
    expect(data.genes.gene_id).toEqual(features.map((f) => f.name));
    expect(data.genes.gene_ids).toEqual(features.map((f) => f.id));
    expect(data.genes.genome).toEqual(features.map(() => "GRCh38"));
    expect(data.fragments).toBe(3);
  });

  it("reads the Cell Ranger 2 HDF5 layout (genome group with genes and gene_names)", async () => {
    const file = path.join(dir, "v2.h5");
    const barcodes = ROWS.map((_, i) => `TTTC${i}-1`);
    const genes = ROWS[0].map((_, g) => ({ id: `ENSG9${g}`, name: `S${g}` }));
    await writeCellRangerV2H5(file, ROWS, barcodes, genes);
    const { data } = await convert("cellranger-v2", file);
    expect(triples(data)).toEqual(expectedTriples(ROWS));
    expect(data.genes.gene_id).toEqual(genes.map((g) => g.name));
    expect(data.genes.gene_ids).toEqual(genes.map((g) => g.id));
  });

  it("reads a Cell Ranger 2 MTX folder (uncompressed, genes.tsv with two columns)", async () => {
    const d = path.join(dir, "v2-mtx");
    await fs.mkdir(d);
    const entries = ROWS.flatMap((r, c) => r.flatMap((v, g) => (v ? [`${g + 1} ${c + 1} ${v}`] : [])));
    await fs.writeFile(
      path.join(d, "matrix.mtx"),
      `%%MatrixMarket matrix coordinate integer general\n${ROWS[0].length} ${ROWS.length} ${entries.length}\n${entries.join("\n")}\n`,
    );
    await fs.writeFile(path.join(d, "genes.tsv"), ROWS[0].map((_, g) => `ENSG${g}\tG${g}`).join("\n") + "\n");
    await fs.writeFile(path.join(d, "barcodes.tsv"), ROWS.map((_, c) => `B${c}-1`).join("\n") + "\n");
    const { data } = await convert("v2-mtx", d, 3);
    expect(triples(data)).toEqual(expectedTriples(ROWS));
    expect(data.genes.gene_id).toEqual(ROWS[0].map((_, g) => `G${g}`));
    expect(data.genes.gene_ids).toEqual(ROWS[0].map((_, g) => `ENSG${g}`));
  });

  it("keeps varm as FixedSizeList columns of genes.lance", async () => {
    const file = path.join(dir, "varm.h5ad");
    const pcs = ROWS[0].map((_, g) => [g, g * 2, g * 3]);
    await writeTestH5ad(file, { rows: ROWS, varm: { PCs: pcs } });
    const { data } = await convert("varm", file);
    expect(data.config.varm).toEqual({ available: ["PCs"], immutable: ["PCs"], mutable: [], dimensions: { PCs: 3 } });
    expect(data.genes.PCs).toEqual(pcs);
    expect(data.geneTypes.PCs).toMatch(/FixedSizeList\[3\]<Float32>/);
  });

  it("uses int32 ids when there are more than 65,535 genes", async () => {
    const rows = [new Array(70_000).fill(0), new Array(70_000).fill(0)];
    rows[0][69_999] = 3;
    rows[1][5] = 1;
    rows[1][66_000] = 2;
    const file = path.join(dir, "wide.h5ad");
    await writeTestH5ad(file, { rows });
    const { data } = await convert("wide", file);
    expect(data.expression.types).toEqual({ cell_integer_id: "Int32", gene_integer_id: "Int32", value: "Uint16" });
    expect(triples(data)).toEqual(["0:69999=3", "1:5=1", "1:66000=2"]);
  });

  it("sorts CSC input into cell-major, gene-sorted rows (SLAF keeps CSC column order)", async () => {
    const file = path.join(dir, "csc.h5ad");
    await writeTestH5ad(file, { rows: ROWS, layout: "csc" });
    const { data } = await convert("csc", file, 2);
    expect(triples(data)).toEqual(expectedTriples(ROWS));
    expect(data.cells.cell_start_index).toEqual([0, 2, 3, 3, 7, 8, 10]);
  });

  it("accepts a dense X", async () => {
    const file = path.join(dir, "dense.h5ad");
    await writeTestH5ad(file, { rows: ROWS, layout: "dense", dtype: "i" });
    const { data, summary } = await convert("dense", file);
    expect(triples(data)).toEqual(expectedTriples(ROWS));
    expect(summary.nnz).toBe(expectedTriples(ROWS).length);
  });

  it("picks float32 from all values: a value above 65,535 in the last chunk is kept, not wrapped", async () => {
    const rows = ROWS.map((r) => r.slice());
    rows[6][5] = 70_000;
    const file = path.join(dir, "late-big.h5ad");
    await writeTestH5ad(file, { rows, dtype: "i" });
    const { data, summary } = await convert("late-big", file, 2);
    expect(summary.valueType).toBe("float32");
    expect(data.expression.types.value).toBe("Float32");
    expect(triples(data)).toEqual(expectedTriples(rows));
    expect(data.config.metadata.expression_stats.max_value).toBe(70_000);
  });

  it("keeps fractional values as float32", async () => {
    const rows = ROWS.map((r) => r.map((v) => v / 4));
    const file = path.join(dir, "float.h5ad");
    await writeTestH5ad(file, { rows });
    const { data, summary } = await convert("float", file);
    expect(summary.valueType).toBe("float32");
    expect(triples(data)).toEqual(expectedTriples(rows));
  });

  it("writes layers.lance: every stored entry of each layer, nulls elsewhere", async () => {
    const spliced = ROWS.map((r) => r.map((v, g) => (g === 2 ? 0.5 : v)));
    const file = path.join(dir, "layers.h5ad");
    await writeTestH5ad(file, { rows: ROWS, layers: { spliced, "un.spliced": ROWS } });
    const { data } = await convert("layers", file, 3);
    expect(data.config.tables.layers).toBe("layers.lance");
    expect(data.config.layers).toEqual({ available: ["spliced", "un_spliced"], immutable: ["spliced", "un_spliced"], mutable: [] });
    const l = data.layers!;
    const at = (c: number, g: number) => l.cell_integer_id.findIndex((x, i) => x === c && l.gene_integer_id[i] === g);
    expect(l.spliced[at(2, 2)]).toBe(0.5);
    expect(l.un_spliced[at(2, 2)]).toBe(null);
    expect(l.un_spliced[at(3, 5)]).toBe(9);
    expect(l.cell_integer_id).toHaveLength(expectedTriples(ROWS).length + ROWS.filter((r) => r[2] === 0).length);
  });

  it("makes duplicate names unique with a warning, sanitizes column names and counts start indexes from X", async () => {
    const file = path.join(dir, "dups.h5ad");
    await writeTestH5ad(file, {
      rows: ROWS,
      obsNames: ["a", "b", "a", "c", "a", "b", "d"],
      obs: { n_genes: [99, 99, 99, 99, 99, 99, 99], "cell.type": ["T", "B", "T", "NK", "B", "T", "NK"] },
      obsm: { X_umap: ROWS.map((_, i) => [i, -i]) },
    });
    const { data, summary } = await convert("dups", file);
    expect(data.cells.cell_id).toEqual(["a", "b", "a-1", "c", "a-2", "b-1", "d"]);
    expect(summary.warnings.join("\n")).toMatch(/obs names: 3 duplicates made unique/);
    expect(data.cells.cell_type).toEqual(["T", "B", "T", "NK", "B", "T", "NK"]);
    expect(data.cells.cell_start_index).toEqual([0, 2, 3, 3, 7, 8, 10]);
    expect(data.cells.X_umap).toEqual(ROWS.map((_, i) => [i, -i]));
  });
});
