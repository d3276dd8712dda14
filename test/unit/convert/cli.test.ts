import fs from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { UsageError } from "../../../main/commands/args";
import { convertCommand } from "../../../main/commands/convert";
import { synthCommand } from "../../../main/commands/synth";
import { PBMC_DIR } from "../../fixtures/pbmc";
import { tempDir } from "../../fixtures/slaf-fixture";

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
    expect(line).toMatch(/^Converted 160 cells × 8,674 genes \(151,815 values, uint16\) from 10x_mtx to .*a\.slaf in [\d.]+ s \([\d,]+ cells\/s, peak RSS [\d,]+ MB\)$/);
    const json = JSON.parse(await stdoutOf(() => convertCommand([PBMC_DIR, out, "--force", "--json"])));
    expect(json).toMatchObject({ nCells: 160, nnz: 151_815, valueType: "uint16" });
    expect(json.peakRssMb).toBeGreaterThan(0);
  });

  it("fails with the error code when the output exists, and with usage on missing arguments", async () => {
    await expect(convertCommand([PBMC_DIR, path.join(dir, "a.slaf")])).rejects.toMatchObject({ appError: { code: "CONVERT_OUTPUT_EXISTS" } });
    await expect(convertCommand([PBMC_DIR])).rejects.toBeInstanceOf(UsageError);
    await expect(synthCommand(["--cells", "10", "x.slaf"])).rejects.toBeInstanceOf(UsageError);
  });

  it("synthesizes a dataset", async () => {
    const line = await stdoutOf(() => synthCommand(["--from", PBMC_DIR, "--cells", "50", path.join(dir, "s.slaf")]));
    expect(line).toMatch(/^Wrote 50 resampled cells × 8,674 genes/);
  });
});
