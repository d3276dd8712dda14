/**
 * Conversion speed and memory: `slaf-workbench convert` of resampled PBMC cells (.h5ad written by `synth`),
 * run as a child process so its peak RSS is its own, next to a baseline measured in the same run: LanceDB
 * writing the same triples through its public `Table.add`, already in memory (only the writes are timed).
 * Sizes: SLAFWB_BENCH_CELLS (default 100000,1000000).
 */
import { spawn } from "node:child_process";
import fs from "node:fs/promises";
import path from "node:path";
import * as lancedb from "@lancedb/lancedb";
import { CELLS_PER_CHUNK } from "../../main/services/convert/convert";
import { openH5ad } from "../../main/services/convert/h5ad-source";
import { columnsTable, expressionSchema, LANCE_WRITE_OPTIONS } from "../../main/services/convert/slaf-writer";
import { packageRoot, resourcePath } from "../../main/services/resources";
import { tempDir } from "../fixtures/slaf-fixture";
import { table } from "./util";

/** SLAF's published conversion: 49,955 cells × 25,000 genes in 1.87 s on an M1 Max. */
const ANCHOR_CELLS_PER_S = 49_955 / 1.87;

function cli(args: string[]): Promise<string> {
  const entry = path.join(packageRoot(), "dist", "main", "cli.mjs");
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [entry, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    child.on("close", (code) => (code === 0 ? resolve(out) : reject(new Error(`slaf-workbench ${args[0]} failed (${code}): ${err || out}`))));
  });
}

async function dirBytes(dir: string): Promise<number> {
  let total = 0;
  for (const e of await fs.readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) total += (await fs.stat(path.join(e.parentPath, e.name))).size;
  }
  return total;
}

/** Public-API LanceDB write of the input's triples, chunk by chunk; returns the seconds spent in writes. */
async function rawLanceWrite(input: string, root: string): Promise<number> {
  const source = await openH5ad(input);
  const db = await lancedb.connect(root, { storageOptions: LANCE_WRITE_OPTIONS });
  const schema = expressionSchema("uint16", false);
  let tbl: lancedb.Table | null = null;
  let seconds = 0;
  for await (const chunk of source.rows("X", { chunkCells: CELLS_PER_CHUNK, scratchDir: root })) {
    const n = chunk.indptr[chunk.indptr.length - 1];
    const cell = new Uint32Array(n);
    for (let r = 0; r < chunk.end - chunk.start; r++) cell.fill(chunk.start + r, chunk.indptr[r], chunk.indptr[r + 1]);
    const data = columnsTable(schema, [cell, new Uint16Array(chunk.genes), new Uint16Array(chunk.values)], n);
    const t0 = performance.now();
    if (!tbl) tbl = await db.createTable("expression", data as never, { mode: "create" });
    else await tbl.add(data as never);
    seconds += (performance.now() - t0) / 1000;
  }
  tbl?.close();
  db.close();
  await source.close();
  return seconds;
}

export async function run(): Promise<void> {
  const sizes = (process.env.SLAFWB_BENCH_CELLS ?? "100000,1000000").split(",").map(Number);
  const dir = await tempDir("slafwb-bench-convert-");
  const rows: (string | number)[][] = [];
  try {
    for (const n of sizes) {
      const input = path.join(dir, `synth-${n}.h5ad`);
      const output = path.join(dir, `out-${n}.slaf`);
      await cli(["synth", "--from", resourcePath("demo", "pbmc3k"), "--cells", String(n), input]);
      const summary = JSON.parse((await cli(["convert", input, output, "--json"])).trim().split("\n").pop()!);
      const outBytes = await dirBytes(output);
      await fs.rm(output, { recursive: true, force: true });
      const baseRoot = path.join(dir, `raw-${n}`);
      await fs.mkdir(baseRoot);
      const rawSeconds = await rawLanceWrite(input, baseRoot);
      await fs.rm(baseRoot, { recursive: true, force: true });
      await fs.rm(input, { force: true });
      const seconds = summary.elapsedMs / 1000;
      const baseCellsPerS = n / rawSeconds;
      rows.push(
        [
          `convert ${n.toLocaleString("en-US")} cells (ours)`,
          summary.nnz,
          seconds,
          Math.round(summary.cellsPerSecond),
          summary.nnz / seconds / 1e6,
          Math.round(summary.peakRssMb),
          Math.round(outBytes / 1e6),
          summary.cellsPerSecond / ANCHOR_CELLS_PER_S,
          summary.cellsPerSecond / baseCellsPerS,
        ],
        [
          `  baseline: LanceDB Table.add, triples in memory`,
          summary.nnz,
          rawSeconds,
          Math.round(baseCellsPerS),
          summary.nnz / rawSeconds / 1e6,
          "-",
          "-",
          baseCellsPerS / ANCHOR_CELLS_PER_S,
          1,
        ],
      );
    }
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
  table(["run", "values", "s", "cells/s", "Mvalues/s", "peak RSS MB", "out MB", "vs SLAF anchor", "vs baseline"], rows);
  console.log(
    `SLAF anchor: ${Math.round(ANCHOR_CELLS_PER_S).toLocaleString("en-US")} cells/s (49,955 × 25,000 in 1.87 s, M1 Max, single process). Goal: >= anchor, peak RSS < 1,024 MB at 1M cells.`,
  );
}
