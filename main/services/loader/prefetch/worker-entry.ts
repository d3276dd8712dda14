/**
 * A prefetcher worker thread (bundled as dist/main/loader-worker.mjs): opens its own connection to the expression
 * table, then for each step it is sent reads the blocks, checks the cells, shuffles, cuts, tokenizes and posts the
 * batch parts back with their buffers transferred. Reads of a queued step start as soon as it arrives, so Lance
 * reads the next step while this thread tokenizes the current one; results go back in arrival order.
 */
import { parentPort, workerData } from "node:worker_threads";
import { isAppFailure, type AppError } from "../../../../shared/result";
import { lanceTableFailure } from "../../datasets/lance-errors";
import { openLanceTable } from "../../datasets/lance-table";
import { toAppError } from "../../errors";
import { createTokenizer } from "../tokenizer";
import type { StepTask, WorkerConfig, WorkerReply } from "./protocol";
import { partBuffers, stepBatchParts } from "./step-batches";
import { readStep } from "./step-reader";

const port = parentPort;
if (!port) throw new Error("loader-worker must run in a worker thread");
const config = workerData as WorkerConfig;
const tokenizer = config.tokenizer === "raw" ? null : createTokenizer(config.tokenizer);

function named(e: unknown): AppError {
  if (isAppFailure(e)) return e.appError;
  return toAppError(lanceTableFailure(e, { table: "expression", tablePath: config.tablePath }) ?? e);
}

const opened = (async () => {
  const o = await openLanceTable(config.tablePath, config.storageOptions);
  if (config.version !== undefined) await o.table.checkout(config.version);
  return o;
})();
opened.catch(() => undefined);

let chain: Promise<void> = Promise.resolve();
let closing = false;

/**
 * Closing: let the reads in flight finish (skipping their tokenizing), close the table, then let the thread end
 * on its own. Terminating a worker while Lance is inside a read crashes the whole process (abort / segfault).
 */
function close(): void {
  closing = true;
  chain = chain.then(async () => {
    const o = await opened.catch(() => null);
    o?.table.close();
    o?.db.close();
    port?.close();
  });
}

function run(task: StepTask): void {
  const read = opened.then(async ({ table }) => {
    const started = performance.now();
    const rows = await readStep(table, task);
    return { rows, readMs: performance.now() - started };
  });
  read.catch(() => undefined); // handled below, in order; this keeps an early failure from counting as unhandled
  chain = chain.then(async () => {
    try {
      const { rows, readMs } = await read;
      if (closing) return;
      const work = performance.now();
      const parts = stepBatchParts(rows, task, config.batchSize, tokenizer, config.keepCsr);
      const reply: WorkerReply = { t: "step", seq: task.seq, parts, rows: rows.rows, readMs, workMs: performance.now() - work };
      port?.postMessage(reply, partBuffers(parts));
    } catch (e) {
      if (!closing) port?.postMessage({ t: "error", seq: task.seq, error: named(e) } satisfies WorkerReply);
    }
  });
}

port.on("message", (m: StepTask | { t: "close" }) => {
  if (m.t === "close") close();
  else if (!closing) run(m);
});
