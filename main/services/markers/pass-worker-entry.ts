/**
 * The markers pass worker (bundled as dist/main/markers-pass-worker.mjs): one moments pass over a row range of
 * `expression` (pass-workers.ts), in a thread of its own. It opens its own table, scans and accumulates, posts
 * the moments (arrays transferred), closes the table and the port, and ends. "cancel" stops it between batches:
 * the read under way finishes first (a thread terminated inside a Lance read crashes the process).
 */
import { parentPort, workerData } from "node:worker_threads";
import { isAppFailure } from "../../../shared/result";
import { openLanceTable } from "../datasets/lance-table";
import { CellsNotContiguous, MomentsAccumulator, RowOutsideTables } from "./moments-accumulator";
import { scanExpression } from "./moments-pass";
import type { PassReply, PassRequest } from "./pass-workers";

const parent = parentPort;
if (!parent) throw new Error("markers-pass-worker must run in a worker thread");
const port = parent;

const req = workerData as PassRequest;
const abort = new AbortController();
port.on("message", (m: unknown) => {
  if (m === "cancel") abort.abort();
});

function send(reply: PassReply, transfer: ArrayBuffer[] = []): void {
  port.postMessage(reply, transfer);
}

async function run(): Promise<void> {
  let opened: Awaited<ReturnType<typeof openLanceTable>> | null = null;
  try {
    opened = await openLanceTable(req.tablePath);
    await opened.table.checkout(req.version);
    const acc = new MomentsAccumulator({
      classOf: req.classOf,
      nClasses: req.nClasses,
      nGenes: req.nGenes,
      divisors: req.divisors,
      fromRows: req.fromRows,
      totals: req.keepTotals ? new Float64Array(req.classOf.length) : null,
      whole: req.whole,
    });
    const rows = await scanExpression(opened.table, { where: req.where, signal: abort.signal, onRows: (n) => send({ t: "rows", n }) }, (c, g, v) =>
      acc.add(c, g, v),
    );
    const m = acc.finish();
    const arrays = [
      m.sum,
      m.sumSq,
      m.expressing,
      ...(m.whole ? [m.whole.sum, m.whole.sumSq, m.whole.expressing] : []),
      ...(acc.spec.totals ? [acc.spec.totals] : []),
    ];
    send(
      { t: "done", rows, moments: m, totals: acc.spec.totals },
      arrays.map((a) => a.buffer as ArrayBuffer),
    );
  } catch (e) {
    if (abort.signal.aborted) send({ t: "cancelled" });
    else if (e instanceof CellsNotContiguous) send({ t: "error", kind: "notContiguous", message: "" });
    else if (e instanceof RowOutsideTables) send({ t: "error", kind: "outside", message: e.message });
    else send({ t: "error", kind: "other", message: e instanceof Error ? e.message : String(e), appError: isAppFailure(e) ? e.appError : undefined });
  } finally {
    opened?.table.close();
    opened?.db.close();
    port.close();
  }
}

void run();
