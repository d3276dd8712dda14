/**
 * Saved benchmark runs: one JSON file per run under `<user data>/bench-history/`, written atomically (temp file
 * + rename), so a run is whole or absent. Listing skips files that are damaged or not runs (never fails on
 * them); reading one names it.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import type { BenchRun, BenchRunSummary } from "../../../shared/ipc/contract";
import { fail } from "../errors";

const RUN_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** A new run id: sortable by start time, unique within a millisecond. */
export function newRunId(now = new Date()): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "");
  return `run-${stamp}-${randomBytes(4).toString("hex")}`;
}

function isMeasurement(v: unknown): boolean {
  const m = v as Record<string, unknown> | null;
  return typeof m === "object" && m !== null && ["rows", "bytes", "seconds", "mibPerSecond"].every((k) => typeof m[k] === "number");
}

/** Enough of a BenchRun's shape that the panel and the export can use it without checking again. */
export function isBenchRun(v: unknown): v is BenchRun {
  const r = v as Partial<BenchRun> | null;
  return (
    typeof r === "object" &&
    r !== null &&
    typeof r.runId === "string" &&
    RUN_ID.test(r.runId) &&
    typeof r.startedAt === "number" &&
    typeof r.endedAt === "number" &&
    typeof r.dataset === "string" &&
    typeof r.cancelled === "boolean" &&
    typeof r.options === "object" &&
    r.options !== null &&
    Array.isArray(r.options.uris) &&
    Array.isArray(r.results) &&
    r.results.every(
      (s) =>
        typeof s?.uri === "string" && typeof s.source === "string" && isMeasurement(s.median) && Array.isArray(s.repeats) && s.repeats.every(isMeasurement),
    )
  );
}

export function summarize(run: BenchRun): BenchRunSummary {
  return {
    runId: run.runId,
    startedAt: run.startedAt,
    dataset: run.dataset,
    table: run.options.table,
    reader: run.options.reader,
    cold: run.options.cold,
    sources: run.results.map((s) => ({ uri: s.uri, source: s.source, mibPerSecond: s.error || s.repeats.length === 0 ? null : s.median.mibPerSecond })),
    cancelled: run.cancelled,
  };
}

export class BenchHistory {
  constructor(readonly dir: string) {}

  private file(runId: string): string {
    if (!RUN_ID.test(runId)) fail("BENCH_RUN_NOT_FOUND", `No benchmark run ${JSON.stringify(runId)}`);
    return path.join(this.dir, `${runId}.json`);
  }

  async save(run: BenchRun): Promise<void> {
    const file = this.file(run.runId);
    await fs.mkdir(this.dir, { recursive: true });
    const temp = path.join(this.dir, `.${run.runId}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
    try {
      await fs.writeFile(temp, `${JSON.stringify(run, null, 1)}\n`, { flag: "wx", mode: 0o644 });
      await fs.rename(temp, file);
    } finally {
      await fs.rm(temp, { force: true });
    }
  }

  /** A run, or BENCH_RUN_NOT_FOUND (also for a damaged file, said so). */
  async get(runId: string): Promise<BenchRun> {
    const file = this.file(runId);
    let text: string;
    try {
      text = await fs.readFile(file, "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") fail("BENCH_RUN_NOT_FOUND", `No benchmark run ${runId} in ${this.dir}`);
      throw e;
    }
    let run: unknown;
    try {
      run = JSON.parse(text);
    } catch {
      run = null;
    }
    if (!isBenchRun(run) || run.runId !== runId)
      fail("BENCH_RUN_NOT_FOUND", `The saved benchmark run ${runId} is damaged (${file}); remove it`, { path: file });
    return run;
  }

  /** Every readable run, newest first; damaged or foreign files are skipped. */
  async list(): Promise<BenchRunSummary[]> {
    const names = await fs.readdir(this.dir).catch((e: NodeJS.ErrnoException) => {
      if (e.code === "ENOENT") return [] as string[];
      throw e;
    });
    const runs: BenchRunSummary[] = [];
    for (const name of names) {
      if (!name.endsWith(".json") || name.startsWith(".")) continue;
      const run = await this.get(name.slice(0, -".json".length)).catch(() => null);
      if (run) runs.push(summarize(run));
    }
    return runs.sort((a, b) => b.startedAt - a.startedAt || (a.runId < b.runId ? 1 : -1));
  }

  async remove(runId: string): Promise<void> {
    const file = this.file(runId);
    try {
      await fs.unlink(file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") fail("BENCH_RUN_NOT_FOUND", `No benchmark run ${runId} in ${this.dir}`);
      throw e;
    }
  }
}
