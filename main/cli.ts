/** `slaf-workbench` command line: one entry, one module per command. */
import { isAppFailure } from "../shared/result";
import { UsageError } from "./commands/args";
import { SERVE_USAGE, serveCommand } from "./commands/serve";
import { QUERY_USAGE, queryCommand } from "./commands/query";
import { CONVERT_USAGE, convertCommand } from "./commands/convert";
import { SYNTH_USAGE, synthCommand } from "./commands/synth";
import { CACHE_USAGE, cacheCommand } from "./commands/cache";
import { LOADER_USAGE, loaderCommand } from "./commands/loader";
import { BENCH_USAGE, benchCommand } from "./commands/bench";
import { MARKERS_USAGE, markersCommand } from "./commands/markers";

/** `run` resolves "running" for commands that keep serving, or an exit status; the others end the process with 0 when done. */
export type Command = { usage: string; summary: string; run: (argv: string[]) => Promise<void | number | "running"> };

const COMMANDS: Record<string, Command> = {
  serve: { usage: SERVE_USAGE, summary: "serve the app in a browser on 127.0.0.1 (token in the printed URL)", run: serveCommand },
  query: { usage: QUERY_USAGE, summary: "run SQL over a SLAF dataset's cells, genes, expression (and layers)", run: (argv) => queryCommand(argv) },
  convert: {
    usage: CONVERT_USAGE,
    summary: "convert .h5ad, .loom, 10x MTX folders or Cell Ranger .h5 files (one, or several samples into one atlas) into a SLAF dataset",
    run: convertCommand,
  },
  cache: { usage: CACHE_USAGE, summary: "the cache of remote datasets: list, pin for offline use, evict, clear, size cap", run: (argv) => cacheCommand(argv) },
  loader: {
    usage: LOADER_USAGE,
    summary: "tokenized (Geneformer, scGPT) or raw batches from the seeded prefetcher, as a table or JSON; --bench for throughput",
    run: (argv) => loaderCommand(argv),
  },
  bench: {
    usage: BENCH_USAGE,
    summary: "streaming throughput of a dataset at several locations (local, s3://, hf://): MiB/s, rows/s, upstream requests",
    run: (argv) => benchCommand(argv),
  },
  markers: {
    usage: MARKERS_USAGE,
    summary: "marker genes of a group of cells vs the rest or another group (scanpy's t-test numbers), as a table or JSON",
    run: (argv) => markersCommand(argv),
  },
  synth: { usage: SYNTH_USAGE, summary: "write N cells resampled from real ones (Poisson counts), as SLAF or .h5ad", run: synthCommand },
};

function help(): string {
  return ["Usage: slaf-workbench <command> [options]", "", ...Object.values(COMMANDS).map((c) => `  ${c.usage}\n      ${c.summary}`)].join("\n");
}

export async function main(argv: string[]): Promise<number | "running"> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    console.log(help());
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    console.error(`Unknown command "${name}".\n\n${help()}`);
    return 2;
  }
  try {
    return (await command.run(rest)) ?? 0;
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`${e.message}\nUsage: ${command.usage}`);
      return 2;
    }
    console.error(isAppFailure(e) ? `${e.appError.code}: ${e.appError.message}` : e instanceof Error ? e.message : String(e));
    return 1;
  }
}

const exitCode = await main(process.argv.slice(2));
// Native handles (Lance, DuckDB) can keep the loop alive after a one-shot command: end explicitly.
if (exitCode !== "running") process.stdout.write("", () => process.exit(exitCode));
