/** A resampled PBMC dataset for benchmarks, made once by `slaf-workbench synth` under the system temp folder. */
import { execFile } from "node:child_process";
import fs from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { PROJECT_ROOT } from "../fixtures/pbmc";

/** Builds `root` (a .slaf folder) unless it is there: into a temp name beside it, renamed when complete. */
export async function synthDataset(root: string, opts: { from: string; cells: number; seed: number }): Promise<void> {
  if (await fs.stat(path.join(root, "config.json")).catch(() => null)) return;
  await fs.mkdir(path.dirname(root), { recursive: true });
  const temp = path.join(path.dirname(root), `building-${process.pid}.slaf`);
  await fs.rm(temp, { recursive: true, force: true });
  console.log(`Building ${root} (once) with slaf-workbench synth ...`);
  const cli = path.join(PROJECT_ROOT, "dist", "main", "cli.mjs");
  try {
    await promisify(execFile)(process.execPath, [cli, "synth", "--from", opts.from, "--cells", String(opts.cells), "--seed", String(opts.seed), temp], {
      maxBuffer: 1 << 26,
    });
    await fs.rename(temp, root);
  } finally {
    await fs.rm(temp, { recursive: true, force: true });
  }
}
