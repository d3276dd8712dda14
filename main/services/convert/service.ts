import { existsSync } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";
import type { ConvertApi, ConvertStartRequest, ConvertSummary } from "../../../shared/ipc/contract";
import { AppFailure } from "../../../shared/result";
import { fail, guard } from "../errors";
import type { JobService } from "../jobs/service";
import { convertInputs, inspectInput, type ConvertInput } from "./convert";
import { detectFormat } from "./detect";
import { parseMatrixName } from "./matrix-choice";
import { nameSamples } from "./samples";
import { convertInWorker, type WorkerOptions } from "./run-in-worker";
import { baseTempDir, claimProcessTempDir, cleanStaleConversions } from "./stale";

export interface ConvertServiceOptions {
  userDataDir: string;
  /** Folder with the bundled demo input (PBMC 3k), shipped inside the app. */
  demoInputDir: string;
  /** Throws when a conversion may not write to this output (it is, or is inside, an open dataset). */
  refuseOutput?: (output: string) => Promise<void>;
  /** The bundled worker (dist/main/convert-worker.mjs): conversions then run off the main thread. */
  workerFile?: string | null;
}

/** The bundled demo: real PBMC 3k as AnnData (8 cell types in obs/cell_type, UMAP in obsm/X_umap). */
export const DEMO_INPUT_FILE = "pbmc3k.h5ad";

/** h5ad / 10x MTX / 10x HDF5 → SLAF 0.5, streaming, as jobs. */
export class ConvertService implements ConvertApi {
  private demo: Promise<string> | null = null;

  constructor(
    readonly jobs: JobService,
    readonly options: ConvertServiceOptions,
  ) {}

  inspect(req: { input: string }) {
    return guard(() => inspectInput(req.input));
  }

  start(req: ConvertStartRequest) {
    return guard(async () => {
      const inputs: ConvertInput[] = req.inputs?.length ? req.inputs.map((i) => ({ path: i.path, sample: i.sample })) : [{ path: req.input }];
      if (inputs.some((i) => !i.path) || !req.output) fail("INVALID_ARGUMENT", "Both an input and an output path are needed");
      if (req.matrix !== undefined) parseMatrixName(req.matrix);
      // Refuse the obvious mistakes at once rather than as a failed job.
      for (const input of inputs) await detectFormat(path.resolve(input.path));
      if (inputs.length > 1) nameSamples(inputs);
      const output = path.resolve(req.output);
      if (!req.force && existsSync(output)) fail("CONVERT_OUTPUT_EXISTS", `${output} already exists; choose another name or replace it`, { path: output });
      await this.options.refuseOutput?.(output);
      const jobId = this.jobs.start("convert", "cells", (ctx) =>
        this.run(inputs, output, {
          force: req.force,
          matrix: req.matrix,
          keepOtherAsLayer: req.keepOtherAsLayer,
          featureTypes: req.featureTypes,
          splitFeatureTypes: req.splitFeatureTypes,
          strict: req.strict,
          signal: ctx.signal,
          onProgress: (p) => ctx.progress(p.done, p.total, p.message),
        }),
      );
      return { jobId };
    });
  }

  /**
   * Removes what killed conversions left in the user-data folders and the temp folder (a live conversion's
   * folders are kept); for the composition root to call at start. Returns the paths removed.
   */
  cleanStale(): Promise<string[]> {
    return cleanStaleConversions([this.options.userDataDir, path.join(this.options.userDataDir, "demo"), baseTempDir()]);
  }

  /** Path of the demo dataset, built on first use; concurrent callers share one build. */
  ensureDemo(): Promise<string> {
    this.demo ??= this.buildDemo().catch((e) => {
      this.demo = null;
      throw e;
    });
    return this.demo;
  }

  private run(inputs: ConvertInput[], output: string, opts: WorkerOptions = {}): Promise<ConvertSummary> {
    // Lance's temp folders then live in a folder of this process, removed at exit or, after a kill, by the next start.
    claimProcessTempDir();
    const worker = this.options.workerFile;
    return worker ? convertInWorker(worker, inputs, output, opts) : convertInputs(inputs, output, opts);
  }

  private async buildDemo(): Promise<string> {
    const target = path.join(this.options.userDataDir, "demo", "pbmc3k.slaf");
    if (existsSync(path.join(target, "config.json"))) return target;
    await fs.mkdir(path.dirname(target), { recursive: true });
    try {
      await this.run([{ path: path.join(this.options.demoInputDir, DEMO_INPUT_FILE) }], target);
    } catch (e) {
      // Another app instance finished the same build first.
      const raced = e instanceof AppFailure && e.appError.code === "CONVERT_OUTPUT_EXISTS" && existsSync(path.join(target, "config.json"));
      if (!raced) throw e;
    }
    return target;
  }
}
