import { existsSync } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AppFailure } from "../../../shared/result";
import { convertFile } from "../../../main/services/convert/convert";
import { DATA_DIR, PBMC_DIR } from "../../fixtures/pbmc";
import { tempDir } from "../../fixtures/slaf-fixture";
import { writeTestH5ad } from "./h5-files";
import { readBack } from "./read-back";

let dir: string;
beforeAll(async () => {
  dir = await tempDir("slafwb-errors-");
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

async function failure(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (e) {
    if (e instanceof AppFailure) return e.appError;
    throw e;
  }
  throw new Error("expected a failure");
}

/** Output folders left in `parent` (finished or temp). */
async function leftovers(parent: string, base: string): Promise<string[]> {
  return (await fs.readdir(parent)).filter((n) => n.includes(base));
}

async function mtxDir(name: string, matrix: string, genes = 3, cells = 2): Promise<string> {
  const d = path.join(dir, name);
  await fs.mkdir(d);
  await fs.writeFile(path.join(d, "matrix.mtx.gz"), gzipSync(matrix));
  await fs.writeFile(path.join(d, "features.tsv"), Array.from({ length: genes }, (_, i) => `ID${i}\tG${i}\tGene Expression`).join("\n") + "\n");
  await fs.writeFile(path.join(d, "barcodes.tsv"), Array.from({ length: cells }, (_, i) => `BC${i}-1`).join("\n") + "\n");
  return d;
}

const ROWS = [
  [1, 0, 2],
  [0, 3, 0],
];

describe("bad input", () => {
  it("refuses a file that is not HDF5, naming it, and writes nothing", async () => {
    const bad = path.join(dir, "notes.h5ad");
    await fs.writeFile(bad, "just text\n");
    const e = await failure(convertFile(bad, path.join(dir, "notes.slaf")));
    expect(e.code).toBe("CONVERT_INPUT_INVALID");
    expect(e.message).toContain(bad);
    expect(e.message).toMatch(/not an HDF5 file/);
    expect(await leftovers(dir, "notes.slaf")).toEqual([]);
  });

  it("refuses a truncated h5ad", async () => {
    const cut = path.join(dir, "cut.h5ad");
    await fs.writeFile(cut, (await fs.readFile(path.join(DATA_DIR, "pbmc3k.h5ad"))).subarray(0, 400_000));
    const e = await failure(convertFile(cut, path.join(dir, "cut.slaf")));
    expect(e.code).toBe("CONVERT_INPUT_INVALID");
    expect(e.message).toMatch(/truncated or damaged/);
    expect(await leftovers(dir, "cut.slaf")).toEqual([]);
  });

  it("refuses an h5ad without X", async () => {
    const file = path.join(dir, "nox.h5ad");
    await writeTestH5ad(file, { rows: ROWS, omitX: true });
    const e = await failure(convertFile(file, path.join(dir, "nox.slaf")));
    expect(e).toMatchObject({ code: "CONVERT_INPUT_INVALID" });
    expect(e.message).toMatch(/has no X matrix/);
  });

  it("refuses X whose shape disagrees with obs", async () => {
    const file = path.join(dir, "shape.h5ad");
    await writeTestH5ad(file, { rows: ROWS, obsNames: ["a", "b", "c"] });
    const e = await failure(convertFile(file, path.join(dir, "shape.slaf")));
    expect(e.code).toBe("CONVERT_INPUT_INVALID");
    expect(e.message).toMatch(/X is 2 × 3 but obs has 3 rows/);
  });

  it("keeps NaN and negative values as float32 with a warning", async () => {
    const file = path.join(dir, "neg.h5ad");
    await writeTestH5ad(file, {
      rows: [
        [1, 0, -2],
        [0, NaN, 0],
      ],
    });
    const out = path.join(dir, "neg.slaf");
    const summary = await convertFile(file, out);
    expect(summary.valueType).toBe("float32");
    expect(summary.warnings.join("\n")).toMatch(/1 negative and 1 NaN values where counts are expected; kept as float32/);
    const data = await readBack(out);
    expect(data.expression.value).toEqual([1, -2, NaN]);
  });

  it.each([
    ["fewer entries than the header", "%%MatrixMarket matrix coordinate integer general\n3 2 3\n1 1 5\n2 2 1\n", /announces 3 entries but the file holds 2/],
    ["more entries than the header", "%%MatrixMarket matrix coordinate integer general\n3 2 1\n1 1 5\n2 2 1\n", /announces 1 entries but the file holds more/],
    ["an entry outside the size", "%%MatrixMarket matrix coordinate integer general\n3 2 2\n1 1 5\n4 2 1\n", /at \(4, 2\), outside the 3 × 2 size/],
    [
      "a size that disagrees with the tsv files",
      "%%MatrixMarket matrix coordinate integer general\n4 2 1\n1 1 5\n",
      /says 4 × 2 but features.tsv has 3 genes and barcodes.tsv has 2 cells/,
    ],
    [
      "a fractional value in an integer matrix",
      "%%MatrixMarket matrix coordinate integer general\n3 2 1\n1 1 2.5\n",
      /header says "integer" but entry 1 has value 2.5/,
    ],
    ["no header", "1 1 5\n", /not a MatrixMarket header/],
  ])("refuses an MTX with %s", async (name, text, pattern) => {
    const d = await mtxDir(`mtx-${name.replaceAll(" ", "-")}`, text);
    const out = path.join(dir, `${path.basename(d)}.slaf`);
    const e = await failure(convertFile(d, out));
    expect(e.code).toBe("CONVERT_INPUT_INVALID");
    expect(e.message).toContain("matrix.mtx.gz");
    expect(e.message).toMatch(pattern);
    expect(await leftovers(dir, `${path.basename(d)}.slaf`)).toEqual([]);
  });

  it("accepts an MTX written cells × genes, uncompressed files and real values", async () => {
    const d = await mtxDir("mtx-transposed", "%%MatrixMarket matrix coordinate real general\n% comment\n2 3 3\n2 3 0.25\n1 1 5\n1 3 1e1\n");
    const out = path.join(dir, "transposed.slaf");
    await convertFile(d, out);
    const data = await readBack(out);
    expect(data.expression.cell).toEqual([0, 0, 1]);
    expect(data.expression.gene).toEqual([0, 2, 2]);
    expect(data.expression.value).toEqual([5, 10, 0.25]);
  });
});

describe("output handling", () => {
  it("refuses an existing output unless forced, then replaces it", async () => {
    const out = path.join(dir, "exists.slaf");
    await convertFile(path.join(DATA_DIR, "tenx_v3_small"), out);
    const e = await failure(convertFile(PBMC_DIR, out));
    expect(e.code).toBe("CONVERT_OUTPUT_EXISTS");
    expect(e.message).toContain(out);
    await convertFile(PBMC_DIR, out, { force: true });
    expect((await readBack(out)).config.n_cells).toBe(160);
    expect(await leftovers(dir, "exists.slaf")).toEqual(["exists.slaf"]);
  });

  it("does not replace a folder that is not a SLAF dataset, even forced", async () => {
    const out = path.join(dir, "precious");
    await fs.mkdir(out);
    await fs.writeFile(path.join(out, "thesis.txt"), "keep me");
    const e = await failure(convertFile(PBMC_DIR, out, { force: true }));
    expect(e.code).toBe("CONVERT_OUTPUT_EXISTS");
    expect(existsSync(path.join(out, "thesis.txt"))).toBe(true);
  });

  it("refuses an output folder on a filesystem without atomic rename", async () => {
    const out = path.join(dir, "fat", "x.slaf");
    const fat = { statfs: async () => ({ type: 0x4d44 }), rename: async () => {} };
    const e = await failure(convertFile(PBMC_DIR, out, { probe: fat }));
    expect(e.code).toBe("CONVERT_OUTPUT_INVALID");
    expect(e.message).toMatch(/FAT filesystem, which has no atomic rename/);
    const noRename = { statfs: async () => ({ type: 0xef53 }), rename: async () => Promise.reject(Object.assign(new Error("nope"), { code: "EPERM" })) };
    const e2 = await failure(convertFile(PBMC_DIR, out, { probe: noRename }));
    expect(e2.code).toBe("CONVERT_OUTPUT_INVALID");
    expect(e2.message).toMatch(/does not support renaming folders \(EPERM\)/);
    expect(await fs.readdir(path.join(dir, "fat"))).toEqual([]);
  });

  it("leaves nothing behind when cancelled mid-way", async () => {
    const out = path.join(dir, "cancelled.slaf");
    const controller = new AbortController();
    const e = await failure(
      convertFile(path.join(DATA_DIR, "pbmc3k.h5ad"), out, {
        chunkCells: 16,
        signal: controller.signal,
        onProgress: (p) => {
          if (p.done >= 48) controller.abort(new AppFailure("CONVERT_CANCELLED", "Cancelled by the user"));
        },
      }),
    );
    expect(e.code).toBe("CONVERT_CANCELLED");
    expect(await leftovers(dir, "cancelled.slaf")).toEqual([]);
  });
});
