/** `slaf-workbench query hf://...` through the built CLI: the same answer as the local copy, then offline from the shared cache. */
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
  dir = await tempDir("slafwb-cli-remote-");
  root = path.join(dir, "pbmc.slaf");
  await writePbmcSlaf(root, { cellsPerChunk: 50 });
  hub = await startFakeHub();
  await publishDataset(hub, "acme/pbmc", root);
});
afterAll(async () => {
  await hub?.close();
  await fs.rm(dir, { recursive: true, force: true });
});

/** The built CLI's `query` command against the fake Hub. */
function cli(args: string[]): Promise<CliRun> {
  return runBuiltCli(["query", ...args], { hubUrl: hub.url, userData: path.join(dir, "user") });
}

const SQL = "SELECT cell_type, count(*) AS n, sum(value) AS total FROM expression JOIN cells USING (cell_integer_id) GROUP BY 1 ORDER BY 1";

describe("query hf://", () => {
  it("answers like the local copy, then offline from the cache, and fails fast offline on what it never read", async () => {
    const expected = await cli([root, SQL, "--format", "csv"]);
    expect(expected.code).toBe(0);
    const online = await cli(["hf://datasets/acme/pbmc/pbmc.slaf@main", SQL, "--format", "csv"]);
    expect(online.stderr).toBe("");
    expect(online.stdout).toBe(expected.stdout);

    hub.resetLog();
    const offline = await cli(["hf://datasets/acme/pbmc/pbmc.slaf@main", SQL, "--format", "csv", "--offline"]);
    expect(offline.stderr).toBe("");
    expect(offline.stdout).toBe(expected.stdout);
    expect(hub.log).toEqual([]);

    // Never read: the genes table's columns other than those above.
    const miss = await cli(["hf://datasets/acme/pbmc/pbmc.slaf@main", "SELECT * FROM genes", "--offline"]);
    expect(miss.code).not.toBe(0);
    expect(miss.stderr).toMatch(/^OFFLINE_NOT_CACHED: .*genes/m);
    expect(hub.log).toEqual([]);
  });
});
