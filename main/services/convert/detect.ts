/** Which reader an input path needs (SLAF's `detect_format`, plus a look inside `.h5` files). */
import fs from "node:fs/promises";
import path from "node:path";
import type { InputFormat } from "../../../shared/ipc/types/convert";
import { fail } from "../errors";
import { openH5ad } from "./h5ad-source";
import { openLoom } from "./loom-source";
import { closeHdf5, getEntity, openHdf5 } from "./hdf5";
import { findMtxFiles, openMtxDir } from "./mtx-source";
import type { Source } from "./source";
import { openTenxH5 } from "./tenx-h5-source";

export async function detectFormat(input: string): Promise<{ format: InputFormat; path: string }> {
  let stat;
  try {
    stat = await fs.stat(input);
  } catch {
    fail("CONVERT_INPUT_INVALID", `No file or folder at ${input}`, { path: input });
  }
  if (stat.isDirectory()) {
    if (findMtxFiles(input)) return { format: "10x_mtx", path: input };
    fail(
      "CONVERT_INPUT_INVALID",
      `${input} is a folder but not a 10x MTX folder (needs matrix.mtx[.gz] with features.tsv[.gz] or genes.tsv[.gz] and barcodes.tsv[.gz])`,
      { path: input },
    );
  }
  const name = path.basename(input).toLowerCase();
  if (/^matrix\.mtx(\.gz)?$/.test(name)) return detectFormat(path.dirname(input));
  if (name.endsWith(".h5ad")) return { format: "h5ad", path: input };
  if (name.endsWith(".loom")) return { format: "loom", path: input };
  if (name.endsWith(".h5") || name.endsWith(".hdf5")) {
    // SLAF reads an AnnData saved as .h5 through its /X; a Cell Ranger file has /matrix.
    const f = await openHdf5(input, "an HDF5 matrix");
    try {
      return { format: getEntity(f, "X") !== null ? "h5ad" : "10x_h5", path: input };
    } finally {
      closeHdf5(f);
    }
  }
  fail("CONVERT_INPUT_INVALID", `${input}: unknown input type; expected an .h5ad, a .loom, a Cell Ranger .h5, or a 10x MTX folder`, { path: input });
}

export async function openSource(input: string): Promise<Source> {
  const { format, path: p } = await detectFormat(path.resolve(input));
  if (format === "h5ad") return openH5ad(p);
  if (format === "10x_h5") return openTenxH5(p);
  if (format === "loom") return openLoom(p);
  return openMtxDir(p);
}
