/** Small HDF5 inputs written by the tests themselves with h5wasm: AnnData variants and Cell Ranger files. */
import h5wasm from "h5wasm/node";

type Group = InstanceType<typeof h5wasm.Group>;

export interface Matrix {
  /** Dense cells × genes values; zeros are not stored in the sparse layouts. */
  rows: number[][];
}

function attrs(e: { create_attribute(name: string, data: never): void }, a: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(a)) e.create_attribute(k, v as never);
}

function csr(rows: number[][]) {
  const data: number[] = [];
  const indices: number[] = [];
  const indptr = [0];
  for (const r of rows) {
    r.forEach((v, g) => {
      if (v !== 0) {
        data.push(v);
        indices.push(g);
      }
    });
    indptr.push(data.length);
  }
  return { data, indices, indptr };
}

function transpose(rows: number[][]): number[][] {
  return rows[0].map((_, g) => rows.map((r) => r[g]));
}

function writeMatrix(parent: Group, name: string, rows: number[][], layout: "csr" | "csc" | "dense", dtype: "f" | "i"): void {
  const Arr = dtype === "f" ? Float32Array : Int32Array;
  if (layout === "dense") {
    parent.create_dataset({ name, data: Arr.from(rows.flat()), shape: [rows.length, rows[0].length] });
    return;
  }
  const g = parent.create_group(name);
  const m = csr(layout === "csr" ? rows : transpose(rows));
  attrs(g, { "encoding-type": `${layout}_matrix`, "encoding-version": "0.1.0", shape: BigInt64Array.from([BigInt(rows.length), BigInt(rows[0].length)]) });
  g.create_dataset({ name: "data", data: Arr.from(m.data) });
  g.create_dataset({ name: "indices", data: Int32Array.from(m.indices) });
  g.create_dataset({ name: "indptr", data: BigInt64Array.from(m.indptr.map(BigInt)) });
}

function writeFrame(f: Group, name: string, index: string[], columns: Record<string, string[] | number[]>): void {
  const g = f.create_group(name);
  attrs(g, { _index: "_index", "encoding-type": "dataframe", "encoding-version": "0.2.0" });
  if (Object.keys(columns).length) attrs(g, { "column-order": Object.keys(columns) });
  g.create_dataset({ name: "_index", data: index });
  for (const [k, v] of Object.entries(columns)) {
    if (typeof v[0] === "string") {
      // categorical, as anndata writes string columns
      const cats = [...new Set(v as string[])].sort();
      const cg = g.create_group(k);
      attrs(cg, { "encoding-type": "categorical", "encoding-version": "0.2.0", ordered: 0 });
      cg.create_dataset({ name: "categories", data: cats });
      cg.create_dataset({ name: "codes", data: Int8Array.from((v as string[]).map((s) => cats.indexOf(s))) });
    } else g.create_dataset({ name: k, data: Float64Array.from(v as number[]) });
  }
}

export interface H5adSpec {
  rows: number[][];
  layout?: "csr" | "csc" | "dense";
  dtype?: "f" | "i";
  obsNames?: string[];
  varNames?: string[];
  obs?: Record<string, string[] | number[]>;
  obsm?: Record<string, number[][]>;
  varm?: Record<string, number[][]>;
  layers?: Record<string, number[][]>;
  omitX?: boolean;
}

export async function writeTestH5ad(file: string, spec: H5adSpec): Promise<void> {
  await h5wasm.ready;
  const f = new h5wasm.File(file, "w");
  try {
    attrs(f, { "encoding-type": "anndata", "encoding-version": "0.1.0" });
    const nCells = spec.rows.length;
    const nGenes = spec.rows[0]?.length ?? 0;
    if (!spec.omitX) writeMatrix(f, "X", spec.rows, spec.layout ?? "csr", spec.dtype ?? "f");
    writeFrame(f, "obs", spec.obsNames ?? Array.from({ length: nCells }, (_, i) => `cell${i}`), spec.obs ?? {});
    writeFrame(f, "var", spec.varNames ?? Array.from({ length: nGenes }, (_, i) => `gene${i}`), {});
    const obsm = f.create_group("obsm");
    for (const [k, v] of Object.entries(spec.obsm ?? {})) obsm.create_dataset({ name: k, data: Float64Array.from(v.flat()), shape: [v.length, v[0].length] });
    const varm = f.create_group("varm");
    for (const [k, v] of Object.entries(spec.varm ?? {})) varm.create_dataset({ name: k, data: Float64Array.from(v.flat()), shape: [v.length, v[0].length] });
    const layers = f.create_group("layers");
    for (const [k, v] of Object.entries(spec.layers ?? {})) writeMatrix(layers, k, v, "csr", "f");
  } finally {
    f.close();
  }
}

/** A Cell Ranger v3 filtered_feature_bc_matrix.h5: /matrix CSC over barcodes, fixed-length byte strings. */
export async function writeCellRangerH5(file: string, rows: number[][], barcodes: string[], features: { id: string; name: string }[]): Promise<void> {
  await h5wasm.ready;
  const f = new h5wasm.File(file, "w");
  try {
    const m = f.create_group("matrix");
    const c = csr(rows);
    const width = (xs: string[]) => `S${Math.max(1, ...xs.map((s) => s.length))}`;
    m.create_dataset({ name: "barcodes", data: barcodes, dtype: width(barcodes) });
    m.create_dataset({ name: "data", data: Int32Array.from(c.data) });
    m.create_dataset({ name: "indices", data: BigInt64Array.from(c.indices.map(BigInt)) });
    m.create_dataset({ name: "indptr", data: BigInt64Array.from(c.indptr.map(BigInt)) });
    m.create_dataset({ name: "shape", data: Int32Array.from([features.length, rows.length]) });
    const fg = m.create_group("features");
    const ids = features.map((x) => x.id);
    const names = features.map((x) => x.name);
    const types = features.map(() => "Gene Expression");
    const genome = features.map(() => "GRCh38");
    fg.create_dataset({ name: "id", data: ids, dtype: width(ids) });
    fg.create_dataset({ name: "name", data: names, dtype: width(names) });
    fg.create_dataset({ name: "feature_type", data: types, dtype: width(types) });
    fg.create_dataset({ name: "genome", data: genome, dtype: width(genome) });
    fg.create_dataset({ name: "_all_tag_keys", data: ["genome"], dtype: "S6" });
  } finally {
    f.close();
  }
}

/** Cell Ranger 2 layout: one group per genome with genes / gene_names instead of /matrix/features. */
export async function writeCellRangerV2H5(file: string, rows: number[][], barcodes: string[], genes: { id: string; name: string }[]): Promise<void> {
  await h5wasm.ready;
  const f = new h5wasm.File(file, "w");
  try {
    const m = f.create_group("hg19");
    const c = csr(rows);
    m.create_dataset({ name: "barcodes", data: barcodes, dtype: "S16" });
    m.create_dataset({ name: "data", data: Int32Array.from(c.data) });
    m.create_dataset({ name: "indices", data: BigInt64Array.from(c.indices.map(BigInt)) });
    m.create_dataset({ name: "indptr", data: BigInt64Array.from(c.indptr.map(BigInt)) });
    m.create_dataset({ name: "shape", data: Int32Array.from([genes.length, rows.length]) });
    m.create_dataset({ name: "genes", data: genes.map((g) => g.id), dtype: "S16" });
    m.create_dataset({ name: "gene_names", data: genes.map((g) => g.name), dtype: "S16" });
  } finally {
    f.close();
  }
}
