import { Worker } from "node:worker_threads";
import type { ConvertSummary } from "../../../shared/ipc/contract";
import { AppFailure, type AppError } from "../../../shared/result";
import type { ConvertInput, ConvertOptions, ConvertProgress } from "./convert";

/** What crosses to the worker: the inputs, the output and the options that are plain data. */
export type WorkerConvertOptions = Pick<ConvertOptions, "force" | "matrix" | "keepOtherAsLayer" | "featureTypes" | "splitFeatureTypes" | "strict">;

export interface WorkerRequest {
  inputs: ConvertInput[];
  output: string;
  options: WorkerConvertOptions;
}

export type WorkerOptions = WorkerConvertOptions & Pick<ConvertOptions, "signal" | "onProgress">;

export type WorkerReply = { t: "progress"; progress: ConvertProgress } | { t: "done"; summary: ConvertSummary } | { t: "error"; error: AppError };

/** convertInputs, in the worker bundle at `workerFile`: same result, same errors, same progress and cancel. */
export function convertInWorker(workerFile: string, inputs: ConvertInput[], output: string, opts: WorkerOptions = {}): Promise<ConvertSummary> {
  return new Promise((resolve, reject) => {
    const { signal, onProgress, ...options } = opts;
    const request: WorkerRequest = { inputs, output, options };
    const worker = new Worker(workerFile, { workerData: request });
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener("abort", onAbort);
      fn();
      void worker.terminate();
    };
    // The worker stops at its next check and removes its temp folder before answering.
    const onAbort = () => worker.postMessage("cancel");
    signal?.addEventListener("abort", onAbort);
    if (signal?.aborted) onAbort();
    worker.on("message", (r: WorkerReply) => {
      if (r.t === "progress") onProgress?.(r.progress);
      else if (r.t === "done") settle(() => resolve(r.summary));
      else {
        const { code, message, ...extra } = r.error;
        settle(() => reject(new AppFailure(code, message, extra)));
      }
    });
    worker.on("error", (e) => settle(() => reject(e)));
    worker.on("exit", (code) => settle(() => reject(new AppFailure("INTERNAL", `The conversion worker stopped unexpectedly (exit code ${code})`))));
  });
}
