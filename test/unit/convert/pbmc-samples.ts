/**
 * Three samples split from the real PBMC 3k cells, in three formats, as an atlas arrives: donorA is a 10x MTX
 * folder (cells 0–49, every gene), donorB an .h5ad (cells 50–99, without 10 genes, with cell_type and a
 * UMAP), donorC a Cell Ranger .h5 (cells 100–159, its genes in reverse order). Used by the unit tests and the
 * end-to-end test of the Convert dialog.
 */
import fs from "node:fs/promises";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { loadPbmc } from "../../fixtures/pbmc";
import { writeCellRangerH5, writeTestH5ad } from "./h5-files";

export interface PbmcSamples {
  /** Input paths, in the order above. */
  paths: { donorA: string; donorB: string; donorC: string };
  /** Genes that donorB lacks (PBMC gene indexes 100–109). */
  missingInB: string[];
  ranges: { donorA: [number, number]; donorB: [number, number]; donorC: [number, number] };
  /** Every stored value the three inputs hold, as "cell:gene=value" over PBMC's cell and gene numbering. */
  expected: string[];
}

export async function writePbmcSamples(dir: string): Promise<PbmcSamples> {
  const pbmc = loadPbmc();
  const ranges = { donorA: [0, 50], donorB: [50, 100], donorC: [100, 160] } as PbmcSamples["ranges"];
  const dense = (c: number, genes: number[]) => {
    const row = new Array<number>(genes.length).fill(0);
    const at = new Map(genes.map((g, i) => [g, i]));
    pbmc.cells[c].genes.forEach((g, k) => at.has(g) && (row[at.get(g)!] = pbmc.cells[c].values[k]));
    return row;
  };
  const cellsOf = ([s, e]: [number, number]) => Array.from({ length: e - s }, (_, i) => s + i);

  const a = path.join(dir, "donorA", "filtered_feature_bc_matrix");
  await fs.mkdir(a, { recursive: true });
  const aLines: string[] = [];
  cellsOf(ranges.donorA).forEach((c, i) => pbmc.cells[c].genes.forEach((g, k) => aLines.push(`${g + 1} ${i + 1} ${pbmc.cells[c].values[k]}`)));
  await fs.writeFile(
    path.join(a, "matrix.mtx.gz"),
    gzipSync(`%%MatrixMarket matrix coordinate integer general\n${pbmc.nGenes} ${50} ${aLines.length}\n${aLines.join("\n")}\n`),
  );
  await fs.writeFile(path.join(a, "features.tsv.gz"), gzipSync(pbmc.genes.map((g) => `${g}\t${g}\tGene Expression`).join("\n") + "\n"));
  await fs.writeFile(
    path.join(a, "barcodes.tsv.gz"),
    gzipSync(
      cellsOf(ranges.donorA)
        .map((c) => pbmc.barcodes[c])
        .join("\n") + "\n",
    ),
  );

  const bGenes = pbmc.genes.map((_, g) => g).filter((g) => g < 100 || g >= 110);
  const b = path.join(dir, "donorB.h5ad");
  const typeAt = pbmc.obsColumns.indexOf("cell_type");
  const u = pbmc.obsColumns.indexOf("UMAP_1");
  await writeTestH5ad(b, {
    rows: cellsOf(ranges.donorB).map((c) => dense(c, bGenes)),
    obsNames: cellsOf(ranges.donorB).map((c) => pbmc.barcodes[c]),
    varNames: bGenes.map((g) => pbmc.genes[g]),
    obs: { cell_type: cellsOf(ranges.donorB).map((c) => String(pbmc.obs[c][typeAt])) },
    obsm: { X_umap: cellsOf(ranges.donorB).map((c) => [Number(pbmc.obs[c][u]), Number(pbmc.obs[c][u + 1])]) },
  });

  const cGenes = pbmc.genes.map((_, g) => pbmc.nGenes - 1 - g);
  const cDir = path.join(dir, "donorC", "outs");
  await fs.mkdir(cDir, { recursive: true });
  const c = path.join(cDir, "filtered_feature_bc_matrix.h5");
  await writeCellRangerH5(
    c,
    cellsOf(ranges.donorC).map((cell) => dense(cell, cGenes)),
    cellsOf(ranges.donorC).map((cell) => pbmc.barcodes[cell]),
    cGenes.map((g) => ({ id: pbmc.genes[g], name: pbmc.genes[g] })),
  );

  const expected: string[] = [];
  pbmc.cells.forEach((cell, i) =>
    cell.genes.forEach((g, k) => {
      if (i >= 50 && i < 100 && g >= 100 && g < 110) return;
      expected.push(`${i}:${g}=${cell.values[k]}`);
    }),
  );
  return { paths: { donorA: a, donorB: b, donorC: c }, missingInB: pbmc.genes.slice(100, 110), ranges, expected };
}
