/**
 * Loom files (loompy 2 / 3, velocyto, SCope) as a conversion source: HDF5 with `/matrix` genes × cells (dense,
 * usually chunked), `/layers/<name>` of the same shape, `/row_attrs` (genes) and `/col_attrs` (cells) holding one
 * dataset per attribute (1-D: a column; 2-D: an embedding), `/col_graphs` / `/row_graphs` as COO (a, b, w), and
 * global attributes in `/attrs` (loom 3) or on the root (loom 2). Cells are named by col_attrs/CellID and genes
 * by row_attrs/Gene, as scanpy's `read_loom` does.
 */
import { fail } from "../errors";
import { CellBuckets } from "./cell-buckets";
import { datasetValues } from "./h5ad-frame";
import { matrixInfo, matrixRows, type H5Matrix } from "./h5-matrix";
import { closeHdf5, getEntity, isDataset, isGroup, openHdf5, quietHdf5, readSlice, readStrings, type H5Dataset, type H5File, type H5Group } from "./hdf5";
import type { ConvertMatrix } from "../../../shared/ipc/types/convert";
import type { Embedding, Frame, FrameColumn, PairwiseBlock, RowChunk, RowsOptions, Source } from "./source";
import { groupJson, valueJson } from "./uns";

const CELL_INDEX = ["CellID", "cell_id", "obs_names", "CellIDs", "cell_names", "Barcode", "barcode", "barcodes"];
const GENE_INDEX = ["Gene", "gene", "var_names", "Genes", "gene_names", "gene_symbols", "Accession", "gene_ids"];

interface Attrs {
  index: string[];
  indexName: string | null;
  columns: FrameColumn[];
  embeddings: Embedding[];
}

/** One axis's attributes: the index column (first of `indexNames` present), other 1-D columns, 2-D embeddings. */
function readAttrs(f: H5File, group: "row_attrs" | "col_attrs", length: number, indexNames: string[], file: string, warnings: string[]): Attrs {
  const g = getEntity(f, group);
  const datasets: [string, H5Dataset][] = [];
  if (isGroup(g)) {
    for (const key of g.keys()) {
      const ds = getEntity(g, key);
      if (!isDataset(ds)) {
        warnings.push(`${group}/${key} is not a dataset; skipped`);
        continue;
      }
      const shape = ds.shape ?? [];
      if (shape[0] !== length) {
        fail(
          "CONVERT_INPUT_INVALID",
          `${file}: ${group}/${key} has ${shape[0] ?? 0} rows but /matrix has ${length} ${group === "row_attrs" ? "genes (rows)" : "cells (columns)"}`,
          { path: file },
        );
      }
      datasets.push([key, ds]);
    }
  }
  const indexEntry = indexNames.map((n) => datasets.find(([k, ds]) => k === n && ds.shape?.length === 1)).find(Boolean);
  const what = group === "row_attrs" ? "gene" : "cell";
  let index: string[];
  if (indexEntry) index = readStrings(indexEntry[1], file);
  else {
    warnings.push(`${group} has none of ${indexNames.join(", ")}; ${what}s are named by their position`);
    index = Array.from({ length }, (_, i) => String(i));
  }
  const columns: FrameColumn[] = [];
  const embeddings: Embedding[] = [];
  for (const [key, ds] of datasets) {
    if (ds === indexEntry?.[1]) continue;
    const shape = ds.shape ?? [];
    const type = quietHdf5(() => ds.metadata.type);
    if (shape.length === 1) columns.push({ name: key, read: (s, e) => datasetValues(ds, file, s, e) });
    else if (shape.length === 2 && type <= 1) {
      const dim = shape[1];
      embeddings.push({
        name: key,
        dim,
        read: (s, e) => {
          const raw = readSlice(
            ds,
            [
              [s, e],
              [0, dim],
            ],
            file,
          );
          return raw instanceof Float32Array ? raw : Float32Array.from(raw as ArrayLike<number>, Number);
        },
      });
    } else warnings.push(`${group}/${key} is neither a column nor a numeric 2-D array; skipped`);
  }
  return { index, indexName: indexEntry?.[0] ?? null, columns, embeddings };
}

function denseMatrix(entity: unknown, where: string, nGenes: number, nCells: number, file: string): H5Matrix {
  if (!isDataset(entity)) fail("CONVERT_INPUT_INVALID", `${file}: ${where} is not a dataset`, { path: file });
  const shape = entity.shape ?? [];
  if (shape.length !== 2 || shape[0] !== nGenes || shape[1] !== nCells) {
    fail("CONVERT_INPUT_INVALID", `${file}: ${where} is ${shape.join(" × ")} but /matrix is ${nGenes} × ${nCells} (genes × cells)`, { path: file });
  }
  if (quietHdf5(() => entity.metadata.type) > 1) fail("CONVERT_INPUT_INVALID", `${file}: ${where} does not hold numbers`, { path: file });
  return { kind: "dense-by-gene", nCells, nGenes, data: entity };
}

