/** AnnData .h5ad (anndata ≥ 0.7 encoding) as a conversion source. */
import { isAppFailure } from "../../../shared/result";
import { fail } from "../errors";
import { readEmbeddings, readFrame, type LegacyCategories } from "./h5ad-frame";
import { describeAnnDataMatrix, matrixInfo, matrixRows, storedEntries, type H5Matrix } from "./h5-matrix";
import { closeHdf5, getEntity, isDataset, isGroup, openHdf5, type H5File } from "./hdf5";
import { isCompound, unsGroup } from "./legacy-frame";
import type { Frame, PairwiseBlock, Source } from "./source";
import { readUns } from "./uns";

interface Raw {
  X: H5Matrix;
  var: Frame;
}

/**
 * raw/X with its own raw/var (anndata ≥ 0.7: a `raw` group; older writers: `raw.X` / `raw.var` at the root).
 * raw/var may list more genes than var. A raw part that cannot be read is skipped with a warning, so files
 * whose raw is broken still convert from X.
 */
function readRaw(f: H5File, nCells: number, file: string, warnings: string[], legacy: LegacyCategories): Raw | null {
  const group = getEntity(f, "raw");
  const [xEntity, varParent, varName] = isGroup(group) ? [getEntity(group, "X"), group, "var"] : [getEntity(f, "raw.X"), f, "raw.var"];
  if (xEntity === null) return null;
  try {
    const X = describeAnnDataMatrix(xEntity, "raw/X", file);
    const frame = readFrame(varParent, varName, file, warnings, isGroup(group) ? "raw/var" : "raw.var", legacy);
    if (X.nCells !== nCells) fail("CONVERT_INPUT_INVALID", `raw/X has ${X.nCells} cells but X has ${nCells}`);
    if (frame.length !== X.nGenes) fail("CONVERT_INPUT_INVALID", `raw/X has ${X.nGenes} genes but raw/var has ${frame.length} rows`);
    return { X, var: frame };
  } catch (e) {
    if (!isAppFailure(e)) throw e;
    warnings.push(`raw/X is not used: ${e.appError.message}`);
    return null;
  }
}

/** obsp / varp: square sparse (or dense) matrices over the cells / genes, one per key. */
function readPairwise(f: H5File, kind: "obsp" | "varp", n: number, file: string): PairwiseBlock[] | undefined {
  const g = getEntity(f, kind);
  if (!isGroup(g)) return undefined;
  const matrices: PairwiseBlock["matrices"] = [];
  for (const key of g.keys()) {
    const where = `${kind}/${key}`;
    const m = describeAnnDataMatrix(getEntity(g, key), where, file);
    if (m.nCells !== n || m.nGenes !== n) {
      fail("CONVERT_INPUT_INVALID", `${file}: ${where} is ${m.nCells} × ${m.nGenes} but ${kind === "obsp" ? "obs" : "var"} has ${n} rows`, { path: file });
    }
    matrices.push({ name: key, rows: (opts) => matrixRows(m, where, file, opts) });
  }
  return matrices.length ? [{ size: n, offset: 0, matrices }] : undefined;
}

export async function openH5ad(file: string): Promise<Source> {
  const f = await openHdf5(file, "AnnData (.h5ad)");
  try {
    const warnings: string[] = [];
    const xEntity = getEntity(f, "X");
    if (xEntity === null) fail("CONVERT_INPUT_INVALID", `${file} has no X matrix (an .h5ad needs /X)`, { path: file });
    const X = describeAnnDataMatrix(xEntity, "X", file);
    const legacy: LegacyCategories = { uns: unsGroup(f), used: new Set() };
    const obs = readFrame(f, "obs", file, warnings, "obs", legacy);
    const vars = readFrame(f, "var", file, warnings, "var", legacy);
    const obsEntity = getEntity(f, "obs");
    const notes: string[] = [];
    if (isDataset(obsEntity) && isCompound(obsEntity)) {
      const cats = [...legacy.used].map((k) => `uns/${k}`);
      notes.push(`read as an AnnData < 0.7 file (obs and var stored as tables${cats.length ? `; categories from ${cats.join(", ")}` : ""})`);
    }
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
    const raw = readRaw(f, X.nCells, file, warnings, legacy);
    const obsm = readEmbeddings(f, "obsm", X.nCells, file, warnings);
    const varm = readEmbeddings(f, "varm", X.nGenes, file, warnings);
    const obsp = readPairwise(f, "obsp", X.nCells, file);
    const varp = readPairwise(f, "varp", X.nGenes, file);
    const matrices = [matrixInfo(X, "X", "X", file)];
    if (raw) matrices.push(matrixInfo(raw.X, "raw", "raw/X", file));
    for (const [key, m] of layers) matrices.push(matrixInfo(m, `layer:${key}`, `layers/${key}`, file));
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
      matrices,
      rawVar: raw?.var,
      nnz: storedEntries(X),
      warnings,
      notes,
      obsp,
      varp,
      uns: (w) => readUns(f, w, legacy.used),
      rows(matrix, opts) {
        if (matrix === "X") return matrixRows(X, "X", file, opts);
        if (matrix === "raw") {
          if (!raw) fail("INTERNAL", "no raw/X");
          return matrixRows(raw.X, "raw/X", file, opts);
        }
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
