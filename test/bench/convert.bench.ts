/**
 * Conversion speed and memory: `slaf-workbench convert` of resampled PBMC cells as an .h5ad, as a 10x MTX
 * folder, and as four samples in one run (two .h5ad + two MTX folders, n/4 cells each), each run as a child
 * process so its peak RSS is its own (worker threads included), next to a baseline measured in the same run:
 * LanceDB writing the same triples through its public `Table.add`, already in memory (only the writes are
 * timed). Inputs are made by `synth` once and kept in the temp folder (SLAFWB_BENCH_FRESH=1 remakes them).
 * Sizes: SLAFWB_BENCH_CELLS (default 100000,1000000).
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import * as lancedb from "@lancedb/lancedb";
import { CELLS_PER_CHUNK } from "../../main/services/convert/convert";
import { openH5ad } from "../../main/services/convert/h5ad-source";
import { columnsTable, expressionSchema, LANCE_WRITE_OPTIONS } from "../../main/services/convert/slaf-writer";
import { packageRoot, resourcePath } from "../../main/services/resources";
import { table } from "./util";

/** SLAF's published conversion: 49,955 cells × 25,000 genes in 1.87 s on an M1 Max. */
const ANCHOR_CELLS_PER_S = 49_955 / 1.87;
const GOALS = { mtx: 30_000, h5ad: 60_000, h5adRssMb: 600 };
const CACHE = path.join(os.tmpdir(), "slafwb-bench-convert-v1");

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

/** A synth input (`.h5ad` or `.mtx` folder) of `cells` cells, made once per cache folder. */
async function input(name: string, cells: number, seed: number): Promise<string> {
  const target = path.join(CACHE, name);
  if (process.env.SLAFWB_BENCH_FRESH === "1") await fs.rm(target, { recursive: true, force: true });
  if (!existsSync(target)) {
    await fs.mkdir(CACHE, { recursive: true });
    process.stdout.write(`making ${name} (${cells.toLocaleString("en-US")} cells)...\n`);
    await cli(["synth", "--from", resourcePath("demo", "pbmc3k"), "--cells", String(cells), "--seed", String(seed), target]);
  }
  return target;
}

/** Public-API LanceDB write of the input's triples, chunk by chunk; returns the seconds spent in writes. */
async function rawLanceWrite(file: string, root: string): Promise<number> {
  const source = await openH5ad(file);
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

interface Run {
  nnz: number;
  seconds: number;
  cellsPerSecond: number;
  peakRssMb: number;
  outMb: number;
}

async function convert(inputs: string[], output: string): Promise<Run> {
  const summary = JSON.parse((await cli(["convert", ...inputs, output, "--json"])).trim().split("\n").pop()!);
  const outMb = (await dirBytes(output)) / 1e6;
  await fs.rm(output, { recursive: true, force: true });
  return { nnz: summary.nnz, seconds: summary.elapsedMs / 1000, cellsPerSecond: summary.cellsPerSecond, peakRssMb: summary.peakRssMb, outMb };
}

export async function run(): Promise<void> {
  const sizes = (process.env.SLAFWB_BENCH_CELLS ?? "100000,1000000").split(",").map(Number);
  const work = await fs.mkdtemp(path.join(os.tmpdir(), "slafwb-bench-convert-out-"));
  const rows: (string | number)[][] = [];
  const row = (label: string, r: Run, base: number, goal: string) => [
    label,
    r.nnz,
    r.seconds,
    Math.round(r.cellsPerSecond),
    r.nnz / r.seconds / 1e6,
    Math.round(r.peakRssMb),
    Math.round(r.outMb),
    r.cellsPerSecond / ANCHOR_CELLS_PER_S,
    r.cellsPerSecond / base,
    goal,
  ];
  try {
    for (const n of sizes) {
      const label = n.toLocaleString("en-US");
      const h5ad = await input(`synth-${n}.h5ad`, n, 42);
      const mtx = await input(`synth-${n}.mtx`, n, 42);
      const quarter = Math.round(n / 4);
      const samples = [
        await input(`sample-a-${quarter}.h5ad`, quarter, 1),
        await input(`sample-b-${quarter}.mtx`, quarter, 2),
        await input(`sample-c-${quarter}.h5ad`, quarter, 3),
        await input(`sample-d-${quarter}.mtx`, quarter, 4),
      ];
      const baseRoot = path.join(work, `raw-${n}`);
      await fs.mkdir(baseRoot);
      const rawSeconds = await rawLanceWrite(h5ad, baseRoot);
      await fs.rm(baseRoot, { recursive: true, force: true });
      const base = n / rawSeconds;
      const fromH5ad = await convert([h5ad], path.join(work, `h5ad-${n}.slaf`));
      const fromMtx = await convert([mtx], path.join(work, `mtx-${n}.slaf`));
      const fromSamples = await convert(samples, path.join(work, `samples-${n}.slaf`));
      const big = n >= 1_000_000;
      rows.push(
        row(
          `h5ad ${label} cells`,
          fromH5ad,
          base,
          big
            ? `>= ${GOALS.h5ad.toLocaleString("en-US")} cells/s, < ${GOALS.h5adRssMb} MB: ${fromH5ad.cellsPerSecond >= GOALS.h5ad && fromH5ad.peakRssMb < GOALS.h5adRssMb ? "met" : "missed"}`
            : "",
        ),
        row(
          `MTX folder ${label} cells`,
          fromMtx,
          base,
          big ? `>= ${GOALS.mtx.toLocaleString("en-US")} cells/s: ${fromMtx.cellsPerSecond >= GOALS.mtx ? "met" : "missed"}` : "",
        ),
        row(`4 samples (2 h5ad + 2 MTX) ${label} cells`, fromSamples, base, ""),
        [
          `  baseline: LanceDB Table.add, triples in memory`,
          fromH5ad.nnz,
          rawSeconds,
          Math.round(base),
          fromH5ad.nnz / rawSeconds / 1e6,
          "-",
          "-",
          base / ANCHOR_CELLS_PER_S,
          1,
          "",
        ],
      );
    }
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
  table(["run", "values", "s", "cells/s", "Mvalues/s", "peak RSS MB", "out MB", "vs SLAF anchor", "vs baseline", "goal (issue 15)"], rows);
  console.log(
    `SLAF anchor: ${Math.round(ANCHOR_CELLS_PER_S).toLocaleString("en-US")} cells/s (49,955 × 25,000 in 1.87 s, M1 Max, single process). Inputs cached in ${CACHE}. Machine: ${os.cpus().length} cores, load average ${os
      .loadavg()
      .map((x) => x.toFixed(1))
      .join(" / ")} at the end (other work on the machine slows every row alike).`,
  );
}
