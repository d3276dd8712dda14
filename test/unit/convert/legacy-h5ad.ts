/**
 * AnnData < 0.7 files (the 2017–2019 layout) built from the real PBMC 3k data with h5wasm: obs / var / raw.var
 * as compound datasets whose first member is the index, categorical codes in obs with their labels in
 * `uns/<column>_categories`, X (and raw.X at the root) as groups with `h5sparse_format` / `h5sparse_shape`, and
 * obsm as one compound dataset of (n, 2) float32 sub-arrays. h5wasm writes compound members but not array
 * members, so each sub-array is written as a float64 placeholder holding the two float32 values' bytes and the
 * member's (version 1) datatype description is then patched into a 2-element float32 array, as h5py writes it.
 */
import fs from "node:fs";
import h5wasm from "h5wasm/node";
import { loadPbmc } from "../../fixtures/pbmc";

type Group = InstanceType<typeof h5wasm.Group>;
type Column = { name: string; dtype: string; data: ArrayLike<unknown> };

export interface LegacySpec {
  /** Name of obs's first (index) member; anndata 0.6 used the index name, "index" when it had none. */
  obsIndex?: string;
  varIndex?: string;
  /** The categorical obs column holding cell types, its code dtype ("<b" int8, "<h" int16) and its categories. */
  typeColumn?: string;
  codeDtype?: "<b" | "<h";
  /** Overrides the categories written to uns (e.g. a list shorter than the codes). */
  categories?: string[];
  /** Cells whose code is -1 (no category). */
  unknownCells?: number[];
  /** X holds log1p(normalized) values over genes seen in ≥ 3 cells, the counts go to raw.X / raw.var at the root. */
  rawAtRoot?: boolean;
  /** obsm as a compound of X_umap (n, 2) and X_tsne (n, 2) sub-arrays plus a 1-D member. */
  obsm?: boolean;
}

export interface LegacyData {
  barcodes: string[];
  cellTypes: string[];
  /** Genes of X (all PBMC genes, or the filtered ones with rawAtRoot). */
  genes: string[];
  rawGenes: string[];
  /** Per cell (gene in var order, value in X). */
  X: { genes: number[]; values: number[] }[];
  nCounts: number[];
  umap: [number, number][];
  tsne: [number, number][];
  score: number[];
}

const attr = (e: { create_attribute(name: string, data: never): void }, name: string, value: unknown) => e.create_attribute(name, value as never);
const width = (xs: string[]) => `S${Math.max(1, ...xs.map((s) => Buffer.byteLength(s)))}`;

function compound(parent: Group, name: string, columns: Column[]): void {
  parent.create_dataset({
    name,
    data: new Map(columns.map((c) => [c.name, c.data])) as never,
    dtype: columns.map((c) => [c.name, c.dtype]) as never,
  });
}

function h5sparse(parent: Group, name: string, rows: { genes: number[]; values: number[] }[], nGenes: number, float: boolean): void {
  const g = parent.create_group(name);
  attr(g, "h5sparse_format", "csr");
  attr(g, "h5sparse_shape", BigInt64Array.from([BigInt(rows.length), BigInt(nGenes)]));
  const indptr = [0];
  for (const r of rows) indptr.push(indptr[indptr.length - 1] + r.genes.length);
  const values = rows.flatMap((r) => r.values);
  g.create_dataset({ name: "data", data: float ? Float32Array.from(values) : Int32Array.from(values) });
  g.create_dataset({ name: "indices", data: Int32Array.from(rows.flatMap((r) => r.genes)) });
  g.create_dataset({ name: "indptr", data: Int32Array.from(indptr) });
}

/** Two float32 values per row, reinterpreted as one float64 (finite float32 pairs never form a float64 NaN). */
function pairsAsFloat64(pairs: [number, number][]): Float64Array {
  return new Float64Array(Float32Array.from(pairs.flat()).buffer);
}

/**
 * Turns each named float64 member of a version-1 compound datatype into a float32[2] array member: sets the
 * member's dimensionality and first dimension, and rewrites its float64 description as float32 (same length).
 */
