/**
 * The query scan worker (bundled as dist/main/query-scan-worker.mjs): Lance scans and decodes fixed-width columns,
 * applies the id filter and copies the kept rows into arrays it transfers to the main thread, which appends them
 * to DuckDB meanwhile. One scan at a time; the worker stays for the next. Protocol: scan-workers.ts.
 */
import type * as lancedb from "@lancedb/lancedb";
import { parentPort, type MessagePort } from "node:worker_threads";
import { isAppFailure } from "../../../shared/result";
import { openLanceTable } from "../datasets/lance-table";
import { lanceBatches, readAhead, scannedBatches } from "./flat-scan";
import type { ScanReply, ScanRequest } from "./scan-workers";
import { bump, STREAM_REPLIES, STREAM_WORKER_GONE } from "./stream-counter";

const parent = parentPort;
if (!parent) throw new Error("query-scan-worker must run in a worker thread");

/** Open tables by path and version (a worker serves many scans of the same tables). */
const tables = new Map<string, Promise<lancedb.Table>>();

function table(req: ScanRequest): Promise<lancedb.Table> {
  const key = `${req.tablePath}@${req.version}`;
  let t = tables.get(key);
  if (!t) {
    t = (async () => {
      const { table } = await openLanceTable(req.tablePath);
      await table.checkout(req.version);
      return table;
    })();
    tables.set(key, t);
    t.catch(() => tables.delete(key));
  }
  return t;
}

let running: Promise<void> = Promise.resolve();
parent.on("message", (req: ScanRequest | { t: "close" }) => {
  if ("t" in req) void closeWorker();
  else running = scan(req);
});

/**
 * Ends the thread from inside: the scan under way (already cancelled) finishes its read, the tables close, the
 * port closes and the thread ends on its own. Terminating a thread inside a Lance read crashes the process.
 */
async function closeWorker(): Promise<void> {
  await running.catch(() => undefined);
  for (const t of tables.values()) (await t.catch(() => null))?.close();
  tables.clear();
  parent?.close();
}

/** The counters of streamed scans under way (scan-stream.ts), told when this thread ends. */
const streams = new Set<Int32Array>();
process.on("exit", () => {
  for (const counter of streams) bump(counter, STREAM_WORKER_GONE);
});

async function scan(req: ScanRequest): Promise<void> {
  const port: MessagePort = req.port;
  const counter = req.notify ? new Int32Array(req.notify) : null;
  if (counter) streams.add(counter);
  // A streamed scan's reader waits on the counter (it cannot await while DuckDB waits for a chunk): bump it after each reply.
  const send = (r: ScanReply, transfer: ArrayBuffer[] = []) => {
    port.postMessage(r, transfer);
    if (counter) bump(counter, STREAM_REPLIES);
  };
  let acked = 0;
  let cancelled = false;
  let wake: (() => void) | null = null;
  port.on("message", (m: number | "cancel") => {
    if (m === "cancel") cancelled = true;
    else acked = m;
    const w = wake;
    wake = null;
    w?.();
  });
  try {
    let sent = 0;
    for await (const batch of scannedBatches(readAhead(lanceBatches(await table(req), req.spec)), req.spec, true)) {
      if (cancelled) break;
      const transfer = batch.columns.flatMap((c) => [c.values.buffer, ...(c.validity ? [c.validity.buffer] : [])]) as ArrayBuffer[];
      send({ t: "batch", batch }, [...new Set(transfer)]);
      sent++;
      // Double-buffered: at most `maxInFlight` batches wait for the main thread.
      while (!cancelled && sent - acked >= req.maxInFlight) await new Promise<void>((r) => (wake = r));
    }
    send({ t: "end" });
  } catch (e) {
    const appError = isAppFailure(e) ? e.appError : undefined;
    send({ t: "error", message: e instanceof Error ? e.message : String(e), code: (e as NodeJS.ErrnoException | null)?.code, appError });
  } finally {
    if (counter) streams.delete(counter);
    port.close();
  }
}
