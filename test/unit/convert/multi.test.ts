import fs from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { convertCommand } from "../../../main/commands/convert";
import { convertInputs, type ConvertProgress } from "../../../main/services/convert/convert";
import { sampleNameFromPath } from "../../../main/services/convert/samples";
import { loadPbmc } from "../../fixtures/pbmc";
import { tempDir } from "../../fixtures/slaf-fixture";
import { writePbmcSamples, type PbmcSamples } from "./pbmc-samples";
import { readBack, triples } from "./read-back";

let dir: string;
let samples: PbmcSamples;

beforeAll(async () => {
  dir = await tempDir("slafwb-multi-");
  samples = await writePbmcSamples(dir);
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

const inputs = () => [{ path: samples.paths.donorA }, { path: samples.paths.donorB }, { path: samples.paths.donorC }];
const sampleColumn = () => [...new Array(50).fill("donorA"), ...new Array(50).fill("donorB"), ...new Array(60).fill("donorC")];

describe("several inputs into one dataset", () => {
  it("puts three samples in three formats into one dataset: sample column, genes by name, values and ids kept", async () => {
    const out = path.join(dir, "atlas.slaf");
    const progress: ConvertProgress[] = [];
    const summary = await convertInputs(inputs(), out, { chunkCells: 32, onProgress: (p) => progress.push(p) });
    const pbmc = loadPbmc();
    const data = await readBack(out);
    expect(triples(data)).toEqual(samples.expected);
    expect(data.genes.gene_id).toEqual(pbmc.genes);
    expect(data.cells.cell_id).toEqual(pbmc.barcodes);
    expect(data.cells.sample).toEqual(sampleColumn());
    expect(data.cells.source_file).toEqual([
      ...new Array(50).fill("filtered_feature_bc_matrix"),
      ...new Array(50).fill("donorB.h5ad"),
      ...new Array(60).fill("filtered_feature_bc_matrix.h5"),
    ]);
    // Only donorB has cell types; the others' cells have none.
    const typeAt = pbmc.obsColumns.indexOf("cell_type");
    expect(data.cells.cell_type).toEqual(pbmc.obs.map((r, i) => (i >= 50 && i < 100 ? r[typeAt] : null)));
    let acc = 0;
    const counts = new Array(160).fill(0);
    for (const t of samples.expected) counts[Number(t.split(":")[0])]++;
    expect(data.cells.cell_start_index).toEqual(counts.map((n) => ((acc += n), acc - n)));
    expect(summary.samples).toEqual([
      { sample: "donorA", path: samples.paths.donorA, format: "10x_mtx", nCells: 50, cellOffset: 0 },
      { sample: "donorB", path: samples.paths.donorB, format: "h5ad", nCells: 50, cellOffset: 50 },
      { sample: "donorC", path: samples.paths.donorC, format: "10x_h5", nCells: 60, cellOffset: 100 },
    ]);
    expect(summary.notes).toContain(
      `genes: the union of the inputs' genes (8,674, matched by name); 10 are missing from some inputs: donorB lacks 10 (${samples.missingInB.slice(0, 3).join(", ")}, …)`,
    );
    expect(summary.warnings).toContain("obsm/X_umap of donorB is left out: not every input has it");
    expect(data.config.multi_file).toEqual({
      source_files: [
        { file_path: samples.paths.donorA, file_name: "filtered_feature_bc_matrix", sample: "donorA", n_cells: 50, cell_offset: 0 },
        { file_path: samples.paths.donorB, file_name: "donorB.h5ad", sample: "donorB", n_cells: 50, cell_offset: 50 },
        { file_path: samples.paths.donorC, file_name: "filtered_feature_bc_matrix.h5", sample: "donorC", n_cells: 60, cell_offset: 100 },
      ],
      total_files: 3,
      total_cells_from_files: 160,
    });
    // Progress runs over the whole run, never backwards.
    expect(progress.at(-1)).toMatchObject({ done: 160, total: 160 });
    expect(progress.every((p, i) => i === 0 || p.done >= progress[i - 1].done)).toBe(true);
    expect(new Set(progress.map((p) => p.total))).toEqual(new Set([160]));
  });

  it("refuses different gene sets with strict, naming what is missing where, and leaves nothing behind", async () => {
    const out = path.join(dir, "strict.slaf");
    await expect(convertInputs(inputs(), out, { strict: true })).rejects.toMatchObject({
      appError: {
        code: "CONVERT_INPUT_INVALID",
        message: `The inputs do not have the same genes (matched by gene name): donorB lacks 10 (${samples.missingInB.slice(0, 3).join(", ")}, …). Without --strict their union is used`,
      },
    });
    expect((await fs.readdir(dir)).filter((n) => n.includes("strict.slaf"))).toEqual([]);
    // The same genes in another order pass strict.
    const ok = await convertInputs([{ path: samples.paths.donorA }, { path: samples.paths.donorC }], path.join(dir, "strict-ok.slaf"), { strict: true });
    expect(ok.nGenes).toBe(8674);
  });

  it("keeps cell ids unique: the same cells twice get their sample appended, names of the same folder get -2", async () => {
    const out = path.join(dir, "twice.slaf");
    const summary = await convertInputs([{ path: samples.paths.donorA }, { path: samples.paths.donorA }], out);
    const data = await readBack(out);
    const barcodes = loadPbmc().barcodes.slice(0, 50);
    expect(data.cells.cell_id).toEqual([...barcodes.map((b) => `${b}-donorA`), ...barcodes.map((b) => `${b}-donorA-2`)]);
    expect(data.cells.sample).toEqual([...new Array(50).fill("donorA"), ...new Array(50).fill("donorA-2")]);
    expect(summary.notes).toContain(`${samples.paths.donorA} is named "donorA-2" ("donorA" was taken)`);
    expect(summary.notes).toContain('cell ids: some occur in more than one input, so every id has its sample appended ("<id>-<sample>")');
  });

  it("names samples from paths, walking up past Cell Ranger's generic folders", () => {
    expect(sampleNameFromPath("/d/donor1/outs/filtered_feature_bc_matrix.h5")).toBe("donor1");
    expect(sampleNameFromPath("/d/donor2/outs/filtered_feature_bc_matrix")).toBe("donor2");
    expect(sampleNameFromPath("/d/donor3/filtered_gene_bc_matrices/GRCh38")).toBe("donor3");
    expect(sampleNameFromPath("/d/pbmc_a.h5ad")).toBe("pbmc_a");
    expect(sampleNameFromPath("/d/kidney.loom")).toBe("kidney");
    expect(sampleNameFromPath("/d/s1/matrix.mtx.gz")).toBe("s1");
  });

  it("CLI: INPUT... OUTPUT, --sample NAME=PATH and --samples SHEET (extra columns go to the cells)", async () => {
    const lines: string[] = [];
    const spy = vi.spyOn(console, "log").mockImplementation((...a: unknown[]) => void lines.push(a.join(" ")));
    const sheet = path.join(dir, "samples.tsv");
    await fs.writeFile(
      sheet,
      `sample\tpath\tdonor_age\n"first one"\t${path.relative(dir, samples.paths.donorC)}\t61\nsecond\t${path.relative(dir, samples.paths.donorA)}\t34\n`,
    );
    try {
      await convertCommand([samples.paths.donorA, samples.paths.donorB, samples.paths.donorC, path.join(dir, "cli.slaf")]);
      await convertCommand(["--sample", `x=${samples.paths.donorB}`, "--sample", `y=${samples.paths.donorA}`, path.join(dir, "cli-named.slaf")]);
      await convertCommand(["--samples", sheet, path.join(dir, "cli-sheet.slaf")]);
    } finally {
      spy.mockRestore();
    }
    expect(lines[0]).toMatch(/^Converted 160 cells × 8,674 genes \([\d,]+ values, uint16\) from 3 inputs to .*cli\.slaf in/);
    expect(lines[0]).toContain(`(${samples.expected.length.toLocaleString("en-US")} values`);
    expect(lines.slice(1, 4)).toEqual([
      `  sample donorA: 50 cells from ${samples.paths.donorA} (10x_mtx)`,
      `  sample donorB: 50 cells from ${samples.paths.donorB} (h5ad)`,
      `  sample donorC: 60 cells from ${samples.paths.donorC} (10x_h5)`,
    ]);
    const named = await readBack(path.join(dir, "cli-named.slaf"));
    expect(named.cells.sample).toEqual([...new Array(50).fill("x"), ...new Array(50).fill("y")]);
    const fromSheet = await readBack(path.join(dir, "cli-sheet.slaf"));
    expect(fromSheet.cells.sample).toEqual([...new Array(60).fill("first one"), ...new Array(50).fill("second")]);
    expect(fromSheet.cells.donor_age).toEqual([...new Array(60).fill("61"), ...new Array(50).fill("34")]);
    // Cells of donorC (PBMC 100–159) first, then donorA (0–49); gene numbering follows donorC's (reversed) order.
    expect(fromSheet.genes.gene_id).toEqual(loadPbmc().genes.slice().reverse());
    await expect(convertCommand(["--sample", "x", path.join(dir, "bad.slaf")])).rejects.toMatchObject({ appError: { code: "INVALID_ARGUMENT" } });
    await expect(
      convertCommand(["--sample", `x=${samples.paths.donorA}`, "--sample", `x=${samples.paths.donorB}`, path.join(dir, "bad.slaf")]),
    ).rejects.toMatchObject({
      appError: { code: "INVALID_ARGUMENT", message: expect.stringContaining('Two inputs are named "x"') },
    });
  });
});
