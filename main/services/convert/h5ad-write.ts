/**
 * Writes a source as an AnnData .h5ad (anndata ≥ 0.8 layout, CSR X, uncompressed, chunked datasets grown
 * chunk by chunk): how `synth` makes large inputs for the conversion benchmark.
 */
import { closeHdf5, h5wasm, type H5Group } from "./hdf5";
import type { ColumnValues, Embedding, Frame, RowsOptions, Source } from "./source";

const CHUNK = 1 << 20;

function setAttrs(entity: H5Group | { create_attribute: H5Group["create_attribute"] }, attrs: Record<string, string | string[] | BigInt64Array>): void {
  for (const [k, v] of Object.entries(attrs)) entity.create_attribute(k, v as never);
}

function writeColumn(g: H5Group, name: string, v: ColumnValues): void {
  if (v.type === "string") {
    const ds = g.create_dataset({ name, data: v.values.map((s) => s ?? "") });
    setAttrs(ds, { "encoding-type": "string-array", "encoding-version": "0.2.0" });
    return;
  }
  const data = v.type === "bool" ? Uint8Array.from(v.values, (b) => (b ? 1 : 0)) : v.values;
  const ds = g.create_dataset({ name, data });
  setAttrs(ds, { "encoding-type": "array", "encoding-version": "0.2.0" });
}

function writeFrame(f: H5Group, name: string, frame: Frame): void {
  const g = f.create_group(name);
  const cols = frame.columns.map((c) => c.name);
  setAttrs(g, { _index: "_index", "encoding-type": "dataframe", "encoding-version": "0.2.0" });
  if (cols.length) setAttrs(g, { "column-order": cols });
  writeColumn(g, "_index", { type: "string", values: frame.readIndex() });
  for (const c of frame.columns) writeColumn(g, c.name, c.read(0, frame.length));
}

function writeEmbeddings(f: H5Group, name: string, list: Embedding[], rows: number): void {
  const g = f.create_group(name);
  setAttrs(g, { "encoding-type": "dict", "encoding-version": "0.1.0" });
  for (const e of list) g.create_dataset({ name: e.name, data: e.read(0, rows), shape: [rows, e.dim] });
}

export async function writeH5ad(source: Source, file: string, opts: RowsOptions & { onCells?: (done: number) => void }): Promise<{ nnz: number }> {
  await h5wasm.ready;
  const f = new h5wasm.File(file, "w");
  try {
    setAttrs(f, { "encoding-type": "anndata", "encoding-version": "0.1.0" });
    const X = f.create_group("X");
    setAttrs(X, { "encoding-type": "csr_matrix", "encoding-version": "0.1.0", shape: BigInt64Array.from([BigInt(source.nCells), BigInt(source.nGenes)]) });
    const grow = (name: string, dtype: string, empty: ArrayBufferView) =>
      X.create_dataset({ name, data: empty as never, shape: [0], maxshape: [null], chunks: [CHUNK], dtype });
    const data = grow("data", "<f", new Float32Array(0));
    const indices = grow("indices", "<i", new Int32Array(0));
    const indptr = new BigInt64Array(source.nCells + 1);
    let nnz = 0;
    for await (const chunk of source.rows("X", opts)) {
      const n = chunk.indptr[chunk.indptr.length - 1];
      for (let r = 0; r < chunk.end - chunk.start; r++) indptr[chunk.start + r + 1] = BigInt(nnz + chunk.indptr[r + 1]);
      if (n > 0) {
        data.resize([nnz + n]);
        indices.resize([nnz + n]);
        const v = chunk.values instanceof Float32Array ? chunk.values : Float32Array.from(chunk.values);
        const g = chunk.genes instanceof Int32Array ? chunk.genes : Int32Array.from(chunk.genes);
        data.write_slice([[nnz, nnz + n]], v);
        indices.write_slice([[nnz, nnz + n]], g);
      }
      nnz += n;
      opts.onCells?.(chunk.end);
    }
    X.create_dataset({ name: "indptr", data: indptr });
    writeFrame(f, "obs", source.obs);
    writeFrame(f, "var", source.var);
    writeEmbeddings(f, "obsm", source.obsm, source.nCells);
    writeEmbeddings(f, "varm", source.varm, source.nGenes);
    for (const name of ["layers", "obsp", "varp", "uns"]) setAttrs(f.create_group(name), { "encoding-type": "dict", "encoding-version": "0.1.0" });
    return { nnz };
  } finally {
    closeHdf5(f);
  }
}
