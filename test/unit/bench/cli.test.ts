/**
 * `slaf-workbench bench` through the built CLI: the JSON document's shape and figures (rows equal the tables'),
 * the terminal table, the saved history, a Hub source cold then warm through the shared cache (fake Hub), and
 * named errors with exit codes.
 */
import fs from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runBuiltCli, type CliRun } from "../../fixtures/built-cli";
import { publishDataset, startFakeHub, type FakeHub } from "../../fixtures/fake-hub";
import { tempDir, writePbmcSlaf } from "../../fixtures/slaf-fixture";
import { tableRows } from "./helpers";

let dir: string;
let root: string;
let hub: FakeHub;
let sha: string;
let expressionRows: number;

interface Doc {
  runs: Record<string, unknown>[];
  run_id: string;
  cancelled: boolean;
}

beforeAll(async () => {
  dir = await tempDir("slafwb-bench-cli-");
  root = path.join(dir, "pbmc.slaf");
  await writePbmcSlaf(root, { cellsPerChunk: 50 });
  expressionRows = await tableRows(root, "expression");
  hub = await startFakeHub();
  sha = await publishDataset(hub, "acme/pbmc", root);
});

afterAll(async () => {
  await hub?.close();
  await fs.rm(dir, { recursive: true, force: true });
});

/** The built CLI's `bench` command against the fake Hub. */
function bench(args: string[], userData = path.join(dir, "user")): Promise<CliRun> {
  return runBuiltCli(["bench", ...args], { hubUrl: hub.url, userData: userData });
}

describe("slaf-workbench bench", () => {
  it("--format json prints one document: one entry per location with the issue's keys, rows equal to the table's", async () => {
    const user = path.join(dir, "user-json");
    const r = await bench(
      [root, root, "--table", "expression", "--batch-size", "5000", "--concurrency", "2", "--repeat", "2", "--format", "json", "--no-save"],
      user,
    );
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as Doc;
    expect(doc.cancelled).toBe(false);
    expect(doc.runs).toHaveLength(2);
    for (const run of doc.runs) {
      expect(Object.keys(run).slice(0, 11)).toEqual([
        "uri",
        "source",
        "table",
        "rows",
        "bytes",
        "seconds",
        "mib_per_s",
        "rows_per_s",
        "ttfb_ms",
        "upstream_requests",
        "cache_hits",
      ]);
      expect(run).toMatchObject({
        uri: root,
        source: "local",
        table: "expression",
        rows: expressionRows,
        bytes: expressionRows * 8,
        upstream_requests: 0,
        cache_hits: 0,
        repeats: 2,
        cells: 160,
      });
      expect(run.mib_per_s).toBeCloseTo((run.bytes as number) / 2 ** 20 / (run.seconds as number), 6);
      expect(run.rows_per_s).toBeCloseTo((run.rows as number) / (run.seconds as number), 3);
    }
    // --no-save: nothing written to the history.
    await expect(fs.readdir(path.join(user, "bench-history"))).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("prints a table by default, with the announcement's shape, and saves the run in the history", async () => {
    const user = path.join(dir, "user-table");
    const r = await bench([root], user);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Benchmark of pbmc: cells table, scan reader, 20,000 batches of 256 rows, warm, 1 scanner, 1 repeat");
    expect(r.stdout).toMatch(/source\s+uri\s+MiB\/s\s+rows\/s/);
    const line = r.stdout.split("\n").find((l) => l.startsWith("local "));
    expect(line?.split(/\s{2,}/).slice(0, 2)).toEqual(["local", root]);
    expect(r.stdout).toContain("the cells table has 160 rows, fewer than 20,000 batches of 256: it was read once, whole");
    const saved = await fs.readdir(path.join(user, "bench-history"));
    expect(saved).toHaveLength(1);
    const run = JSON.parse(await fs.readFile(path.join(user, "bench-history", saved[0]), "utf8")) as { options: { batches: number; batchSize: number } };
    expect(run.options).toMatchObject({ batches: 20_000, batchSize: 256, table: "cells", reader: "scan", cold: false });
  });

  it("an hf:// location cold, then warm from the cache the app shares", async () => {
    const uri = `hf://datasets/acme/pbmc/pbmc.slaf@${sha}`;
    const args = [uri, "--table", "expression", "--batch-size", "4096", "--format", "json", "--no-save"];
    hub.resetLog();
    const cold = await bench([...args, "--cold"]);
    expect(cold.stderr).toBe("");
    const [c] = (JSON.parse(cold.stdout) as Doc).runs;
    expect(c).toMatchObject({ uri, source: "hf", rows: expressionRows, revision: sha, cold: true });
    expect(c.upstream_requests).toBe(hub.log.length);
    expect(c.upstream_requests as number).toBeGreaterThan(0);
    // The cold run left the cache empty: the first warm run fills it, the second reads it alone.
    const first = (JSON.parse((await bench(args)).stdout) as Doc).runs[0];
    expect(first.upstream_requests as number).toBeGreaterThan(0);
    hub.resetLog();
    const [w] = (JSON.parse((await bench(args)).stdout) as Doc).runs;
    expect(w).toMatchObject({ rows: expressionRows, upstream_requests: 0, upstream_bytes: 0 });
    expect(w.cache_hits as number).toBeGreaterThan(0);
    expect(hub.log).toEqual([]);
  });

  it("names what is wrong: flags (exit 2), a failed location (exit 1, the others measured)", async () => {
    const bad = await bench([root, "--reader", "nope"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--reader must be one of scan, raw, geneformer, scgpt, got "nope"');
    expect(bad.stderr).toContain("Usage: slaf-workbench bench DATASET...");
    expect((await bench([root, "--batches", "0"])).stderr).toContain("--batches needs a whole number from 1");
    expect((await bench([root, "--frobnicate"])).stderr).toContain("Unknown flag --frobnicate");
    expect((await bench([])).stderr).toContain("bench needs at least one DATASET");
    const raw = await bench([root, "--reader", "raw", "--table", "cells"]);
    expect(raw.code).toBe(1);
    expect(raw.stderr).toContain("BENCH_OPTIONS_INVALID: Option table: the raw reader is the dataloader's: it reads the expression table");

    const missing = path.join(dir, "missing.slaf");
    const r = await bench([missing, root, "--format", "json", "--no-save"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/missing\.slaf: DATASET_NOT_FOUND: /);
    const doc = JSON.parse(r.stdout) as Doc;
    expect(doc.runs[0]).toMatchObject({ uri: missing, error: { code: "DATASET_NOT_FOUND" } });
    expect(doc.runs[1]).toMatchObject({ uri: root, rows: 160 });
  });
});
