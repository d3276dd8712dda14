/** The benchmark panel's side of main (issue 11). First version: the namespace is wired; runs come next. */
import type { BenchApi, BenchExportFormat, BenchOptions, BenchRun, BenchRunSummary } from "../../../shared/ipc/contract";
import { fail, guard } from "../errors";

export class BenchService implements BenchApi {
  start(_req: { options: BenchOptions }) {
    return guard(async (): Promise<{ jobId: string }> => fail("UNSUPPORTED_IN_MODE", "Benchmarks are not available yet"));
  }

  history() {
    return guard(async (): Promise<BenchRunSummary[]> => []);
  }

  get(req: { runId: string }) {
    return guard(async (): Promise<BenchRun> => fail("BENCH_RUN_NOT_FOUND", `No benchmark run ${req.runId}`));
  }

  remove(req: { runId: string }) {
    return guard(async (): Promise<null> => fail("BENCH_RUN_NOT_FOUND", `No benchmark run ${req.runId}`));
  }

  export(req: { runId: string; format: BenchExportFormat; path: string; overwrite?: boolean }) {
    return guard(async (): Promise<{ path: string; bytes: number }> => fail("BENCH_RUN_NOT_FOUND", `No benchmark run ${req.runId}`));
  }
}
