/**
 * The moments pass in worker threads (pass-worker-entry.ts), for local datasets when the worker is built: one
 * thread per part of the cells (pass-parts.ts), their moments added in part order. A pass over every row reads
 * each part from a row offset near its cells (part-rows.ts: ~1.5× less Lance work than a cell id filter in every
 * thread), others by `where`. Off the main thread, the pass's
 * garbage collection is that of a small heap (measured: the same pass in a process holding the app's services ran
 * ~4× more full collections and took ~1.5× as long).
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { Worker } from "node:worker_threads";
import { AppFailure, type AppError } from "../../../shared/result";
import { fail, throwIfAborted } from "../errors";
import { packageRoot } from "../resources";
import { CellsNotContiguous, type AccumulatedMoments } from "./moments-accumulator";
import type { ClassMoments, PassOptions } from "./moments-pass";
import { mergeParts, PARTS, partRange } from "./pass-parts";
import { seamsMeet, type Seam } from "./part-rows";

export interface PassRequest {
  tablePath: string;
  version: number;
  /** The part's cells [from, to) of cell_integer_id. */
  cells: [number, number];
  /** Read from a row offset (part-rows.ts; with no `where`), else by `where`. */
  byOffset: boolean;
  where?: string;
  classOf: Int32Array;
  nClasses: number;
  nGenes: number;
  divisors: Float64Array | null;
  fromRows: boolean;
  keepTotals: boolean;
  whole: boolean;
}

export type PassReply =
  | { t: "rows"; n: number }
  | { t: "done"; rows: number; moments: AccumulatedMoments; totals: Float64Array | null; seam: Seam | null }
  | { t: "cancelled" }
  /** Read by offset, the cell ids went down: the table is not stored by cell. */
  | { t: "unsorted" }
  | { t: "error"; kind: "notContiguous" | "outside" | "other"; message: string; appError?: AppError };

/** The bundled worker, or null when it is not built (then the pass runs on the main thread). */
export function passWorkerPath(): string | null {
  try {
    const file = path.join(packageRoot(), "dist", "main", "markers-pass-worker.mjs").replace(`app.asar${path.sep}`, `app.asar.unpacked${path.sep}`);
    return existsSync(file) ? file : null;
  } catch {
    return null;
  }
}

function partWhere(where: string | undefined, [from, to]: [number, number]): string {
  const range = `cell_integer_id >= ${from} AND cell_integer_id < ${to}`;
  return where ? `(${where}) AND (${range})` : range;
}

type Outcome = Extract<PassReply, { t: "done" | "cancelled" | "error" | "unsorted" }> | { t: "exit"; code: number };

/** One part in its own thread; settles once the thread has ended. */
function runPart(file: string, req: PassRequest, signal: AbortSignal, onRows: (n: number) => void): Promise<Outcome> {
  return new Promise((resolve) => {
    const worker = new Worker(file, { workerData: req });
    let outcome: Outcome | null = null;
    const cancel = () => worker.postMessage("cancel");
    if (signal.aborted) cancel();
    else signal.addEventListener("abort", cancel, { once: true });
    worker.on("message", (m: PassReply) => {
      if (m.t === "rows") onRows(m.n);
      else outcome = m;
    });
    worker.on("error", (e) => (outcome ??= { t: "error", kind: "other", message: e.message }));
    worker.on("exit", (code) => {
      signal.removeEventListener("abort", cancel);
      resolve(outcome ?? { t: "exit", code });
    });
  });
}

/**
 * The moments pass split over PARTS threads (same result shape as momentsPass); `totals` filled when given. A pass
 * over every row reads each part from a row offset; if the table turns out not to be stored by cell, it is read
 * again by `where` (the same doubles either way).
 */
export async function workerPass(
  file: string,
  base: Omit<PassRequest, "where" | "keepTotals" | "cells" | "byOffset">,
  totals: Float64Array | undefined,
  opts: PassOptions,
): Promise<ClassMoments> {
  if (opts.where === undefined) {
    const read = await partsPass(file, base, totals, opts, true);
    if (read) return read;
  }
  return (await partsPass(file, base, totals, opts, false))!;
}

/** The parts' pass read by offset or by `where`; null when the offsets' reads do not prove the table stored by cell. */
async function partsPass(
  file: string,
  base: Omit<PassRequest, "where" | "keepTotals" | "cells" | "byOffset">,
  totals: Float64Array | undefined,
  opts: PassOptions,
  byOffset: boolean,
): Promise<ClassMoments | null> {
  const signal = opts.signal ?? new AbortController().signal;
  const partRows = new Array<number>(PARTS).fill(0);
  const nCells = base.classOf.length;
  const ranges = Array.from({ length: PARTS }, (_, i) => partRange(nCells, i));
  // A failing part stops the others (each finishes its read first).
  const stop = new AbortController();
  const both = AbortSignal.any([signal, stop.signal]);
  const outcomes = await Promise.all(
    ranges.map(async (cells, i) => {
      const req: PassRequest = {
        ...base,
        cells,
        byOffset,
        where: byOffset ? undefined : partWhere(opts.where, cells),
        keepTotals: totals !== undefined,
      };
      const out = await runPart(file, req, both, (n) => {
        partRows[i] = n;
        opts.onRows?.(partRows.reduce((a, b) => a + b, 0));
      });
      if (out.t !== "done") stop.abort();
      return out;
    }),
  );
  throwIfAborted(signal, "MARKERS_CANCELLED");
  if (outcomes.some((o) => o.t === "unsorted")) return null;
  const failed = outcomes.find((o) => o.t === "error" || o.t === "exit");
  if (failed?.t === "error") {
    if (failed.kind === "notContiguous") throw new CellsNotContiguous();
    if (failed.kind === "outside") fail("MARKERS_INVALID", failed.message);
    if (failed.appError) throw new AppFailure(failed.appError.code, failed.appError.message, failed.appError);
    fail("INTERNAL", failed.message);
  }
  if (failed?.t === "exit") fail("INTERNAL", `The markers pass worker stopped unexpectedly (exit code ${failed.code})`);
  if (outcomes.some((o) => o.t !== "done")) fail("INTERNAL", "A markers pass worker stopped without its moments");
  const done = outcomes as Extract<Outcome, { t: "done" }>[];
  if (
    byOffset &&
    !seamsMeet(
      done.map((d) => d.seam!),
      ranges.map(([from]) => from),
    )
  )
    return null;
  const moments = mergeParts(done.map((d) => d.moments));
  const rows = done.reduce((n, d) => n + d.rows, 0);
  if (totals)
    done.forEach((d, i) => {
      const [from, to] = ranges[i];
      totals.set(d.totals!.subarray(from, to), from);
    });
  return { ...moments, nClasses: base.nClasses, nGenes: base.nGenes, rows };
}
