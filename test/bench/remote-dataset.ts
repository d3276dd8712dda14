/**
 * The dataset of `bench remote`: PBMC cells resampled by `slaf-workbench synth` until the expression table has
 * more than 10M rows, built once and cached under the system temp folder (as the other benchmarks do).
 */
import { execFile } from "node:child_process";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { PBMC_DIR, PROJECT_ROOT } from "../fixtures/pbmc";

export const N_CELLS = 48_000;
const CACHE = path.join(os.tmpdir(), "slafwb-bench-remote-v1");
export const DATASET_NAME = `pbmc-${N_CELLS / 1000}k.slaf`;

export interface BenchDataset {
  root: string;
  tables: Record<string, string>;
  expressionRows: number;
  /** Bytes of the expression table's data files: what a full scan must move. */
  expressionDataBytes: number;
  expressionDataFiles: number;
}

async function dataFiles(dir: string): Promise<{ bytes: number; files: number }> {
  const names = await fs.readdir(dir);
  let bytes = 0;
  for (const name of names) bytes += (await fs.stat(path.join(dir, name))).size;
  return { bytes, files: names.length };
}

export async function ensureRemoteDataset(): Promise<BenchDataset> {
  const root = path.join(CACHE, DATASET_NAME);
  if (!(await fs.stat(path.join(root, "config.json")).catch(() => null))) {
    await fs.mkdir(CACHE, { recursive: true });
    const temp = path.join(CACHE, `building-${process.pid}.slaf`);
    await fs.rm(temp, { recursive: true, force: true });
    console.log(`Building ${root} (once) with slaf-workbench synth ...`);
    const cli = path.join(PROJECT_ROOT, "dist", "main", "cli.mjs");
    try {
      await promisify(execFile)(process.execPath, [cli, "synth", "--from", PBMC_DIR, "--cells", String(N_CELLS), "--seed", "9", temp]);
      await fs.rename(temp, root);
    } finally {
      await fs.rm(temp, { recursive: true, force: true });
    }
  }
  const config = JSON.parse(await fs.readFile(path.join(root, "config.json"), "utf8")) as {
    tables: Record<string, string>;
    metadata: { expression_count: number };
  };
  const { bytes, files } = await dataFiles(path.join(root, config.tables.expression, "data"));
  return { root, tables: config.tables, expressionRows: config.metadata.expression_count, expressionDataBytes: bytes, expressionDataFiles: files };
}
