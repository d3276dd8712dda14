import fs from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { UsageError } from "../../../main/commands/args";
import { convertCommand } from "../../../main/commands/convert";
import { synthCommand } from "../../../main/commands/synth";
import { PBMC_DIR } from "../../fixtures/pbmc";
import { tempDir } from "../../fixtures/slaf-fixture";
import { writeCellxgeneH5ad } from "./cellxgene-h5ad";
import { readBack } from "./read-back";

let dir: string;
beforeAll(async () => {
  dir = await tempDir("slafwb-cli-");
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
  vi.restoreAllMocks();
});

async function stdoutOf(body: () => Promise<void>): Promise<string> {
  const lines: string[] = [];
  const spy = vi.spyOn(console, "log").mockImplementation((...a: unknown[]) => void lines.push(a.join(" ")));
  try {
    await body();
  } finally {
    spy.mockRestore();
  }
  return lines.join("\n");
}

describe("CLI convert and synth", () => {
  it("prints a one-line summary, or JSON with peak RSS", async () => {
    const out = path.join(dir, "a.slaf");
    const line = await stdoutOf(() => convertCommand([PBMC_DIR, out, "--stats"]));
    expect(line).toMatch(
      /^Converted 160 cells × 8,674 genes \(151,815 values, uint16\) from 10x_mtx to .*a\.slaf in [\d.]+ s \([\d,]+ cells\/s, peak RSS [\d,]+ MB\)$/,
    );
    const json = JSON.parse(await stdoutOf(() => convertCommand([PBMC_DIR, out, "--force", "--json"])));
    expect(json).toMatchObject({ nCells: 160, nnz: 151_815, valueType: "uint16" });
    expect(json.peakRssMb).toBeGreaterThan(0);
  });

  it("fails with the error code when the output exists, and with usage on missing arguments", async () => {
    await expect(convertCommand([PBMC_DIR, path.join(dir, "a.slaf")])).rejects.toMatchObject({ appError: { code: "CONVERT_OUTPUT_EXISTS" } });
    await expect(convertCommand([PBMC_DIR])).rejects.toBeInstanceOf(UsageError);
    await expect(synthCommand(["--cells", "10", "x.slaf"])).rejects.toBeInstanceOf(UsageError);
  });

  it("takes --matrix and --keep-other-as-layer, and says which matrix it used", async () => {
    const input = path.join(dir, "cellxgene.h5ad");
    await writeCellxgeneH5ad(input);
    const stderr: string[] = [];
    const spy = vi.spyOn(process.stderr, "write").mockImplementation((s: string | Uint8Array) => (stderr.push(String(s)), true));
    let line: string;
    try {
      line = await stdoutOf(() => convertCommand([input, path.join(dir, "counts.slaf")]));
    } finally {
      spy.mockRestore();
    }
    expect(line).toMatch(/^Converted 160 cells × 8,674 genes \(151,815 values, uint16\) from h5ad raw\/X to /);
    expect(stderr.join("")).toMatch(/^note: expression holds raw\/X \(float32, integer counts\), by default: /m);
    const json = JSON.parse(await stdoutOf(() => convertCommand([input, path.join(dir, "x.slaf"), "--matrix", "X", "--keep-other-as-layer", "--json"])));
    expect(json).toMatchObject({ sourceMatrix: "X", valueType: "float32", notes: expect.arrayContaining(["raw/X is kept as the layer raw"]) });
    const back = await readBack(path.join(dir, "x.slaf"));
    expect(back.config.metadata.source_matrix).toBe("X");
    expect(back.config.layers.available).toEqual(["raw"]);
    await expect(convertCommand([input, path.join(dir, "y.slaf"), "--matrix"])).rejects.toBeInstanceOf(UsageError);
    await expect(convertCommand([input, path.join(dir, "y.slaf"), "--matrix", "layers"])).rejects.toMatchObject({ appError: { code: "INVALID_ARGUMENT" } });
  });

  it("synthesizes a dataset", async () => {
    const line = await stdoutOf(() => synthCommand(["--from", PBMC_DIR, "--cells", "50", path.join(dir, "s.slaf")]));
    expect(line).toMatch(/^Wrote 50 resampled cells × 8,674 genes/);
  });
});
