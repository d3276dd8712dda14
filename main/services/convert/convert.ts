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
import { chooseFeatureTypes, featureNote, featureSlug, featureTypeCounts, featureView } from "./feature-types";
import { prepareOutput, type FsProbe, type PendingOutput } from "./output";
import { combineSources } from "./multi-source";
import { writePairwise } from "./pairwise";
import { nameSamples, sampleNameFromPath } from "./samples";
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
  /** 10x inputs: feature types to keep (default "Gene Expression" when present), or ["all"]. */
  featureTypes?: string[];
  /** 10x inputs: write each left-out feature type as a dataset of its own beside the output. */
  splitFeatureTypes?: boolean;
  /** Several inputs: refuse inputs whose gene sets differ instead of taking their union. */
  strict?: boolean;
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
  const extraNotes: string[] = [];
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
    if (expr.restarted) extraNotes.push(expr.restarted);
    throwIfAborted(opts.signal, "CONVERT_CANCELLED");
    const starts = new Float64Array(source.nCells);
    for (let c = 1; c < source.nCells; c++) starts[c] = starts[c - 1] + expr.counts[c - 1];
    for (const slice of metadataSlices("cell", obs, source.obsm, starts)) await writer.writeTable("cells", slice);
    throwIfAborted(opts.signal, "CONVERT_CANCELLED");
    await writeLayers(source, writer, rowsOpts);
    throwIfAborted(opts.signal, "CONVERT_CANCELLED");
    const tables: string[] = source.layers.length ? ["layers"] : [];
    const extra: Record<string, unknown> = {};
    for (const [kind, table, size] of [
      ["obsp", "cellsxcells", source.nCells],
      ["varp", "genesxgenes", source.nGenes],
    ] as const) {
      const keys = await writePairwise(table, source[kind] ?? [], writer, rowsOpts);
      if (keys.length === 0) continue;
      tables.push(table);
      extra[kind] = { available: keys, immutable: keys, mutable: [], dimensions: Object.fromEntries(keys.map((k) => [k, size])) };
      throwIfAborted(opts.signal, "CONVERT_CANCELLED");
    }
    await fs.rm(scratchDir, { recursive: true, force: true });
    const uns = source.uns?.(warnings) ?? null;
    if (uns) await fs.writeFile(path.join(root, "uns.json"), JSON.stringify(uns, null, 2));
    if (source.layers.length) {
      const keys = source.layers.map(sanitizeColumn);
      extra.layers = { available: keys, immutable: keys, mutable: [] };
    }
    if (source.obsm.length) extra.obsm = embeddingBlock(source.obsm);
    if (source.varm.length) extra.varm = embeddingBlock(source.varm);
    Object.assign(extra, source.configExtra?.());
    await writer.finish({
      nCells: source.nCells,
      nGenes: source.nGenes,
      extra,
      tables,
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
      notes: [...(source.notes ?? []), ...(opts.notes ?? []), ...extraNotes],
      warnings,
    };
  } catch (e) {
    writer.close();
    throw e;
  }
}

/**
 * One input of a conversion; `sample` names its cells when several inputs go into one dataset (default: from
 * the path), `columns` are sample-sheet values given to each of its cells.
 */
export interface ConvertInput {
  path: string;
  sample?: string;
  columns?: Record<string, string>;
}

/** One dataset this run writes: the output, or a feature type written beside it. */
interface OutputPlan {
  target: string;
  root: string;
  source: Source;
  notes: string[];
  featureTypes?: string[];
}

/** `<dir>/<stem>.<feature-type>.slaf` beside `target` (`pbmc.slaf` → `pbmc.antibody-capture.slaf`). */
export function siblingPath(target: string, featureType: string): string {
  const stem = path.basename(target).replace(/\.slaf$/i, "");
  return path.join(path.dirname(target), `${stem}.${featureSlug(featureType)}.slaf`);
}

export async function convertFile(input: string, output: string, opts: ConvertOptions = {}): Promise<ConvertSummary> {
  return convertInputs([{ path: input }], output, opts);
}

/**
 * Converts the inputs into the SLAF dataset `output` (and, with `splitFeatureTypes`, each left-out 10x feature
 * type into a dataset beside it). Every dataset is written into a temp folder and renamed into place only when
 * all of them are done; a failure or a cancel removes them all.
 */
