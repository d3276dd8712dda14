/**
 * `slaf-workbench bench DATASET...`: the benchmark panel's run on the command line, through the same gateway and
 * cache as the app (remote sources), printed as a table or the JSON document, and saved in the app's history.
 */
import { AppFailure } from "../../shared/result";
import { benchRun } from "../services/bench/bench-run";
import { benchDocument } from "../services/bench/export";
import { BenchHistory, newRunId } from "../services/bench/history";
import { checkBenchOptions } from "../services/bench/options";
import { claimProcessTempDir } from "../services/convert/stale";
import { benchHistoryDir } from "../services/bench/service";
import { datasetArgument } from "../services/datasets/uri";
import { loaderWorkerPath } from "../services/resources";
import { SourcesService } from "../services/sources/service";
import { parseArgs } from "./args";
import { BENCH_USAGE, parseBenchArgs } from "./bench-args";
import { renderBenchTable } from "./bench-table";
import { cliS3Access, cliSettings, cliSources } from "./cli-settings";
import { APP_VERSION } from "./version";

export { BENCH_USAGE };

export interface BenchIo {
  out(text: string): void;
  err(text: string): void;
}

const stdio: BenchIo = { out: (t) => void process.stdout.write(t), err: (t) => void process.stderr.write(t) };

/** Exit status: 0 when every source was measured, 1 when one failed or the run was interrupted. */
export async function benchCommand(argv: string[], io: BenchIo = stdio): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    io.out(`Usage: ${BENCH_USAGE}\n`);
    return 0;
  }
  const a = parseBenchArgs(argv);
  // Cold reads keep their scratch caches under the temp folder: this process's own, removed at exit.
  claimProcessTempDir();
  const options = checkBenchOptions({ ...a.options, uris: a.options.uris.map(datasetArgument) });
  const { settings, userDataDir } = await cliSettings(parseArgs([]));
  const sources = new SourcesService({ ...cliSources(settings, userDataDir), offline: a.offline });
  const controller = new AbortController();
  const onSigint = () => controller.abort(new AppFailure("BENCH_CANCELLED", "Cancelled (interrupted)"));
  process.once("SIGINT", onSigint);
  try {
    const run = await benchRun(
      newRunId(),
      options,
      APP_VERSION,
      {
        gateway: () => sources.gateway(),
        s3Access: () => cliS3Access(settings, userDataDir),
        isOffline: () => sources.isOffline(),
        workerFile: loaderWorkerPath(),
      },
      { signal: controller.signal, progress: () => undefined },
    );
    if (a.save) await new BenchHistory(benchHistoryDir(userDataDir)).save(run);
    io.out(a.format === "json" ? `${JSON.stringify(benchDocument(run))}\n` : renderBenchTable(run));
    const failed = run.results.filter((s) => s.error);
    if (a.format === "json") for (const s of failed) io.err(`${s.uri}: ${s.error!.code}: ${s.error!.message}\n`);
    if (run.cancelled) io.err("The benchmark was interrupted: the figures are of what was read until then.\n");
    return failed.length > 0 || run.cancelled ? 1 : 0;
  } finally {
    process.off("SIGINT", onSigint);
  }
}
