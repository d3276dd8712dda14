/** AnnData .h5ad (anndata ≥ 0.7 encoding) as a conversion source. */
import { fail } from "../errors";
import { readEmbeddings, readFrame } from "./h5ad-frame";
import { describeAnnDataMatrix, matrixRows, storedEntries, type H5Matrix } from "./h5-matrix";
import { closeHdf5, getEntity, isGroup, openHdf5 } from "./hdf5";
import type { Source } from "./source";

export async function openH5ad(file: string): Promise<Source> {
  const f = await openHdf5(file, "AnnData (.h5ad)");
  try {
    const warnings: string[] = [];
    const xEntity = getEntity(f, "X");
    if (xEntity === null) fail("CONVERT_INPUT_INVALID", `${file} has no X matrix (an .h5ad needs /X)`, { path: file });
    const X = describeAnnDataMatrix(xEntity, "X", file);
    const obs = readFrame(f, "obs", file, warnings);
    const vars = readFrame(f, "var", file, warnings);
    if (X.nCells !== obs.length || X.nGenes !== vars.length) {
      fail(
        "CONVERT_INPUT_INVALID",
        `${file}: X is ${X.nCells} × ${X.nGenes} but obs has ${obs.length} rows and var has ${vars.length}; the shapes must agree`,
        { path: file },
      );
    }
    const layers = new Map<string, H5Matrix>();
    const layerGroup = getEntity(f, "layers");
    if (isGroup(layerGroup)) {
      for (const key of layerGroup.keys()) {
        const m = describeAnnDataMatrix(getEntity(layerGroup, key), `layers/${key}`, file);
        if (m.nCells !== X.nCells || m.nGenes !== X.nGenes) {
          fail("CONVERT_INPUT_INVALID", `${file}: layers/${key} is ${m.nCells} × ${m.nGenes} but X is ${X.nCells} × ${X.nGenes}`, { path: file });
        }
        layers.set(key, m);
      }
    }
    const obsm = readEmbeddings(f, "obsm", X.nCells, file, warnings);
    const varm = readEmbeddings(f, "varm", X.nGenes, file, warnings);
    return {
      format: "h5ad",
      path: file,
      nCells: X.nCells,
      nGenes: X.nGenes,
      obs,
      var: vars,
      obsm,
      varm,
      layers: [...layers.keys()],
      nnz: storedEntries(X),
      warnings,
      rows(matrix, opts) {
        if (matrix === "X") return matrixRows(X, "X", file, opts);
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
