/** Benchmark runs through the app's services, for the bench tests. */
import * as lancedb from "@lancedb/lancedb";
import type { BenchOptions, BenchRun, JobEvent } from "../../../shared/ipc/contract";
import type { Services } from "../../../main/services/index";
import { unwrap } from "../../fixtures/result";

export function benchOptions(o: Partial<BenchOptions> & { uris: string[] }): BenchOptions {
  return { table: "cells", columns: null, batchSize: 64, batches: null, seconds: 600, cold: false, concurrency: 1, reader: "scan", repeat: 1, ...o };
}

/** Starts a run and waits for its job to end. */
export async function runBench(services: Services, options: BenchOptions): Promise<{ event: JobEvent; runId: string; run: BenchRun }> {
  const { jobId, runId } = unwrap(await services.bench.start({ options }));
  const event = await endOf(services, jobId);
  if (event.state !== "done") throw new Error(`bench job ${event.state}: ${JSON.stringify(event.error)}`);
  return { event, runId, run: event.result as BenchRun };
}

export async function endOf(services: Services, jobId: string): Promise<JobEvent> {
  for (;;) {
    const event = unwrap(await services.api.jobs.wait({ jobId, timeoutMs: 5000 }));
    if (event.state !== "running") return event;
  }
}

export async function tableRows(root: string, table: string): Promise<number> {
  const db = await lancedb.connect(root);
  try {
    return await (await db.openTable(table)).countRows();
  } finally {
    db.close();
  }
}
