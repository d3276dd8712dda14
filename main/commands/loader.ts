/**
 * `slaf-workbench loader DATASET ...`: the dataloader preview on the command line. The seeded prefetcher (worker
 * threads) feeds batches exactly as the app's preview gets them; `--format json` prints them as SLAF's batch
 * dicts, `--format table` summarises them with gene symbols, `--bench SECONDS` measures throughput.
 */
import { AppFailure } from "../../shared/result";
import { DatasetService } from "../services/datasets/service";
import { datasetArgument } from "../services/datasets/uri";
import { batchJson } from "../services/loader/export-batch";
import { readGeneMedians } from "../services/loader/gene-medians";
import { geneSymbols } from "../services/loader/gene-symbols";
import { createPrefetcher } from "../services/loader/prefetch/prefetcher";
import { expressionSource } from "../services/loader/prefetch/source";
import type { Prefetcher } from "../services/loader/prefetch/types";
import { sequenceLength, validateOptions, type TokenizerOptions } from "../services/loader/tokens";
import { loaderWorkerPath } from "../services/resources";
import { SourcesService } from "../services/sources/service";
import { cliS3Access, cliSettings, cliSources } from "./cli-settings";
import { parseArgs } from "./args";
import { LOADER_USAGE, parseLoaderArgs, type LoaderArgs } from "./loader-args";
import { measurePrefetcher } from "./loader-measure";
import { describeRun, renderBatch, type GeneNames } from "./loader-table";

export { LOADER_USAGE };

export interface LoaderIo {
  out(text: string): void;
}

export function tokenizerOptions(a: LoaderArgs, geneMedians: Float64Array | null = null): TokenizerOptions | "raw" {
  const o = a.options;
  if (o.tokenizer === "raw") return "raw";
  return validateOptions({
    tokenizer: o.tokenizer,
    mode: o.mode,
    maxGenes: o.maxGenes,
    vocabSize: o.vocabSize,
    nExpressionBins: o.nExpressionBins,
    ...(o.normalizeTotal !== null ? { normalizeTotal: o.normalizeTotal } : {}),
    ...(o.log1p ? { log1p: true } : {}),
    ...(geneMedians ? { geneMedians } : {}),
  });
}

export async function loaderCommand(argv: string[], io: LoaderIo = { out: (t) => void process.stdout.write(t) }): Promise<void> {
  if (argv.includes("--help") || argv.includes("-h")) {
    io.out(`Usage: ${LOADER_USAGE}\n`);
    return;
  }
  const a = parseLoaderArgs(argv);
  // Checked before the dataset opens; the medians (if any) join once they are read.
  const checked = tokenizerOptions(a);
  const seqLength = checked === "raw" ? 0 : sequenceLength(checked);
  const { settings, userDataDir } = await cliSettings(parseArgs([]));
  const sources = new SourcesService({ ...cliSources(settings, userDataDir), offline: a.offline });
  const datasets = new DatasetService({ gateway: () => sources.gateway(), s3Access: () => cliS3Access(settings, userDataDir) });
  const controller = new AbortController();
  const onSigint = () => controller.abort(new AppFailure("LOADER_CANCELLED", "Cancelled (interrupted)"));
  process.once("SIGINT", onSigint);
  let prefetcher: Prefetcher | null = null;
  try {
    const ds = await datasets.acquire(datasetArgument(a.dataset));
    const medians = a.options.geneMediansColumn !== null ? await readGeneMedians(ds, a.options.geneMediansColumn) : null;
    const tokenizer = tokenizerOptions(a, medians);
    const source = await expressionSource(ds);
    prefetcher = await createPrefetcher({
      source,
      tokenizer,
      batchSize: a.options.batchSize,
      seed: a.options.seed,
      shuffle: a.options.shuffle,
      epochs: a.options.epochs,
      workers: a.workers,
      workerFile: loaderWorkerPath(),
      signal: controller.signal,
    });
    if (a.bench !== null) {
      const m = await measurePrefetcher(prefetcher, { seconds: a.bench });
      if (a.format === "json") {
        io.out(`${JSON.stringify({ ...m, layout: prefetcher.layout, seqLength })}\n`);
        return;
      }
      const f = (n: number) => Math.round(n).toLocaleString("en-US");
      io.out(
        [
          describeRun(ds.summary.name, prefetcher.layout, a.options, seqLength),
          `first batch after ${f(m.firstBatchMs)} ms; then ${m.seconds.toFixed(2)} s${m.ended ? " (the run ended first)" : ""}:`,
          `  cells/s   ${f(m.cellsPerSecond)}`,
          ...(seqLength > 0 ? [`  tokens/s  ${f(m.tokensPerSecond)}  (cells × sequence length ${seqLength}, as SLAF counts them)`] : []),
          `  batches   ${f(m.batches)} (${f(m.cells)} cells, ${f(m.values)} expression values)`,
          "",
        ].join("\n"),
      );
      return;
    }
    const symbols = a.format === "table" ? await geneSymbols(ds) : null;
    const names: GeneNames | null = symbols ? (id) => symbols.name(id) : null;
    if (names) io.out(`${describeRun(ds.summary.name, prefetcher.layout, a.options, seqLength)}\n\n`);
    else io.out('{"batches":[');
    let produced = 0;
    for (; produced < a.batches; produced++) {
      const b = await prefetcher.next();
      if (!b) break;
      if (names) io.out(`${renderBatch(b, names)}\n\n`);
      else io.out(`${produced > 0 ? "," : ""}\n${batchJson(b.tokens ? { tokens: b.tokens } : { raw: b.raw! })}`);
    }
    if (names) {
      if (produced < a.batches) io.out(`The run ended after ${produced} batches (${a.options.epochs} epoch${a.options.epochs === 1 ? "" : "s"}).\n`);
    } else io.out("\n]}\n");
  } finally {
    process.off("SIGINT", onSigint);
    await prefetcher?.close();
    await datasets.closeAll();
  }
}
