/** Issue 8 item 18: a CELLxGENE-style h5ad (normalized X, counts in raw/X with more genes, nullable obs columns). */
import fs from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { convertFile, inspectInput } from "../../../main/services/convert/convert";
import { PBMC_DIR } from "../../fixtures/pbmc";
import { tempDir } from "../../fixtures/slaf-fixture";
import { writeCellxgeneH5ad, type CellxgeneData } from "./cellxgene-h5ad";
import { writeTestH5ad } from "./h5-files";
import { readBack, triples, type ReadBack } from "./read-back";

let dir: string;
let input: string;
let data: CellxgeneData;
let byDefault: ReadBack;

beforeAll(async () => {
  dir = await tempDir("slafwb-cellxgene-");
  input = path.join(dir, "cellxgene.h5ad");
  data = await writeCellxgeneH5ad(input);
  await convertFile(input, path.join(dir, "default.slaf"));
  byDefault = await readBack(path.join(dir, "default.slaf"));
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

const expected = (rows: { genes: number[]; values: number[] }[]) => rows.flatMap((r, c) => r.genes.map((g, k) => `${c}:${g}=${r.values[k]}`));

describe("CELLxGENE-style h5ad", () => {
  it("inspects both matrices with shape, dtype and whether they hold integers, and defaults to raw/X", async () => {
    const info = await inspectInput(input);
    expect(info.matrices).toEqual([
      { name: "X", path: "X", nCells: 160, nGenes: data.genes.length, dtype: "float32", integer: false, nnz: expected(data.X).length },
      { name: "raw", path: "raw/X", nCells: 160, nGenes: 8674, dtype: "float32", integer: true, nnz: 151_815 },
    ]);
    expect(data.genes.length).toBeLessThan(8674);
    expect(info.defaultMatrix).toBe("raw");
    expect(info.defaultReason).toMatch(/raw\/X holds integer counts and X does not/);
  });

  it("stores the counts of raw/X by default, value by value, over raw/var's genes, and says so", async () => {
    expect(triples(byDefault)).toEqual(expected(data.counts));
    expect(byDefault.expression.types.value).toBe("Uint16");
    expect(byDefault.config.metadata.source_matrix).toBe("raw/X");
    expect(byDefault.config.n_genes).toBe(8674);
    expect(byDefault.genes.gene_id).toEqual(data.rawGenes);
    const summary = await convertFile(input, path.join(dir, "again.slaf"));
    expect(summary.sourceMatrix).toBe("raw/X");
    expect(summary.notes[0]).toMatch(/^expression holds raw\/X \(float32, integer counts\), by default: raw\/X holds integer counts and X does not/);
  });

  it("keeps var's own columns on raw/var's genes, null for genes only raw has", () => {
    const inVar = new Map(data.geneInRaw.map((g, i) => [g, i]));
    expect(byDefault.genes.n_cells).toEqual(data.rawGenes.map((_, g) => (inVar.has(g) ? data.nCells[inVar.get(g)!] : null)));
    expect(byDefault.genes.feature_name).toEqual(data.rawGenes);
  });

  it("turns masked nullable-integer, -boolean and -string values into nulls and keeps UTF-8 names", () => {
    const nGenes = byDefault.cells.n_genes;
    expect(nGenes).toEqual(data.nGenes.map((n, i) => (data.nGenesMasked[i] ? null : n)));
    expect(nGenes.filter((v) => v === null)).toHaveLength(19);
    expect(byDefault.cellTypes.n_genes).toBe("Int64");
    expect(byDefault.cells.is_doublet).toEqual(data.doublet);
    expect(byDefault.cells.note).toEqual(data.note);
    expect(byDefault.cells.cell_type).toEqual(data.cellTypes);
    expect(new Set(byDefault.cells.cell_type)).toContain("Mono – classical");
    expect(new Set(byDefault.cells.cell_type)).toContain("CD4⁺ T naïve");
  });

  it("stores X with --matrix X, over var's genes", async () => {
    const out = path.join(dir, "x.slaf");
    const summary = await convertFile(input, out, { matrix: "X" });
    const r = await readBack(out);
    expect(triples(r)).toEqual(expected(data.X));
    expect(r.expression.types.value).toBe("Float32");
    expect(r.config.metadata.source_matrix).toBe("X");
    expect(r.genes.gene_id).toEqual(data.genes);
    expect(r.genes.n_cells).toEqual(data.nCells);
    expect(summary).toMatchObject({ sourceMatrix: "X", valueType: "float32", nGenes: data.genes.length });
    expect(summary.notes[0]).toMatch(/^expression holds X \(float32, non-integer values\), as chosen/);
  });

  it("keeps the other matrix as a layer on request, placed on the output's genes", async () => {
    const out = path.join(dir, "both.slaf");
    const summary = await convertFile(input, out, { keepOtherAsLayer: true });
    const r = await readBack(out);
    expect(triples(r)).toEqual(expected(data.counts));
    expect(r.config.tables.layers).toBe("layers.lance");
    expect(r.config.layers).toEqual({ available: ["X"], immutable: ["X"], mutable: [] });
    const layer = r.layers!;
    const got = layer.cell_integer_id.map((c, i) => `${c}:${layer.gene_integer_id[i]}=${layer.X[i]}`);
    expect(got).toEqual(data.X.flatMap((row, c) => row.genes.map((g, k) => `${c}:${data.geneInRaw[g]}=${row.values[k]}`)));
    expect(summary.notes).toContain("X is kept as the layer X");

    const out2 = path.join(dir, "x-and-raw.slaf");
    await convertFile(input, out2, { matrix: "X", keepOtherAsLayer: true });
    const r2 = await readBack(out2);
    const inVar = new Map(data.geneInRaw.map((g, i) => [g, i]));
    const raw = r2.layers!;
    expect(raw.cell_integer_id.map((c, i) => `${c}:${raw.gene_integer_id[i]}=${raw.raw[i]}`)).toEqual(
      data.counts.flatMap((row, c) => row.genes.flatMap((g, k) => (inVar.has(g) ? [`${c}:${inVar.get(g)}=${row.values[k]}`] : []))),
    );
  });

  it("refuses an unknown matrix with a named error", async () => {
    await expect(convertFile(input, path.join(dir, "bad.slaf"), { matrix: "layer:counts" })).rejects.toMatchObject({
      appError: { code: "CONVERT_INPUT_INVALID", message: expect.stringMatching(/has no layers\/counts; it has: X, raw$/) },
    });
    await expect(convertFile(input, path.join(dir, "bad.slaf"), { matrix: "counts" })).rejects.toMatchObject({
      appError: { code: "INVALID_ARGUMENT", message: 'Unknown matrix "counts": use X, raw or layer:<name>' },
    });
    expect((await fs.readdir(dir)).filter((n) => n.includes("bad.slaf"))).toEqual([]);
  });
});

describe("other places counts live", () => {
  const norm = [
    [0, 1.5, 0, 2.25],
    [0.5, 0, 0, 0],
    [0, 0, 3.75, 1.5],
  ];
  const counts = [
    [0, 3, 0, 5],
    [1, 0, 0, 0],
    [0, 0, 9, 3],
  ];

  it("keeps X by default when only a layer holds counts, says which layer does, and converts that layer on request", async () => {
    const file = path.join(dir, "layer-counts.h5ad");
    await writeTestH5ad(file, { rows: norm, layers: { counts, spliced: counts } });
    const info = await inspectInput(file);
    expect(info.matrices.map((m) => [m.name, m.path, m.integer])).toEqual([
      ["X", "X", false],
      ["layer:counts", "layers/counts", true],
      ["layer:spliced", "layers/spliced", true],
    ]);
    expect(info).toMatchObject({
      defaultMatrix: "X",
      defaultReason: "X holds non-integer values; layers/counts holds integer counts: choose it to store counts",
    });
    const out = path.join(dir, "layer-counts.slaf");
    const summary = await convertFile(file, out, { matrix: "layer:counts", keepOtherAsLayer: true });
    const r = await readBack(out);
    expect(triples(r)).toEqual(["0:1=3", "0:3=5", "1:0=1", "2:2=9", "2:3=3"]);
    expect(r.config.metadata.source_matrix).toBe("layers/counts");
    expect(r.config.layers.available).toEqual(["spliced", "X"]);
    expect(r.layers!.X).toEqual([1.5, 2.25, 0.5, 3.75, 1.5]);
    expect(summary.notes[0]).toBe("expression holds layers/counts (float32, integer counts), as chosen (the default is X)");
  });

  it("samples a dense float X for whole numbers", async () => {
    const whole = path.join(dir, "dense-counts.h5ad");
    const fractional = path.join(dir, "dense-norm.h5ad");
    await writeTestH5ad(whole, { rows: counts, layout: "dense" });
    await writeTestH5ad(fractional, { rows: norm, layout: "dense" });
    expect((await inspectInput(whole)).matrices[0]).toMatchObject({ dtype: "float32", integer: true, nnz: null });
    expect((await inspectInput(fractional)).matrices[0]).toMatchObject({ dtype: "float32", integer: false });
  });

  it("describes the one matrix of a 10x folder from its header", async () => {
    const info = await inspectInput(PBMC_DIR);
    expect(info.matrices).toEqual([{ name: "X", path: "matrix.mtx.gz", nCells: 160, nGenes: 8674, dtype: "int64", integer: true, nnz: 151_815 }]);
    expect(info).toMatchObject({ defaultMatrix: "X", defaultReason: "the only matrix (integer counts)" });
  });
});
