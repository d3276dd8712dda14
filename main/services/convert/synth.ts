/** `synth`: resampled datasets written as SLAF (default) or as .h5ad (input for conversion benchmarks). */
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fail } from "../errors";
import { CELLS_PER_CHUNK, writeSlaf, type ConvertProgress } from "./convert";
import { openSource } from "./detect";
import { writeH5ad } from "./h5ad-write";
import { writeMtxDir } from "./mtx-write";
import { prepareOutput } from "./output";
import { synthSource } from "./synth-source";

export interface SynthOptions {
  cells: number;
  /** Default: from the output's name (.h5ad, .slaf; a name ending in .mtx or _mtx is a 10x MTX folder). */
  format?: "slaf" | "h5ad" | "mtx";
  seed?: number;
  force?: boolean;
  signal?: AbortSignal;
  onProgress?: (p: ConvertProgress) => void;
}

export async function synthesize(
  from: string,
  output: string,
  opts: SynthOptions,
): Promise<{ output: string; nCells: number; nGenes: number; nnz: number; elapsedMs: number }> {
  const t0 = performance.now();
  const target = path.resolve(output);
  const scratchDir = await fs.mkdtemp(path.join(os.tmpdir(), "slafwb-synth-"));
  const source = await synthSource(await openSource(from), opts.cells, { seed: opts.seed, scratchDir });
  const onCells = (done: number) => opts.onProgress?.({ done, total: opts.cells });
  const lower = target.toLowerCase();
  const format = opts.format ?? (lower.endsWith(".h5ad") ? "h5ad" : /[._]mtx$/.test(lower) ? "mtx" : "slaf");
  try {
    if (format === "mtx") {
      if (!opts.force && (await fs.lstat(target).catch(() => null)))
        fail("CONVERT_OUTPUT_EXISTS", `${target} already exists; pass --force to replace it`, { path: target });
      const temp = path.join(path.dirname(target), `.${path.basename(target)}.writing-${process.pid}`);
      try {
        const { nnz } = await writeMtxDir(source, temp, { chunkCells: CELLS_PER_CHUNK, scratchDir, signal: opts.signal, onCells });
        await fs.rm(target, { recursive: true, force: true });
        await fs.rename(temp, target);
        return { output: target, nCells: source.nCells, nGenes: source.nGenes, nnz, elapsedMs: performance.now() - t0 };
      } catch (e) {
        await fs.rm(temp, { recursive: true, force: true });
        throw e;
      }
    }
    if (format === "h5ad") {
      if (!opts.force && (await fs.lstat(target).catch(() => null)))
        fail("CONVERT_OUTPUT_EXISTS", `${target} already exists; pass --force to replace it`, { path: target });
      const temp = path.join(path.dirname(target), `.${path.basename(target)}.writing-${process.pid}`);
      try {
        const { nnz } = await writeH5ad(source, temp, { chunkCells: CELLS_PER_CHUNK, scratchDir, signal: opts.signal, onCells });
        await fs.rename(temp, target);
        return { output: target, nCells: source.nCells, nGenes: source.nGenes, nnz, elapsedMs: performance.now() - t0 };
      } catch (e) {
        await fs.rm(temp, { force: true });
        throw e;
      }
    }
    const pending = await prepareOutput(target, { force: opts.force });
    try {
      const summary = await writeSlaf(source, pending.root, { signal: opts.signal, onProgress: opts.onProgress });
      await pending.commit();
      return { output: target, nCells: summary.nCells, nGenes: summary.nGenes, nnz: summary.nnz, elapsedMs: performance.now() - t0 };
    } catch (e) {
      await pending.abort();
      throw e;
    }
  } finally {
    await source.close();
    await fs.rm(scratchDir, { recursive: true, force: true });
  }
}
