import { AppFailure } from "../../shared/result";
import { convertInputs, type ConvertInput, type ConvertProgress } from "../services/convert/convert";
import { parseSampleFlag, readSampleSheet } from "../services/convert/samples";
import { claimProcessTempDir } from "../services/convert/stale";
import { flagInt, flagList, flagString, parseArgs, UsageError } from "./args";

/** --matrix: which matrix fills expression (default: raw/X when it holds integer counts and X does not, else X). */
/**
 * --feature-types: 10x feature types to keep (default Gene Expression); --split-feature-types writes the others
 * beside OUTPUT. Several inputs (INPUT... OUTPUT, or --sample NAME=PATH repeated, or --samples SHEET.csv|tsv
 * with sample and path columns) go into one dataset with a `sample` column; --strict refuses differing genes.
 */
export const CONVERT_USAGE =
  "slaf-workbench convert INPUT [INPUT...] OUTPUT.slaf | --sample NAME=PATH [--sample NAME=PATH...] OUTPUT.slaf | --samples SHEET.csv OUTPUT.slaf [--strict] [--matrix X|raw|layer:NAME] [--keep-other-as-layer] [--feature-types all|TYPE,TYPE...] [--split-feature-types] [--force] [--chunk-cells N] [--stats] [--json]";

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

/** Progress on stderr: rewritten in place on a terminal, a line every few seconds otherwise. */
export function progressPrinter(unit: string): { update(p: ConvertProgress): void; done(): void } {
  const tty = process.stderr.isTTY;
  const t0 = performance.now();
  let last = 0;
  let shown = false;
  return {
    update(p) {
      const now = performance.now();
      if (now - last < (tty ? 200 : 3000)) return;
      last = now;
      const seconds = (now - t0) / 1000;
      const rate = seconds > 0 ? p.done / seconds : 0;
      const eta = rate > 0 && p.done > 0 ? `  ETA ${fmt((p.total - p.done) / rate)} s` : "";
      const line = p.message && p.done === 0 ? p.message : `${fmt(p.done)} / ${fmt(p.total)} ${unit}  ${fmt(rate)} ${unit}/s${eta}`;
      process.stderr.write(tty ? `\r\x1b[K${line}` : `${line}\n`);
      shown = true;
    },
    done() {
      if (tty && shown) process.stderr.write("\r\x1b[K");
    },
  };
}

/** Ctrl-C cancels the work (which then removes its temp output) instead of killing the process mid-write. */
export function cancelOnSigint(): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onSigint = () => controller.abort(new AppFailure("CONVERT_CANCELLED", "Cancelled (interrupted)"));
  process.once("SIGINT", onSigint);
  return { signal: controller.signal, dispose: () => process.off("SIGINT", onSigint) };
}

export function peakRssMb(): number {
  return process.resourceUsage().maxRSS / 1024;
}

export async function convertCommand(argv: string[]): Promise<void> {
  const args = parseArgs(argv, ["force", "stats", "json", "keep-other-as-layer", "split-feature-types", "strict"]);
  const named = flagList(args, "sample", "NAME=PATH");
  if (args.flags.get("samples") === true) throw new UsageError("--samples needs a sample sheet (CSV or TSV with sample and path columns)");
  const sheet = flagString(args, "samples");
  let inputs: ConvertInput[];
  if (named.length || sheet) {
    if (args.positionals.length !== 1) throw new UsageError("with --sample or --samples, give only the OUTPUT path besides them");
    inputs = [...(sheet ? await readSampleSheet(sheet) : []), ...named.map(parseSampleFlag)];
  } else {
    if (args.positionals.length < 2) throw new UsageError("convert needs an INPUT and an OUTPUT path");
    inputs = args.positionals.slice(0, -1).map((p) => ({ path: p }));
  }
  const output = args.positionals[args.positionals.length - 1];
  if (args.flags.get("matrix") === true) throw new UsageError("--matrix needs X, raw or layer:NAME");
  if (args.flags.get("feature-types") === true) throw new UsageError('--feature-types needs "all" or a comma-separated list of feature types');
  const featureTypes = flagString(args, "feature-types")
    ?.split(",")
    .map((t) => t.trim())
    .filter(Boolean);
  // Lance's own temp folders go into a folder of this process, which the next run removes if this one is killed.
  claimProcessTempDir();
  const printer = progressPrinter("cells");
  const cancel = cancelOnSigint();
  try {
    const summary = await convertInputs(inputs, output, {
      force: args.flags.has("force"),
      matrix: flagString(args, "matrix"),
      keepOtherAsLayer: args.flags.has("keep-other-as-layer"),
      featureTypes,
      splitFeatureTypes: args.flags.has("split-feature-types"),
      strict: args.flags.has("strict"),
      chunkCells: flagInt(args, "chunk-cells"),
      signal: cancel.signal,
      onProgress: (p) => printer.update(p),
    });
    printer.done();
    for (const n of summary.notes) process.stderr.write(`note: ${n}\n`);
    for (const w of summary.warnings) process.stderr.write(`warning: ${w}\n`);
    const rss = peakRssMb();
    if (args.flags.has("json")) {
      console.log(JSON.stringify({ ...summary, peakRssMb: rss }));
      return;
    }
    const stats = args.flags.has("stats") ? `, peak RSS ${fmt(rss)} MB` : "";
    console.log(
      `Converted ${fmt(summary.nCells)} cells × ${fmt(summary.nGenes)} genes (${fmt(summary.nnz)} values, ${summary.valueType}) from ${summary.samples ? `${summary.samples.length} inputs` : summary.format}${summary.format === "h5ad" && !summary.samples ? ` ${summary.sourceMatrix}` : ""} to ${summary.output} in ${(summary.elapsedMs / 1000).toFixed(2)} s (${fmt(summary.cellsPerSecond)} cells/s${stats})`,
    );
    for (const s of summary.samples ?? []) console.log(`  sample ${s.sample}: ${fmt(s.nCells)} cells from ${s.path} (${s.format})`);
    for (const s of summary.siblings ?? []) {
      console.log(
        `Wrote ${s.featureTypes.join(", ")}: ${fmt(s.nCells)} cells × ${fmt(s.nGenes)} features (${fmt(s.nnz)} values, ${s.valueType}) to ${s.output}`,
      );
    }
    const left = summary.featureTypes?.leftOut ?? [];
    if (left.length && !summary.siblings?.length) {
      console.log(
        `Left out ${left.map((t) => `${fmt(t.count)} ${t.type}`).join(", ")} features (only ${summary.featureTypes!.kept.join(", ")} kept): --feature-types all keeps them, --split-feature-types writes them beside ${summary.output}`,
      );
    }
  } finally {
    printer.done();
    cancel.dispose();
  }
}
