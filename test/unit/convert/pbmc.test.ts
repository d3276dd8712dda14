import fs from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { convertFile } from "../../../main/services/convert/convert";
import { loadPbmc, PBMC_DIR, DATA_DIR } from "../../fixtures/pbmc";
import { tempDir } from "../../fixtures/slaf-fixture";
import { readBack, triples, type ReadBack } from "./read-back";

let dir: string;
let fromH5ad: ReadBack;
let fromMtx: ReadBack;

beforeAll(async () => {
  dir = await tempDir("slafwb-convert-");
  await convertFile(path.join(DATA_DIR, "pbmc3k.h5ad"), path.join(dir, "h5ad.slaf"));
  await convertFile(PBMC_DIR, path.join(dir, "mtx.slaf"), { chunkCells: 64 });
  fromH5ad = await readBack(path.join(dir, "h5ad.slaf"));
  fromMtx = await readBack(path.join(dir, "mtx.slaf"));
});

afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe("PBMC 3k conversion", () => {
  it("stores every nonzero of the input exactly once, with its value, cell-major and gene-sorted", () => {
    const pbmc = loadPbmc();
    const expected: string[] = [];
    pbmc.cells.forEach((cell, c) => cell.genes.forEach((g, k) => expected.push(`${c}:${g}=${cell.values[k]}`)));
    expect(triples(fromMtx)).toEqual(expected);
  });

  it("gives the same expression table from the h5ad and from the MTX folder", () => {
    expect(triples(fromH5ad)).toEqual(triples(fromMtx));
    expect(fromH5ad.expression.types).toEqual({ cell_integer_id: "Uint32", gene_integer_id: "Uint16", value: "Uint16" });
    expect(fromMtx.expression.types).toEqual(fromH5ad.expression.types);
  });

  it("writes config.json with SLAF's keys and the right numbers", () => {
    const c = fromH5ad.config;
    expect(c.format_version).toBe("0.5");
    expect(c.array_shape).toEqual([160, 8674]);
    expect([c.n_cells, c.n_genes]).toEqual([160, 8674]);
    expect(c.tables).toEqual({ expression: "expression.lance", cells: "cells.lance", genes: "genes.lance" });
    expect(c.optimizations).toEqual({ use_integer_keys: true, optimize_storage: true });
    expect(c.metadata.expression_count).toBe(151_815);
    expect(c.metadata.total_possible_elements).toBe(160 * 8674);
    expect(c.metadata.density).toBeCloseTo(151_815 / (160 * 8674), 12);
    expect(c.metadata.sparsity).toBeCloseTo(1 - 151_815 / (160 * 8674), 12);
    const values = fromH5ad.expression.value;
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    const std = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (values.length - 1));
    expect(c.metadata.expression_stats.min_value).toBe(values.reduce((a, b) => Math.min(a, b)));
    expect(c.metadata.expression_stats.max_value).toBe(values.reduce((a, b) => Math.max(a, b)));
    expect(c.metadata.expression_stats.mean_value).toBeCloseTo(mean, 9);
    expect(c.metadata.expression_stats.std_value).toBeCloseTo(std, 9);
    expect(c.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/);
    expect(c.obsm).toEqual({ available: ["X_umap"], immutable: ["X_umap"], mutable: [], dimensions: { X_umap: 2 } });
  });

  it("keeps the 8 cell types and the UMAP, with cell ids, integer ids and start indexes from X", () => {
    const pbmc = loadPbmc();
    const cells = fromH5ad.cells;
    expect(cells.cell_id).toEqual(pbmc.barcodes);
    expect(cells.cell_integer_id).toEqual(pbmc.barcodes.map((_, i) => i));
    expect(new Set(cells.cell_type).size).toBe(8);
    const typeCol = pbmc.obsColumns.indexOf("cell_type");
    expect(cells.cell_type).toEqual(pbmc.obs.map((r) => r[typeCol]));
    const u1 = pbmc.obsColumns.indexOf("UMAP_1");
    const umap = cells.X_umap as number[][];
    umap.forEach((xy, i) => {
      expect(xy[0]).toBeCloseTo(pbmc.obs[i][u1] as number, 4);
      expect(xy[1]).toBeCloseTo(pbmc.obs[i][u1 + 1] as number, 4);
    });
    expect(fromH5ad.cellTypes.X_umap).toMatch(/FixedSizeList\[2\]<Float32>/);
    let acc = 0;
    const starts = pbmc.cells.map((c) => ((acc += c.genes.length), acc - c.genes.length));
    expect(cells.cell_start_index).toEqual(starts);
    expect(fromMtx.cells.cell_start_index).toEqual(starts);
    expect(Object.keys(cells)).toContain("orig_ident");
    expect(Object.keys(cells)).toContain("RNA_snn_res_0_5");
    expect(fromH5ad.cellTypes.cell_start_index).toBe("Int64");
  });

  it("names genes by symbol, with ids and integer ids", () => {
    const pbmc = loadPbmc();
    expect(fromMtx.genes.gene_id).toEqual(pbmc.genes);
    expect(fromH5ad.genes.gene_id).toEqual(pbmc.genes);
    expect(fromMtx.genes.gene_integer_id).toEqual(pbmc.genes.map((_, i) => i));
    expect(fromMtx.geneTypes.gene_integer_id).toBe("Int64");
  });

  it("writes one Lance append per chunk of cells", () => {
    expect(fromMtx.fragments).toBe(Math.ceil(160 / 64));
    expect(fromH5ad.fragments).toBe(1);
  });
});
