/**
 * A CELLxGENE-style .h5ad built from the real PBMC 3k counts with h5wasm: X = log1p(normalize_total(counts,
 * 1e4)) as float32 CSR over the genes seen in at least 3 cells; raw/X = the integer counts stored as float32
 * over all 8,674 genes, with its own raw/var (more genes than var); obs with UTF-8 cell-type names, a
 * nullable-integer column with 19 masked values, a nullable-boolean and a nullable-string column; a UMAP.
 */
import h5wasm from "h5wasm/node";
import { loadPbmc } from "../../fixtures/pbmc";

type Group = InstanceType<typeof h5wasm.Group>;

const UTF8_TYPES: Record<string, string> = {
  "Naive CD4 T": "CD4⁺ T naïve",
  "Memory CD4 T": "CD4⁺ T memory",
  "CD14+ Mono": "Mono – classical",
  "FCGR3A+ Mono": "Mono – non-classical",
  "CD8 T": "CD8⁺ T",
};

export interface CellxgeneData {
  /** Per cell: (gene in raw/var order, count). */
  counts: { genes: number[]; values: number[] }[];
  /** Per cell: (gene in var order, float32 normalized value). */
  X: { genes: number[]; values: number[] }[];
  rawGenes: string[];
  /** var's genes (a subset of raw/var's, same order). */
  genes: string[];
  /** var row → raw/var row. */
  geneInRaw: number[];
  /** var's n_cells column: cells that express each gene of var. */
  nCells: number[];
  cellTypes: string[];
  nGenes: number[];
  nGenesMasked: boolean[];
  doublet: (boolean | null)[];
  note: (string | null)[];
}

function attrs(e: { create_attribute(name: string, data: never): void }, a: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(a)) e.create_attribute(k, v as never);
}

function writeCsr(parent: Group, name: string, rows: { genes: number[]; values: number[] }[], nGenes: number): void {
  const g = parent.create_group(name);
  attrs(g, { "encoding-type": "csr_matrix", "encoding-version": "0.1.0", shape: BigInt64Array.from([BigInt(rows.length), BigInt(nGenes)]) });
  const indptr = [0n];
  for (const r of rows) indptr.push(indptr[indptr.length - 1] + BigInt(r.genes.length));
  g.create_dataset({ name: "data", data: Float32Array.from(rows.flatMap((r) => r.values)) });
  g.create_dataset({ name: "indices", data: Int32Array.from(rows.flatMap((r) => r.genes)) });
  g.create_dataset({ name: "indptr", data: BigInt64Array.from(indptr) });
}

function categorical(g: Group, name: string, values: string[]): void {
  const cats = [...new Set(values)].sort();
  const cg = g.create_group(name);
  attrs(cg, { "encoding-type": "categorical", "encoding-version": "0.2.0", ordered: 0 });
  cg.create_dataset({ name: "categories", data: cats });
  const at = new Map(cats.map((c, i) => [c, i]));
  const codes = values.map((s) => at.get(s)!);
  cg.create_dataset({ name: "codes", data: cats.length > 127 ? Int16Array.from(codes) : Int8Array.from(codes) });
}

function nullable(g: Group, name: string, encoding: string, values: BigInt64Array | Uint8Array | string[], mask: boolean[]): void {
  const ng = g.create_group(name);
  attrs(ng, { "encoding-type": encoding, "encoding-version": "0.1.0" });
  ng.create_dataset({ name: "values", data: values as never });
  ng.create_dataset({ name: "mask", data: Uint8Array.from(mask, Number) });
}

function frame(f: Group, name: string, index: string[], write: (g: Group) => string[]): void {
  const g = f.create_group(name);
  g.create_dataset({ name: "_index", data: index });
  const cols = write(g);
  attrs(g, { _index: "_index", "encoding-type": "dataframe", "encoding-version": "0.2.0" });
  if (cols.length) attrs(g, { "column-order": cols });
}

