/**
 * The conversion worker bundle (dist/main/convert-worker.mjs). Started with a WorkerRequest, it runs one
 * conversion off the main thread, so reading HDF5 and parsing MTX never stall the process that answers the
 * window (protocol: run-in-worker.ts). Started with `kind: "mtx"`, it reads one MTX matrix for a conversion
 * running elsewhere (mtx-worker.ts), so parsing overlaps the Lance writes; with `kind: "inflate"`, it
 * decompresses for that reader (inflate-worker.ts), so inflating overlaps parsing.
 */
import { parentPort, workerData } from "node:worker_threads";
import { toAppError } from "../errors";
import { convertInputs } from "./convert";
import { runInflateWorker, type InflateWorkerData } from "./inflate-worker";
import { runMtxWorker, type MtxWorkerData } from "./mtx-worker";
import type { WorkerReply, WorkerRequest } from "./run-in-worker";

const port = parentPort;
if (!port) throw new Error("convert-worker must run in a worker thread");
const kind = (workerData as { kind?: string }).kind;
if (kind === "mtx") void runMtxWorker(port, workerData as MtxWorkerData);
else if (kind === "inflate") void runInflateWorker(port, workerData as InflateWorkerData);
else runConversion(workerData as WorkerRequest);

function runConversion(req: WorkerRequest): void {
  const controller = new AbortController();
  port!.on("message", (m: unknown) => {
    if (m === "cancel") controller.abort();
  });
  const reply = (r: WorkerReply) => port!.postMessage(r);
  convertInputs(req.inputs, req.output, {
    ...req.options,
    signal: controller.signal,
    onProgress: (progress) => reply({ t: "progress", progress }),
  })
    .then((summary) => reply({ t: "done", summary }))
    .catch((e: unknown) => reply({ t: "error", error: toAppError(e) }));
}
