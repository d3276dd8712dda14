/** A whole run as it is saved: the measurements of every source plus when, where and with what it ran. */
import type { BenchOptions, BenchRun } from "../../../shared/ipc/contract";
import { locate } from "../datasets/uri";
import { machineInfo } from "./machine";
import { runSources, type RunContext, type RunDeps } from "./run";

export async function benchRun(runId: string, o: BenchOptions, appVersion: string, deps: RunDeps, ctx: RunContext): Promise<BenchRun> {
  const startedAt = Date.now();
  const { results, cancelled } = await runSources(o, deps, ctx);
  return {
    runId,
    startedAt,
    endedAt: Date.now(),
    appVersion,
    machine: machineInfo(),
    dataset: locate(o.uris[0]).name,
    options: o,
    results,
    cancelled,
  };
}
