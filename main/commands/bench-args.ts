/** `slaf-workbench bench` arguments: every flag checked and named when wrong, options as the panel sends them. */
import type { BenchOptions, BenchReader } from "../../shared/ipc/contract";
import { BENCH_ANNOUNCEMENT_PRESET } from "../../shared/ipc/contract";
import { MAX_BENCH_SOURCES } from "../services/bench/options";
import { checkKnownFlags, flagChoice, flagIntInRange, flagValue, parseArgs, UsageError } from "./args";

export const BENCH_USAGE = `slaf-workbench bench DATASET... [--table cells|expression] [--columns A,B] [--batches N] [--batch-size 256] [--seconds S] [--cold] [--repeat N] [--reader scan|raw|geneformer|scgpt] [--concurrency C] [--format table|json] [--offline] [--no-save]
      The same streaming read of each DATASET (a folder, hf://datasets/OWNER/REPO[/PATH][@REV] or s3://BUCKET/PREFIX: the
      same dataset at several locations), one after the other, with the gateway's upstream requests and bytes per source.
      Defaults: the announcement's shape, ${BENCH_ANNOUNCEMENT_PRESET.batches?.toLocaleString("en-US")} batches of ${BENCH_ANNOUNCEMENT_PRESET.batchSize} rows of the cells table, plain scan, 1 reader, warm, once
      (--seconds alone: no batch limit). --cold bypasses the cache of remote sources (a local folder is read as it is).
      --reader raw|geneformer|scgpt drains the dataloader's prefetcher over expression (--concurrency worker threads,
      --batch-size cells). Runs are saved in the app's history unless --no-save.
      --format json prints one document {"runs": [{"uri", "source", "table", "rows", "bytes", "seconds", "mib_per_s",
      "rows_per_s", "ttfb_ms", "upstream_requests", "cache_hits", ...}, ...]} (one entry per DATASET, the median of its repeats).`;

export type BenchFormat = "table" | "json";

export interface BenchArgs {
  options: BenchOptions;
  format: BenchFormat;
  offline: boolean;
  save: boolean;
}

const BOOLEAN_FLAGS = ["cold", "offline", "no-save"] as const;
const VALUE_FLAGS = ["table", "columns", "batches", "batch-size", "seconds", "repeat", "reader", "concurrency", "format"] as const;
const READERS: readonly BenchReader[] = ["scan", "raw", "geneformer", "scgpt"];

export function parseBenchArgs(argv: string[]): BenchArgs {
  const args = parseArgs(argv, BOOLEAN_FLAGS);
  checkKnownFlags(args, VALUE_FLAGS, BOOLEAN_FLAGS);
  if (args.positionals.length === 0) throw new UsageError("bench needs at least one DATASET");
  if (args.positionals.length > MAX_BENCH_SOURCES)
    throw new UsageError(`bench measures at most ${MAX_BENCH_SOURCES} DATASETs at once, got ${args.positionals.length}`);
  const secondsText = flagValue(args, "seconds");
  let seconds: number | null = null;
  if (secondsText !== undefined) {
    seconds = Number(secondsText);
    if (!Number.isFinite(seconds) || seconds < 0.1 || seconds > 86_400)
      throw new UsageError(`--seconds needs a number from 0.1 to 86400, got "${secondsText}"`);
  }
  const batches = flagIntInRange(args, "batches", 1, 100_000_000) ?? (seconds === null ? BENCH_ANNOUNCEMENT_PRESET.batches : null);
  const reader = flagChoice(args, "reader", READERS, "scan");
  const columnsText = flagValue(args, "columns");
  const columns = columnsText === undefined ? null : columnsText.split(",").map((c) => c.trim());
  if (columns?.some((c) => c === "")) throw new UsageError(`--columns needs column names separated by commas, got "${columnsText}"`);
  const options: BenchOptions = {
    uris: args.positionals,
    table: flagChoice(args, "table", ["cells", "expression"] as const, reader === "scan" ? "cells" : "expression"),
    columns,
    batchSize: flagIntInRange(args, "batch-size", 1, 1_000_000) ?? BENCH_ANNOUNCEMENT_PRESET.batchSize,
    batches,
    seconds,
    cold: args.flags.has("cold"),
    concurrency: flagIntInRange(args, "concurrency", 1, 64) ?? 1,
    reader,
    repeat: flagIntInRange(args, "repeat", 1, 100) ?? 1,
  };
  return {
    options,
    format: flagChoice<BenchFormat>(args, "format", ["table", "json"], "table"),
    offline: args.flags.has("offline"),
    save: !args.flags.has("no-save"),
  };
}