function patchPairMembers(file: string, names: string[]): void {
  const buf = fs.readFileSync(file);
  for (const name of names) {
    const at = buf.indexOf(Buffer.from(`${name}\0`));
    if (at < 0) throw new Error(`member ${name} not found in ${file}`);
    const nameEnd = at + Math.ceil((name.length + 1) / 8) * 8;
    buf[nameEnd + 4] = 1;
    buf.writeUInt32LE(2, nameEnd + 16);
    const t = nameEnd + 32;
    if (buf[t] !== 0x11 || buf.readUInt32LE(t + 4) !== 8) throw new Error(`member ${name} is not a float64 in a version 1 compound`);
    buf[t + 2] = 31;
    buf.writeUInt32LE(4, t + 4);
    buf.writeUInt16LE(0, t + 8);
    buf.writeUInt16LE(32, t + 10);
    buf.set([23, 8, 0, 23], t + 12);
    buf.writeUInt32LE(127, t + 16);
  }
  fs.writeFileSync(file, buf);
}

export async function writeLegacyH5ad(file: string, spec: LegacySpec = {}): Promise<LegacyData> {
  const pbmc = loadPbmc();
  const typeAt = pbmc.obsColumns.indexOf("cell_type");
  const countAt = pbmc.obsColumns.indexOf("nCount_RNA");
  const u1 = pbmc.obsColumns.indexOf("UMAP_1");
  const cellTypes = pbmc.obs.map((r) => String(r[typeAt]));
  const categories = [...new Set(cellTypes)].sort();
  const nCounts = pbmc.obs.map((r) => Number(r[countAt]));
  let genes = pbmc.genes;
  let X = pbmc.cells;
  if (spec.rawAtRoot) {
    const seen = new Uint32Array(pbmc.nGenes);
    for (const c of pbmc.cells) for (const g of c.genes) seen[g]++;
    const kept = pbmc.genes.map((_, g) => g).filter((g) => seen[g] >= 3);
    const pos = new Map(kept.map((g, i) => [g, i]));
    genes = kept.map((g) => pbmc.genes[g]);
    X = pbmc.cells.map((c) => {
      const total = c.values.reduce((a, b) => a + b, 0);
      const out = { genes: [] as number[], values: [] as number[] };
      c.genes.forEach((g, k) => {
        if (!pos.has(g)) return;
        out.genes.push(pos.get(g)!);
        out.values.push(Math.fround(Math.log1p((c.values[k] / total) * 1e4)));
      });
      return out;
    });
  }
  const umap = pbmc.obs.map((r) => [Math.fround(Number(r[u1])), Math.fround(Number(r[u1 + 1]))] as [number, number]);
  const tsne = umap.map(([a, b]) => [Math.fround(-b), Math.fround(a * 2)] as [number, number]);
  const score = nCounts.map((n) => n / 1000);

  await h5wasm.ready;
  const f = new h5wasm.File(file, "w", { libver: ["earliest", "v108"] });
  try {
    h5sparse(f, "X", X, genes.length, true);
    const codes = cellTypes.map((t, i) => (spec.unknownCells?.includes(i) ? -1 : categories.indexOf(t)));
    const typeColumn = spec.typeColumn ?? "cell_type";
    const codeDtype = spec.codeDtype ?? "<b";
    compound(f, "obs", [
      { name: spec.obsIndex ?? "index", dtype: width(pbmc.barcodes), data: pbmc.barcodes },
      { name: typeColumn, dtype: codeDtype, data: codeDtype === "<h" ? Int16Array.from(codes) : Int8Array.from(codes) },
      { name: "n_counts", dtype: "<f", data: Float32Array.from(nCounts) },
    ]);
    compound(f, "var", [
      { name: spec.varIndex ?? "index", dtype: width(genes), data: genes },
      { name: "gene_ids", dtype: width(genes), data: genes },
    ]);
    const uns = f.create_group("uns");
    const cats = spec.categories ?? categories;
    uns.create_dataset({ name: `${typeColumn}_categories`, data: cats, dtype: width(cats) });
    if (spec.rawAtRoot) {
      h5sparse(f, "raw.X", pbmc.cells, pbmc.nGenes, true);
      compound(f, "raw.var", [{ name: spec.varIndex ?? "index", dtype: width(pbmc.genes), data: pbmc.genes }]);
    }
    if (spec.obsm) {
      compound(f, "obsm", [
        { name: "X_umap", dtype: "<d", data: pairsAsFloat64(umap) },
        { name: "X_tsne", dtype: "<d", data: pairsAsFloat64(tsne) },
        { name: "score", dtype: "<d", data: Float64Array.from(score) },
      ]);
    }
  } finally {
    f.close();
  }
  if (spec.obsm) patchPairMembers(file, ["X_umap", "X_tsne"]);
  return { barcodes: pbmc.barcodes, cellTypes, genes, rawGenes: pbmc.genes, X, nCounts, umap, tsne, score };
}
