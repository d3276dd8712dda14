/**
 * Cell Ranger HDF5 (`filtered_feature_bc_matrix.h5`): v3 `/matrix` group (CSC over barcodes, `features/*`), or
 * the v2 layout with one group per genome (`genes`, `gene_names`). CSC by barcode is cell-major, so chunks of
 * cells are plain `indptr` windows.
 */
import { fail } from "../errors";
import { checkSparse, matrixInfo, matrixRows, type H5Matrix } from "./h5-matrix";
import { closeHdf5, getEntity, isDataset, isGroup, numbers, openHdf5, readSlice, readStrings, type H5Dataset, type H5Group } from "./hdf5";
import type { ColumnValues, Frame, Source } from "./source";

function stringFrame(length: number, index: () => string[], cols: [string, H5Dataset][], file: string): Frame {
  return {
    length,
    readIndex: index,
    columns: cols.map(([name, ds]) => ({ name, read: (s, e): ColumnValues => ({ type: "string", values: readStrings(ds, file, s, e) }) })),
  };
}

function findMatrixGroup(f: H5Group, file: string): { group: H5Group; v3: boolean } {
  const m = getEntity(f, "matrix");
  if (isGroup(m)) return { group: m, v3: true };
  for (const key of f.keys()) {
    const g = getEntity(f, key);
    if (isGroup(g) && isDataset(getEntity(g, "indptr")) && isDataset(getEntity(g, "genes"))) return { group: g, v3: false };
  }
  fail("CONVERT_INPUT_INVALID", `${file} is HDF5 but not a Cell Ranger matrix (no /matrix group or genome group with indptr and genes)`, { path: file });
}

function dataset(g: H5Group, name: string, file: string): H5Dataset {
  const ds = getEntity(g, name);
  if (!isDataset(ds)) fail("CONVERT_INPUT_INVALID", `${file}: ${g.path}/${name} is missing`, { path: file });
  return ds;
}

export async function openTenxH5(file: string): Promise<Source> {
  const f = await openHdf5(file, "a Cell Ranger HDF5 matrix");
  try {
    if (isGroup(getEntity(f, "X")) || isDataset(getEntity(f, "X"))) {
      fail("CONVERT_INPUT_INVALID", `${file} holds an AnnData X matrix; rename it to .h5ad to convert it as AnnData`, { path: file });
    }
    const { group, v3 } = findMatrixGroup(f, file);
    const shape = numbers(readSlice(dataset(group, "shape", file), [], file));
    if (shape.length !== 2) fail("CONVERT_INPUT_INVALID", `${file}: ${group.path}/shape must hold [genes, cells]`, { path: file });
    const [nGenes, nCells] = shape;
    const m: H5Matrix = {
      kind: "by-cell",
      nCells,
      nGenes,
      indptr: dataset(group, "indptr", file),
      indices: dataset(group, "indices", file),
      data: dataset(group, "data", file),
    };
    checkSparse(m, group.path.replace(/^\//, ""), file);
    const barcodes = dataset(group, "barcodes", file);
    if ((barcodes.shape?.[0] ?? 0) !== nCells)
      fail("CONVERT_INPUT_INVALID", `${file}: ${barcodes.path} has ${barcodes.shape?.[0]} names but the matrix has ${nCells} cells`, { path: file });
    let geneIndex: H5Dataset;
    const geneCols: [string, H5Dataset][] = [];
    let featureTypes: string[] | undefined;
    if (v3) {
      const features = getEntity(group, "features");
      if (!isGroup(features)) fail("CONVERT_INPUT_INVALID", `${file}: /matrix/features is missing`, { path: file });
      geneIndex = dataset(features, "name", file);
      for (const key of features.keys()) {
        const ds = getEntity(features, key);
        if (isDataset(ds) && ds.shape?.length === 1 && ds.shape[0] === nGenes)
          geneCols.push([key === "id" ? "gene_ids" : key === "feature_type" ? "feature_types" : key, ds]);
      }
      const types = getEntity(features, "feature_type");
      if (isDataset(types) && types.shape?.[0] === nGenes) featureTypes = readStrings(types, file);
    } else {
      geneIndex = isDataset(getEntity(group, "gene_names")) ? dataset(group, "gene_names", file) : dataset(group, "genes", file);
      geneCols.push(["gene_ids", dataset(group, "genes", file)]);
    }
    if ((geneIndex.shape?.[0] ?? 0) !== nGenes)
      fail("CONVERT_INPUT_INVALID", `${file}: ${geneIndex.path} has ${geneIndex.shape?.[0]} names but the matrix has ${nGenes} genes`, { path: file });
    return {
      format: "10x_h5",
      path: file,
      nCells,
      nGenes,
      obs: stringFrame(nCells, () => readStrings(barcodes, file), [], file),
      var: stringFrame(
        nGenes,
        () => readStrings(geneIndex, file),
        geneCols.filter(([k]) => k !== "name"),
        file,
      ),
      obsm: [],
      varm: [],
      layers: [],
      matrices: [matrixInfo(m, "X", group.path, file)],
      nnz: m.data.shape?.[0] ?? 0,
      warnings: [],
      featureTypes,
      rows(matrix, opts) {
        if (matrix !== "X") fail("INTERNAL", "Cell Ranger files have no layers");
        return matrixRows(m, group.path.replace(/^\//, ""), file, opts);
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
