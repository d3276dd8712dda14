/** One conversion: input → SLAF 0.5 in a temp folder beside the output → renamed into place. */
import fs from "node:fs/promises";
import path from "node:path";
import type { ConvertInspection, ConvertSummary } from "../../../shared/ipc/types/convert";
import { AppFailure } from "../../../shared/result";
import { fail, isDiskFull, throwIfAborted } from "../errors";
import { openSource } from "./detect";
import { writeExpression } from "./expression";
import { writeLayers } from "./layers";
import { metadataSlices, prepareFrame } from "./metadata-tables";
import { sanitizeColumn } from "./names";
import { defaultMatrix, selectMatrix, type MatrixOptions } from "./matrix-choice";
import { prepareOutput, type FsProbe } from "./output";
import { SlafWriter } from "./slaf-writer";
import type { Embedding, Source } from "./source";

export const CELLS_PER_CHUNK = 5000;

export interface ConvertProgress {
  done: number;
  total: number;
  message?: string;
}

export interface ConvertOptions extends MatrixOptions {
  force?: boolean;
  chunkCells?: number;
  signal?: AbortSignal;
  onProgress?: (p: ConvertProgress) => void;
  /** For tests: replaces the filesystem probe of the output folder. */
  probe?: FsProbe;
}

function embeddingBlock(list: Embedding[]) {
  const keys = list.map((e) => sanitizeColumn(e.name));
  return { available: keys, immutable: keys, mutable: [], dimensions: Object.fromEntries(list.map((e, i) => [keys[i], e.dim])) };
}

/**
 * Writes `source` as a SLAF dataset at `root` (which must not exist, or hold only the owner marker): its X
 * (`source.matrices[0]`, see matrix-choice.ts) fills expression. `notes` are passed through to the summary.
 */
export async function writeSlaf(source: Source, root: string, opts: ConvertOptions & { notes?: string[] } = {}): Promise<Omit<ConvertSummary, "output">> {
  const t0 = performance.now();
  const sourceMatrix = source.matrices[0]?.path ?? "X";
  const chunkCells = opts.chunkCells ?? CELLS_PER_CHUNK;
  const warnings = [...source.warnings];
  const obs = prepareFrame(source.obs, "cell", "obs");
  const vars = prepareFrame(source.var, "gene", "var");
  warnings.push(...obs.warnings, ...vars.warnings);
  const writer = await SlafWriter.create(root, { valueType: "uint16", nGenes: source.nGenes, nCells: source.nCells });
  const scratchDir = path.join(root, ".scratch");
  await fs.mkdir(scratchDir);
  const total = source.nCells;
  const report = (done: number, message?: string) => opts.onProgress?.({ done, total, message });
  try {
    for (const slice of metadataSlices("gene", vars, source.varm, null)) await writer.writeTable("genes", slice);
    throwIfAborted(opts.signal, "CONVERT_CANCELLED");
    const rowsOpts = {
      chunkCells,
      scratchDir,
      signal: opts.signal,
      onPrepass: (f: number) => report(0, `reading the whole matrix first (it is not stored cell by cell): ${Math.round(f * 100)}%`),
    };
    const expr = await writeExpression(source, writer, { ...rowsOpts, label: sourceMatrix, onCells: (done) => report(done) });
    warnings.push(...expr.warnings);
    throwIfAborted(opts.signal, "CONVERT_CANCELLED");
    const starts = new Float64Array(source.nCells);
    for (let c = 1; c < source.nCells; c++) starts[c] = starts[c - 1] + expr.counts[c - 1];
    for (const slice of metadataSlices("cell", obs, source.obsm, starts)) await writer.writeTable("cells", slice);
    throwIfAborted(opts.signal, "CONVERT_CANCELLED");
    await writeLayers(source, writer, rowsOpts);
    throwIfAborted(opts.signal, "CONVERT_CANCELLED");
    await fs.rm(scratchDir, { recursive: true, force: true });
    const extra: Record<string, unknown> = {};
    if (source.layers.length) {
      const keys = source.layers.map(sanitizeColumn);
      extra.layers = { available: keys, immutable: keys, mutable: [] };
    }
    if (source.obsm.length) extra.obsm = embeddingBlock(source.obsm);
    if (source.varm.length) extra.varm = embeddingBlock(source.varm);
    await writer.finish({
      nCells: source.nCells,
      nGenes: source.nGenes,
      extra,
      tables: source.layers.length ? ["layers"] : [],
      metadata: { source_matrix: sourceMatrix },
    });
    const elapsedMs = performance.now() - t0;
    return {
      format: source.format,
      nCells: source.nCells,
      nGenes: source.nGenes,
      nnz: expr.nnz,
      valueType: expr.valueType,
      sourceMatrix,
      elapsedMs,
      cellsPerSecond: elapsedMs > 0 ? source.nCells / (elapsedMs / 1000) : 0,
      notes: [...(source.notes ?? []), ...(opts.notes ?? [])],
      warnings,
    };
  } catch (e) {
    writer.close();
    throw e;
  }
}

export async function convertFile(input: string, output: string, opts: ConvertOptions = {}): Promise<ConvertSummary> {
  const target = path.resolve(output);
  const pending = await prepareOutput(target, { force: opts.force, probe: opts.probe });
  let source: Source | null = null;
  try {
    source = await openSource(input);
    const selection = selectMatrix(source, opts);
    throwIfAborted(opts.signal, "CONVERT_CANCELLED");
    const summary = await writeSlaf(selection.source, pending.root, { ...opts, notes: selection.notes });
    throwIfAborted(opts.signal, "CONVERT_CANCELLED");
    await pending.commit();
    return { output: target, ...summary };
  } catch (e) {
    await pending.abort();
    if (opts.signal?.aborted) throwIfAborted(opts.signal, "CONVERT_CANCELLED");
    if (!(e instanceof AppFailure) && isDiskFull(e)) fail("DISK_FULL", `No space left while writing ${target}`, { path: target });
    throw e;
  } finally {
    await source?.close();
  }
}

export async function inspectInput(input: string): Promise<ConvertInspection> {
  const source = await openSource(input);
  try {
    const choice = defaultMatrix(source.matrices);
    return {
      format: source.format,
      nCells: source.nCells,
      nGenes: source.nGenes,
      nnz: source.nnz,
      obsColumns: source.obs.columns.map((c) => c.name),
      varColumns: source.var.columns.map((c) => c.name),
      obsm: source.obsm.map((e) => e.name),
      varm: source.varm.map((e) => e.name),
      layers: source.layers,
      matrices: source.matrices,
      defaultMatrix: choice.name,
      defaultReason: choice.reason,
    };
  } finally {
    await source.close();
  }
}
