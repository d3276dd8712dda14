import { existsSync } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AppFailure } from "../../../shared/result";
import { convertFile } from "../../../main/services/convert/convert";
import { DATA_DIR, loadPbmc } from "../../fixtures/pbmc";
import { tempDir } from "../../fixtures/slaf-fixture";
import { writeLegacyH5ad } from "./legacy-h5ad";
import { readBack, triples } from "./read-back";

let dir: string;
beforeAll(async () => {
  dir = await tempDir("slafwb-legacy-");
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

function pbmcTriples(): string[] {
  const out: string[] = [];
  loadPbmc().cells.forEach((cell, c) => cell.genes.forEach((g, k) => out.push(`${c}:${g}=${cell.values[k]}`)));
  return out;
}

async function failure(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (e) {
    if (e instanceof AppFailure) return e.appError;
    throw e;
  }
  throw new Error("expected a failure");
}

describe("AnnData < 0.7 files", () => {
  it("reads the shipped legacy.h5ad as the same PBMC cells, cell_type as strings from uns/cell_type_categories", async () => {
    const out = path.join(dir, "legacy.slaf");
    const summary = await convertFile(path.join(DATA_DIR, "real-world", "legacy.h5ad"), out);
    const pbmc = loadPbmc();
    const data = await readBack(out);
    expect(triples(data)).toEqual(pbmcTriples());
    expect(data.expression.types.value).toBe("Uint16");
    expect(data.cells.cell_id).toEqual(pbmc.barcodes);
    const typeAt = pbmc.obsColumns.indexOf("cell_type");
    expect(data.cells.cell_type).toEqual(pbmc.obs.map((r) => r[typeAt]));
    expect(data.cellTypes.cell_type).toBe("Utf8");
    expect(data.cells.n_counts).toHaveLength(160);
    expect(data.genes.gene_id).toEqual(pbmc.genes);
    expect(data.genes.gene_ids).toEqual(pbmc.genes);
    expect(summary.notes.join("\n")).toMatch(/AnnData < 0\.7 file .*categories from uns\/cell_type_categories/);
    expect(summary.warnings).toEqual([]);
    // uns held only the category list, which is not uns proper: no uns.json.
    expect(existsSync(path.join(out, "uns.json"))).toBe(false);
  });

  it("reads a variant: other index and column names, int16 codes, raw.X / raw.var at the root, obsm as a compound", async () => {
    const file = path.join(dir, "variant.h5ad");
    const src = await writeLegacyH5ad(file, {
      obsIndex: "cell_names",
      varIndex: "gene_symbols",
      typeColumn: "louvain",
      codeDtype: "<h",
      rawAtRoot: true,
      obsm: true,
      unknownCells: [5, 77],
    });
    const out = path.join(dir, "variant.slaf");
    const summary = await convertFile(file, out);
    const data = await readBack(out);
    // The counts in raw.X fill expression by default (X is normalized), over raw.var's 8,674 genes.
    expect(summary.sourceMatrix).toBe("raw/X");
    expect(triples(data)).toEqual(pbmcTriples());
    expect(data.genes.gene_id).toEqual(src.rawGenes);
    // var's own column is placed on raw.var's genes by name; genes only in raw have none.
    const inX = new Set(src.genes);
    expect(data.genes.gene_ids).toEqual(src.rawGenes.map((g) => (inX.has(g) ? g : null)));
    expect(data.cells.cell_id).toEqual(src.barcodes);
    expect(data.cells.louvain).toEqual(src.cellTypes.map((t, i) => (i === 5 || i === 77 ? null : t)));
    expect(data.cells.n_counts).toEqual(src.nCounts.map((n) => Math.fround(n)));
    expect(data.cellTypes.X_umap).toMatch(/FixedSizeList\[2\]<Float32>/);
    expect(data.cells.X_umap).toEqual(src.umap);
    expect(data.cells.X_tsne).toEqual(src.tsne);
    expect(data.cells.score).toEqual(src.score.map((s) => [Math.fround(s)]));
    expect(data.config.obsm.dimensions).toEqual({ X_umap: 2, X_tsne: 2, score: 1 });
    expect(summary.notes.join("\n")).toMatch(/uns\/louvain_categories/);

    // X itself on request: the normalized values over var's genes, value by value.
    const xOut = path.join(dir, "variant-x.slaf");
    await convertFile(file, xOut, { matrix: "X" });
    const x = await readBack(xOut);
    expect(x.expression.types.value).toBe("Float32");
    expect(triples(x)).toEqual(src.X.flatMap((c, i) => c.genes.map((g, k) => `${i}:${g}=${c.values[k]}`)));
    expect(x.genes.gene_id).toEqual(src.genes);
  });

  it("refuses a categories list shorter than its codes, naming both, and leaves nothing behind", async () => {
    const file = path.join(dir, "short-cats.h5ad");
    await writeLegacyH5ad(file, { categories: ["B", "CD14+ Mono", "CD8 T", "DC", "FCGR3A+ Mono"] });
    const out = path.join(dir, "short-cats.slaf");
    const e = await failure(convertFile(file, out));
    expect(e.code).toBe("CONVERT_INPUT_INVALID");
    expect(e.message).toMatch(/obs\/cell_type has category code [567] at row \d+, but uns\/cell_type_categories lists only 5 categories/);
    expect((await fs.readdir(dir)).filter((n) => n.includes("short-cats.slaf"))).toEqual([]);
  });
});