export async function convertInputs(inputs: ConvertInput[], output: string, opts: ConvertOptions = {}): Promise<ConvertSummary> {
  if (inputs.length === 0) fail("INVALID_ARGUMENT", "No input to convert");
  const target = path.resolve(output);
  const pendings: PendingOutput[] = [await prepareOutput(target, { force: opts.force, probe: opts.probe })];
  const opened: Source[] = [];
  try {
    const multi = inputs.length > 1;
    const named = multi ? nameSamples(inputs) : { inputs, notes: [] };
    const selections = [];
    for (const input of named.inputs) {
      const source = await openSource(input.path);
      opened.push(source);
      selections.push(selectMatrix(source, opts));
      throwIfAborted(opts.signal, "CONVERT_CANCELLED");
    }
    const views = selections.map((s) => s.source);
    const notes = [...named.notes, ...selections.flatMap((s, k) => s.notes.map((n) => (multi ? `${named.inputs[k].sample}: ${n}` : n)))];
    const choice = chooseFeatureTypes(views, opts.featureTypes);
    const keep = new Set(choice?.kept ?? []);
    const build = (parts: Source[], strict: boolean) =>
      multi
        ? combineSources(
            parts.map((source, k) => ({ source, sample: named.inputs[k].sample!, path: path.resolve(named.inputs[k].path), columns: named.inputs[k].columns })),
            { strict },
          )
        : { source: parts[0], notes: [] };
    const main = build(choice ? views.map((v) => featureView(v, keep)) : views, opts.strict === true);
    notes.push(...main.notes);
    if (choice) {
      const note = featureNote(choice, views);
      if (note) notes.push(note);
    }
    const plans: OutputPlan[] = [{ target, root: pendings[0].root, source: main.source, notes }];
    if (opts.splitFeatureTypes) {
      if (!choice?.leftOut.length) notes.push("no feature type was left out, so no dataset was written beside the output");
      for (const left of choice?.leftOut ?? []) {
        const sibling = siblingPath(target, left.type);
        const pending = await prepareOutput(sibling, { force: opts.force, probe: opts.probe });
        pendings.push(pending);
        plans.push({
          target: sibling,
          root: pending.root,
          source: build(
            views.map((v) => featureView(v, new Set([left.type]), false)),
            false,
          ).source,
          notes: [`holds the ${left.count.toLocaleString("en-US")} ${left.type} features left out of ${path.basename(target)}`],
          featureTypes: [left.type],
        });
      }
      if (choice?.leftOut.length)
        notes.push(
          `${choice.leftOut.map((t) => t.type).join(", ")} written beside it: ${plans
            .slice(1)
            .map((p) => path.basename(p.target))
            .join(", ")}`,
        );
    }
    const total = plans.reduce((n, p) => n + p.source.nCells, 0);
    let base = 0;
    const written: Omit<ConvertSummary, "output">[] = [];
    for (const plan of plans) {
      const at = base;
      written.push(
        await writeSlaf(plan.source, plan.root, {
          ...opts,
          notes: plan.notes,
          onProgress: (p) => opts.onProgress?.({ done: at + p.done, total, message: p.message }),
        }),
      );
      base += plan.source.nCells;
      throwIfAborted(opts.signal, "CONVERT_CANCELLED");
    }
    for (const p of pendings) await p.commit();
    const summary: ConvertSummary = { output: target, ...written[0] };
    if (multi) {
      let offset = 0;
      summary.samples = named.inputs.map((input, k) => {
        const s = { sample: input.sample!, path: path.resolve(input.path), format: opened[k].format, nCells: views[k].nCells, cellOffset: offset };
        offset += views[k].nCells;
        return s;
      });
    }
    if (choice) summary.featureTypes = { kept: choice.kept, leftOut: choice.leftOut };
    if (plans.length > 1) {
      summary.siblings = plans.slice(1).map((p, i) => ({
        output: p.target,
        featureTypes: p.featureTypes ?? [],
        nCells: written[i + 1].nCells,
        nGenes: written[i + 1].nGenes,
        nnz: written[i + 1].nnz,
        valueType: written[i + 1].valueType,
      }));
    }
    return summary;
  } catch (e) {
    for (const p of pendings) await p.abort();
    if (opts.signal?.aborted) throwIfAborted(opts.signal, "CONVERT_CANCELLED");
    if (!(e instanceof AppFailure) && isDiskFull(e)) fail("DISK_FULL", `No space left while writing ${target}`, { path: target });
    throw e;
  } finally {
    for (const s of opened) await s.close();
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
      ...(source.featureTypes ? { featureTypes: featureTypeCounts(source.featureTypes) } : {}),
      sampleName: sampleNameFromPath(input),
    };
  } finally {
    await source.close();
  }
}
