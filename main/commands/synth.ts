import { synthesize } from "../services/convert/synth";
import { flagInt, flagString, parseArgs, UsageError } from "./args";
import { cancelOnSigint, peakRssMb, progressPrinter } from "./convert";

export const SYNTH_USAGE = "slaf-workbench synth --from <pbmc3k dir | .h5ad> --cells N [--seed S] [--force] OUT.slaf|OUT.h5ad|OUT_mtx (a 10x MTX folder)";

export async function synthCommand(argv: string[]): Promise<void> {
  const args = parseArgs(argv, ["force"]);
  const from = flagString(args, "from");
  const cells = flagInt(args, "cells");
  if (!from || cells === undefined || args.positionals.length !== 1) throw new UsageError("synth needs --from, --cells and one OUT path");
  const printer = progressPrinter("cells");
  const cancel = cancelOnSigint();
  try {
    const r = await synthesize(from, args.positionals[0], {
      cells,
      seed: flagInt(args, "seed"),
      force: args.flags.has("force"),
      signal: cancel.signal,
      onProgress: (p) => printer.update(p),
    });
    printer.done();
    console.log(
      `Wrote ${r.nCells.toLocaleString("en-US")} resampled cells × ${r.nGenes.toLocaleString("en-US")} genes (${r.nnz.toLocaleString("en-US")} values) to ${r.output} in ${(r.elapsedMs / 1000).toFixed(2)} s (peak RSS ${Math.round(peakRssMb())} MB)`,
    );
  } finally {
    printer.done();
    cancel.dispose();
  }
}