/** A loom graph (COO a → b with weights w) as row chunks, regrouped by row through the bucket spill. */
function graphRows(g: H5Group, where: string, n: number, file: string): (opts: RowsOptions) => AsyncIterable<RowChunk> {
  const part = (k: string) => {
    const ds = getEntity(g, k);
    if (!isDataset(ds)) fail("CONVERT_INPUT_INVALID", `${file}: ${where} has no ${k} (a loom graph holds a, b and w)`, { path: file });
    return ds;
  };
  const [a, b, w] = ["a", "b", "w"].map(part);
  const edges = a.shape?.[0] ?? 0;
  if (b.shape?.[0] !== edges || w.shape?.[0] !== edges) fail("CONVERT_INPUT_INVALID", `${file}: ${where}/a, b and w differ in length`, { path: file });
  return async function* (opts) {
    const buckets = new CellBuckets(n, opts.chunkCells, opts.scratchDir);
    try {
      const block = 1 << 22;
      for (let s = 0; s < edges; s += block) {
        const e = Math.min(edges, s + block);
        const [ra, rb, rw] = [a, b, w].map((ds) => readSlice(ds, [[s, e]], file) as ArrayLike<number | bigint>);
        for (let i = 0; i < e - s; i++) {
          const r = Number(ra[i]);
          const c = Number(rb[i]);
          if (!(r >= 0 && r < n && c >= 0 && c < n))
            fail("CONVERT_INPUT_INVALID", `${file}: ${where} has an edge ${r} → ${c} outside 0..${n - 1}`, { path: file });
          buckets.add(r, c, Number(rw[i]));
        }
      }
      yield* buckets.chunks();
    } finally {
      buckets.close();
    }
  };
}

function graphs(f: H5File, group: "col_graphs" | "row_graphs", n: number, file: string, warnings: string[]): PairwiseBlock[] | undefined {
  const g = getEntity(f, group);
  if (!isGroup(g)) return undefined;
  const matrices: PairwiseBlock["matrices"] = [];
  for (const key of g.keys()) {
    const e = getEntity(g, key);
    if (!isGroup(e)) {
      warnings.push(`${group}/${key} is not a graph group; skipped`);
      continue;
    }
    matrices.push({ name: key, rows: graphRows(e, `${group}/${key}`, n, file) });
  }
  return matrices.length ? [{ size: n, offset: 0, matrices }] : undefined;
}

/** Global attributes: the /attrs group (loom 3) or the root's HDF5 attributes (loom 2). */
function globalAttrs(f: H5File, warnings: string[]): Record<string, unknown> | null {
  const g = getEntity(f, "attrs");
  if (isGroup(g)) {
    const json = groupJson(g, "", warnings, new Set());
    return json && typeof json === "object" && !Array.isArray(json) && Object.keys(json).length ? (json as Record<string, unknown>) : null;
  }
  const out: Record<string, unknown> = {};
  for (const [k, a] of Object.entries(quietHdf5(() => f.attrs))) out[k] = valueJson(quietHdf5(() => a.value));
  return Object.keys(out).length ? out : null;
}

export async function openLoom(file: string): Promise<Source> {
  const f = await openHdf5(file, "a loom file");
  try {
    const matrixEntity = getEntity(f, "matrix");
    if (!isDataset(matrixEntity)) {
      fail("CONVERT_INPUT_INVALID", `${file} has no /matrix; a loom file keeps its genes × cells matrix there`, { path: file });
    }
    const shape = matrixEntity.shape ?? [];
    if (shape.length !== 2) fail("CONVERT_INPUT_INVALID", `${file}: /matrix is ${shape.length}-D; expected genes × cells`, { path: file });
    const [nGenes, nCells] = shape;
    const warnings: string[] = [];
    const X = denseMatrix(matrixEntity, "/matrix", nGenes, nCells, file);
    const genes = readAttrs(f, "row_attrs", nGenes, GENE_INDEX, file, warnings);
    const cells = readAttrs(f, "col_attrs", nCells, CELL_INDEX, file, warnings);
    const layers = new Map<string, H5Matrix>();
    const layerGroup = getEntity(f, "layers");
    if (isGroup(layerGroup)) {
      for (const key of layerGroup.keys()) {
        // loompy may list the main matrix as the layer "" (a link to /matrix).
        if (key === "") continue;
        layers.set(key, denseMatrix(getEntity(layerGroup, key), `/layers/${key}`, nGenes, nCells, file));
      }
    }
    const matrices: ConvertMatrix[] = [matrixInfo(X, "X", "/matrix", file)];
    for (const [key, m] of layers) matrices.push(matrixInfo(m, `layer:${key}`, `layers/${key}`, file));
    const frame = (a: Attrs, length: number): Frame => ({ length, readIndex: () => a.index, columns: a.columns });
    const notes: string[] = [];
    if (cells.indexName || genes.indexName)
      notes.push(`cells named by col_attrs/${cells.indexName ?? "(position)"}, genes by row_attrs/${genes.indexName ?? "(position)"}`);
    return {
      format: "loom",
      path: file,
      nCells,
      nGenes,
      obs: frame(cells, nCells),
      var: frame(genes, nGenes),
      obsm: cells.embeddings,
      varm: genes.embeddings,
      layers: [...layers.keys()],
      matrices,
      nnz: null,
      warnings,
      notes,
      obsp: graphs(f, "col_graphs", nCells, file, warnings),
      varp: graphs(f, "row_graphs", nGenes, file, warnings),
      uns: (w) => globalAttrs(f, w),
      rows(matrix, opts) {
        if (matrix === "X") return matrixRows(X, "/matrix", file, opts);
        if (matrix === "raw") fail("INTERNAL", "loom files have no raw/X");
        const m = layers.get(matrix.layer);
        if (!m) fail("INTERNAL", `no layer ${matrix.layer}`);
        return matrixRows(m, `layers/${matrix.layer}`, file, opts);
      },
      async close() {
        closeHdf5(f);
      },
    };
  } catch (e) {
    closeHdf5(f);
    throw e;
  }
}
