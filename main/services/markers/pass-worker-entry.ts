/**
 * The markers pass worker (bundled as dist/main/markers-pass-worker.mjs): one moments pass over a part of the cells
 * of `expression` (pass-workers.ts), in a thread of its own, read by `where` or from a row offset (part-rows.ts). It
 * opens its own table, scans and accumulates, posts the moments (arrays transferred), closes the table and the
 * port, and ends. "cancel" stops it between batches: the read under way finishes first (a thread terminated inside
 * a Lance read crashes the process).
 */
import { parentPort, workerData } from "node:worker_threads";
import { isAppFailure } from "../../../shared/result";
import { openLanceTable } from "../datasets/lance-table";
import type * as lancedb from "@lancedb/lancedb";
import { CellsNotContiguous, CellsUnsorted, MomentsAccumulator, RowOutsideTables } from "./moments-accumulator";
import { scanExpression } from "./moments-pass";
import { slice } from "./pass-parts";
import { guessOffset, MARGINS, PartRows, type Seam } from "./part-rows";
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

/** Progress at most this often: a message per batch took ~1 s of each thread on the 1M-cell bench. */
const PROGRESS_MS = 100;
let progressAt = -Infinity;

function progress(n: number): void {
  const now = performance.now();
  if (now - progressAt < PROGRESS_MS) return;
  progressAt = now;
  send({ t: "rows", n });
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
      sorted: req.byOffset,
    });
    let rows: number;
    let seam: Seam | null = null;
    if (req.byOffset) {
      ({ rows, seam } = await offsetRead(opened.table, acc));
      if (!seam.sorted) {
        send({ t: "unsorted" });
        return;
      }
    } else rows = await scanExpression(opened.table, { where: req.where, signal: abort.signal, onRows: progress }, (c, g, v) => acc.add(c, g, v));
    const m = acc.finish();
    const arrays = [
      m.sum,
      m.sumSq,
      m.expressing,
      ...(m.whole ? [m.whole.sum, m.whole.sumSq, m.whole.expressing] : []),
      ...(acc.spec.totals ? [acc.spec.totals] : []),
    ];
    send(
      { t: "done", rows, moments: m, totals: acc.spec.totals, seam },
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

/** The part's rows read from a row offset, moved back while the read starts inside the part's cells. */
async function offsetRead(table: lancedb.Table, acc: MomentsAccumulator): Promise<{ rows: number; seam: Seam }> {
  const [from, to] = req.cells;
  const nCells = req.classOf.length;
  const nRows = await table.countRows();
  for (const margin of MARGINS) {
    const part = new PartRows(from === 0 ? -Infinity : from, to === nCells ? Infinity : to, guessOffset(nRows, nCells, from, margin));
    let rows = 0;
    let overshot = false;
    await scanExpression(table, { offset: part.seam.offset, signal: abort.signal }, (c, g, v) => {
      const take = part.take(c);
      if (take.t !== "rows") {
        overshot = take.t === "overshot";
        return false;
      }
      const n = take.to - take.from;
      try {
        if (n === c.length) acc.add(c, g, v);
        else if (n > 0) acc.add(slice(c, take.from, take.to), slice(g, take.from, take.to), slice(v, take.from, take.to));
      } catch (e) {
        if (!(e instanceof CellsUnsorted)) throw e;
        part.unsorted();
        return false;
      }
      if (n > 0) progress((rows += n));
      return !take.last;
    });
    if (!overshot) return { rows, seam: part.seam };
  }
  throw new Error("A read from the first row cannot start inside its part");
}

void run();
