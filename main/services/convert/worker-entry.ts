/**
 * Runs one conversion in a worker thread (bundled as dist/main/convert-worker.mjs), so reading HDF5 and parsing
 * MTX never stall the main process that answers the window. Protocol: see run-in-worker.ts.
 */
import { parentPort, workerData } from "node:worker_threads";
import { toAppError } from "../errors";
import { convertInputs } from "./convert";
import type { WorkerReply, WorkerRequest } from "./run-in-worker";

const port = parentPort;
if (!port) throw new Error("convert-worker must run in a worker thread");
const req = workerData as WorkerRequest;
const controller = new AbortController();
port.on("message", (m: unknown) => {
  if (m === "cancel") controller.abort();
});
const reply = (r: WorkerReply) => port.postMessage(r);
convertInputs(req.inputs, req.output, {
  ...req.options,
  signal: controller.signal,
  onProgress: (progress) => reply({ t: "progress", progress }),
})
  .then((summary) => reply({ t: "done", summary }))
  .catch((e: unknown) => reply({ t: "error", error: toAppError(e) }));