export function cellxgeneData(): CellxgeneData {
  const pbmc = loadPbmc();
  const cellsPerGene = new Array<number>(pbmc.nGenes).fill(0);
  for (const c of pbmc.cells) for (const g of c.genes) cellsPerGene[g]++;
  const geneInRaw = cellsPerGene.flatMap((n, g) => (n >= 3 ? [g] : []));
  const rawToVar = new Map(geneInRaw.map((g, i) => [g, i]));
  const X = pbmc.cells.map((c) => {
    const total = c.values.reduce((a, b) => a + b, 0);
    const genes: number[] = [];
    const values: number[] = [];
    c.genes.forEach((g, k) => {
      const at = rawToVar.get(g);
      if (at === undefined) return;
      genes.push(at);
      values.push(Math.fround(Math.log1p((c.values[k] / total) * 1e4)));
    });
    return { genes, values };
  });
  const typeCol = pbmc.obsColumns.indexOf("cell_type");
  return {
    counts: pbmc.cells,
    X,
    rawGenes: pbmc.genes,
    genes: geneInRaw.map((g) => pbmc.genes[g]),
    geneInRaw,
    nCells: geneInRaw.map((g) => cellsPerGene[g]),
    cellTypes: pbmc.obs.map((r) => UTF8_TYPES[r[typeCol] as string] ?? (r[typeCol] as string)),
    nGenes: pbmc.cells.map((c) => c.genes.length),
    nGenesMasked: pbmc.cells.map((_, i) => i % 8 === 3 && i < 8 * 19),
    doublet: pbmc.cells.map((_, i) => (i % 23 === 5 ? null : i % 4 === 0)),
    note: pbmc.cells.map((_, i) => (i % 10 === 0 ? `zelle ${i} – geprüft` : null)),
  };
}

export async function writeCellxgeneH5ad(file: string): Promise<CellxgeneData> {
  const d = cellxgeneData();
  const pbmc = loadPbmc();
  await h5wasm.ready;
  const f = new h5wasm.File(file, "w");
  try {
    attrs(f, { "encoding-type": "anndata", "encoding-version": "0.1.0" });
    writeCsr(f, "X", d.X, d.genes.length);
    frame(f, "obs", pbmc.barcodes, (g) => {
      categorical(g, "cell_type", d.cellTypes);
      // Masked rows hold real numbers, as pandas leaves them: only the mask says they are missing.
      nullable(g, "n_genes", "nullable-integer", BigInt64Array.from(d.nGenes, BigInt), d.nGenesMasked);
      nullable(
        g,
        "is_doublet",
        "nullable-boolean",
        Uint8Array.from(d.doublet, (b) => (b ? 1 : 0)),
        d.doublet.map((b) => b === null),
      );
      nullable(
        g,
        "note",
        "nullable-string-array",
        d.note.map((s) => s ?? ""),
        d.note.map((s) => s === null),
      );
      return ["cell_type", "n_genes", "is_doublet", "note"];
    });
    frame(f, "var", d.genes, (g) => {
      categorical(g, "feature_name", d.genes);
      g.create_dataset({ name: "n_cells", data: Int32Array.from(d.nCells) });
      return ["feature_name", "n_cells"];
    });
    const raw = f.create_group("raw");
    writeCsr(raw, "X", d.counts, d.rawGenes.length);
    frame(raw, "var", d.rawGenes, (g) => {
      categorical(g, "feature_name", d.rawGenes);
      return ["feature_name"];
    });
    const u1 = pbmc.obsColumns.indexOf("UMAP_1");
    const obsm = f.create_group("obsm");
    obsm.create_dataset({ name: "X_umap", data: Float64Array.from(pbmc.obs.flatMap((r) => [r[u1] as number, r[u1 + 1] as number])), shape: [pbmc.nCells, 2] });
    for (const name of ["layers", "varm", "obsp", "varp", "uns"]) attrs(f.create_group(name), { "encoding-type": "dict", "encoding-version": "0.1.0" });
  } finally {
    f.close();
  }
  return d;
}
