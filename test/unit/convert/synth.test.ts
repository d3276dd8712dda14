import fs from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { synthesize } from "../../../main/services/convert/synth";
import { convertFile } from "../../../main/services/convert/convert";
import { loadPbmc, PBMC_DIR, DATA_DIR } from "../../fixtures/pbmc";
import { tempDir } from "../../fixtures/slaf-fixture";
import { readBack, triples } from "./read-back";

let dir: string;
beforeAll(async () => {
  dir = await tempDir("slafwb-synth-");
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe("synth", () => {
  it("resamples real cells: each cell's genes are a subset of its template cell's, metadata copied", async () => {
    const out = path.join(dir, "s.slaf");
    const r = await synthesize(path.join(DATA_DIR, "pbmc3k.h5ad"), out, { cells: 700, seed: 7 });
    expect(r.nCells).toBe(700);
    const data = await readBack(out);
    expect(data.config.n_cells).toBe(700);
    expect(data.expression.types.value).toBe("Uint16");
    const pbmc = loadPbmc();
    const byBarcode = new Map(pbmc.barcodes.map((b, i) => [b, i]));
    const ids = data.cells.cell_id as string[];
    expect(new Set(ids).size).toBe(700);
    const typeCol = pbmc.obsColumns.indexOf("cell_type");
    const starts = data.cells.cell_start_index as number[];
    for (const c of [0, 1, 350, 699]) {
      const template = byBarcode.get(ids[c].replace(/_\d+$/, ""))!;
      expect(data.cells.cell_type[c]).toBe(pbmc.obs[template][typeCol]);
      const end = c + 1 < 700 ? starts[c + 1] : data.expression.cell.length;
      const genes = data.expression.gene.slice(starts[c], end);
      const allowed = new Set(pbmc.cells[template].genes);
      expect(genes.every((g) => allowed.has(g))).toBe(true);
      expect(data.expression.cell.slice(starts[c], end).every((x) => x === c)).toBe(true);
    }
    expect(data.config.obsm.dimensions).toEqual({ X_umap: 2 });
    expect(new Set(data.cells.cell_type).size).toBe(8);
  });

  it("is reproducible, and its .h5ad form converts to the same table as writing SLAF directly", async () => {
    const direct = path.join(dir, "direct.slaf");
    const viaH5ad = path.join(dir, "via.h5ad");
    await synthesize(PBMC_DIR, direct, { cells: 300, seed: 3 });
    await synthesize(PBMC_DIR, viaH5ad, { cells: 300, seed: 3 });
    await convertFile(viaH5ad, path.join(dir, "via.slaf"));
    const a = await readBack(direct);
    const b = await readBack(path.join(dir, "via.slaf"));
    expect(triples(b)).toEqual(triples(a));
    expect(b.cells.cell_id).toEqual(a.cells.cell_id);
    expect(b.cells.cell_start_index).toEqual(a.cells.cell_start_index);
    // The MTX folder form (what the conversion benchmark reads) holds the same values too.
    const viaMtx = path.join(dir, "via.mtx");
    const written = await synthesize(PBMC_DIR, viaMtx, { cells: 300, seed: 3 });
    expect(written.nnz).toBe(a.expression.cell.length);
    await convertFile(viaMtx, path.join(dir, "via-mtx.slaf"), { chunkCells: 64 });
    const c = await readBack(path.join(dir, "via-mtx.slaf"));
    expect(triples(c)).toEqual(triples(a));
    expect(c.cells.cell_id).toEqual(a.cells.cell_id);
  });
});
