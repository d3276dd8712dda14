/** `slaf-workbench loader` arguments: every flag checked and named when wrong, options as the preview takes them. */
import { LOADER_DEFAULTS, type LoaderMode, type LoaderOptions, type LoaderTokenizerName } from "../../shared/ipc/types/loader";
import { GENE_OFFSET } from "../services/loader/tokens";
import { checkKnownFlags, flagChoice, flagIntInRange, flagValue, parseArgs, UsageError, type ParsedArgs } from "./args";

export const LOADER_USAGE = `slaf-workbench loader DATASET|hf://datasets/OWNER/REPO[/PATH][@REV]|s3://BUCKET/PREFIX [--tokenizer geneformer|scgpt|raw] [--max-genes N] [--batch-size B] [--seed S] [--batches K] [--mode slafdb-0.5.2|canonical] [--vocab-size V] [--n-expression-bins NB] [--no-shuffle] [--epochs E] [--gene-medians-column NAME] [--workers W] [--format table|json] [--bench SECONDS] [--offline]
      Defaults: geneformer, canonical, max genes ${LOADER_DEFAULTS.maxGenes}, batch ${LOADER_DEFAULTS.batchSize}, seed ${LOADER_DEFAULTS.seed}, vocab ${LOADER_DEFAULTS.vocabSize}, ${LOADER_DEFAULTS.nExpressionBins} bins, 2 batches, shuffled, 1 epoch.
      --format json prints one document {"batches": [batch, ...]} with the first K batches of the seeded run:
        tokenized: {"cell_ids": [cell_integer_id, ...], "input_ids": [[...], ...], "attention_mask": [[true, ...], ...],
                    "values": [[...], ...]}   (values: scGPT only, SLAF's value tokens = vocab_size + bin, PAD elsewhere)
        raw (COO, SLAF's raw-mode x by column): {"cell_ids": [...],
                    "x": {"cell_integer_id": [...], "gene_integer_id": [...], "value": [...]}}   (one entry per stored value)
      --gene-medians-column NAME (canonical Geneformer): a numeric genes column with each gene's nonzero median;
        genes rank by value / median and genes without a positive median are dropped (SLAF 0.5.2 has no medians).
      --bench SECONDS drains the loader flat out for SECONDS after its first batch (as many epochs as that takes
        unless --epochs) and prints cells/s, tokens/s (cells × sequence length, as SLAF counts them) and batches;
        with --format json as one JSON object.`;

/** Epochs for `--bench` without `--epochs` (the schema's maximum). */
export const BENCH_EPOCHS = 10_000;

export type LoaderFormat = "table" | "json";

export interface LoaderArgs {
  dataset: string;
  options: LoaderOptions;
  batches: number;
  workers: number | undefined;
  format: LoaderFormat;
  /** Seconds to run flat out, or null for batches. */
  bench: number | null;
  offline: boolean;
}

const TOKENIZERS = ["geneformer", "scgpt", "raw"] as const;
const MODES = ["slafdb-0.5.2", "canonical"] as const;
const FORMATS = ["table", "json"] as const;
const BOOLEAN_FLAGS = ["no-shuffle", "offline"] as const;
const VALUE_FLAGS = [
  "tokenizer",
  "max-genes",
  "batch-size",
  "seed",
  "batches",
  "mode",
  "vocab-size",
  "n-expression-bins",
  "epochs",
  "gene-medians-column",
  "workers",
  "format",
  "bench",
] as const;

function integer(args: ParsedArgs, name: string, min: number, max: number, fallback: number): number {
  return flagIntInRange(args, name, min, max) ?? fallback;
}

function medians(args: ParsedArgs, tokenizer: LoaderTokenizerName, mode: LoaderMode): string | null {
  const column = flagValue(args, "gene-medians-column");
  if (column === undefined) return null;
  if (column.trim() === "") throw new UsageError("--gene-medians-column needs the name of a genes column");
  if (tokenizer !== "geneformer" || mode !== "canonical") {
    throw new UsageError(`--gene-medians-column applies to --tokenizer geneformer --mode canonical only (SLAF 0.5.2 has no medians), got ${tokenizer} ${mode}`);
  }
  return column;
}

export function parseLoaderArgs(argv: string[]): LoaderArgs {
  const args = parseArgs(argv, BOOLEAN_FLAGS);
  checkKnownFlags(args, VALUE_FLAGS, BOOLEAN_FLAGS);
  if (args.positionals.length !== 1) {
    throw new UsageError(
      args.positionals.length === 0 ? "loader needs a DATASET" : `loader takes one DATASET, got ${args.positionals.length}: ${args.positionals.join(" ")}`,
    );
  }
  const tokenizer = flagChoice<LoaderTokenizerName>(args, "tokenizer", TOKENIZERS, LOADER_DEFAULTS.tokenizer);
  const mode = flagChoice<LoaderMode>(args, "mode", MODES, LOADER_DEFAULTS.mode);
  // Canonical Geneformer keeps CLS and SEP in every row, so it needs room for both (the tokenizer's own rule).
  const minGenes = tokenizer === "geneformer" && mode === "canonical" ? 2 : 1;
  const options: LoaderOptions = {
    ...LOADER_DEFAULTS,
    tokenizer,
    mode,
    maxGenes: integer(args, "max-genes", minGenes, 100_000, LOADER_DEFAULTS.maxGenes),
    // Gene tokens start at GENE_OFFSET: a vocabulary must hold at least one gene.
    vocabSize: integer(args, "vocab-size", GENE_OFFSET + 1, 100_000_000, LOADER_DEFAULTS.vocabSize),
    nExpressionBins: integer(args, "n-expression-bins", 1, 10_000, LOADER_DEFAULTS.nExpressionBins),
    batchSize: integer(args, "batch-size", 1, 8192, LOADER_DEFAULTS.batchSize),
    seed: integer(args, "seed", 0, 2 ** 32 - 1, LOADER_DEFAULTS.seed),
    shuffle: !args.flags.has("no-shuffle"),
    epochs: integer(args, "epochs", 1, 10_000, LOADER_DEFAULTS.epochs),
    geneMediansColumn: medians(args, tokenizer, mode),
  };
  const benchText = flagValue(args, "bench");
  let bench: number | null = null;
  if (benchText !== undefined) {
    bench = Number(benchText);
    if (!Number.isFinite(bench) || bench <= 0 || bench > 86_400)
      throw new UsageError(`--bench needs a number of seconds above 0 (at most 86400), got "${benchText}"`);
    if (args.flags.has("batches")) throw new UsageError("--batches and --bench exclude each other (--bench runs for SECONDS)");
    // Without --epochs the clock, not the data, ends a benchmark.
    if (!args.flags.has("epochs")) options.epochs = BENCH_EPOCHS;
  }
  return {
    dataset: args.positionals[0],
    options,
    batches: integer(args, "batches", 1, 1_000_000, 2),
    workers: args.flags.has("workers") ? integer(args, "workers", 1, 256, 1) : undefined,
    format: flagChoice<LoaderFormat>(args, "format", FORMATS, "table"),
    bench,
    offline: args.flags.has("offline"),
  };
}
