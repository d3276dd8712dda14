/**
 * `slaf-workbench loader hf://...` through the built CLI and the fake Hub: the loader's workers read through the
 * gateway and give the same batches as the local copy, then the same again offline from the shared cache.
 */
import fs from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runBuiltCli, type CliRun } from "../../fixtures/built-cli";
import { publishDataset, startFakeHub, type FakeHub } from "../../fixtures/fake-hub";
import { tempDir, writePbmcSlaf } from "../../fixtures/slaf-fixture";

let dir: string;
let root: string;
let hub: FakeHub;

beforeAll(async () => {
  dir = await tempDir("slafwb-loader-remote-");
  root = path.join(dir, "pbmc.slaf");
  // Small chunks: several expression fragments, so the scanners read across files.
  await writePbmcSlaf(root, { cellsPerChunk: 50 });
  hub = await startFakeHub();
  await publishDataset(hub, "acme/pbmc", root);
});
afterAll(async () => {
  await hub?.close();
  await fs.rm(dir, { recursive: true, force: true });
});

/** The built CLI's `loader` command against the fake Hub. */
function loader(args: string[]): Promise<CliRun> {
  return runBuiltCli(["loader", ...args], { hubUrl: hub.url, userData: path.join(dir, "user") });
}

describe("loader hf://", () => {
  it("gives the local copy's batches, then the same offline from the cache", async () => {
    const flags = [
      "--tokenizer",
      "scgpt",
      "--mode",
      "slafdb-0.5.2",
      "--max-genes",
      "50",
      "--batch-size",
      "16",
      "--seed",
      "5",
      "--batches",
      "10",
      "--format",
      "json",
    ];
    const local = await loader([root, ...flags]);
    expect(local.code, local.stderr).toBe(0);
    // The whole epoch (160 cells in 10 batches of 16), so every fragment is read.
    const ids = (JSON.parse(local.stdout) as { batches: { cell_ids: number[] }[] }).batches.flatMap((b) => b.cell_ids);
    expect(new Set(ids).size).toBe(160);

    const online = await loader(["hf://datasets/acme/pbmc/pbmc.slaf@main", ...flags]);
    expect(online.stderr).toBe("");
    expect(online.code).toBe(0);
    expect(online.stdout).toBe(local.stdout);

    hub.resetLog();
    const offline = await loader(["hf://datasets/acme/pbmc/pbmc.slaf@main", ...flags, "--offline"]);
    expect(offline.stderr).toBe("");
    expect(offline.stdout).toBe(local.stdout);
    expect(hub.log).toEqual([]);
  });

  it("a repository that does not exist prints its named error", async () => {
    const r = await loader(["hf://datasets/acme/nothing/pbmc.slaf", "--batches", "1"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^[A-Z_]+: .*acme\/nothing/m);
    expect(r.stdout).toBe("");
  });
});
