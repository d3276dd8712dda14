import { Worker } from "node:worker_threads";
import type { ConvertSummary } from "../../../shared/ipc/contract";
import { AppFailure, type AppError } from "../../../shared/result";
import type { ConvertOptions, ConvertProgress } from "./convert";

export interface WorkerRequest {
  input: string;
  output: string;
  force?: boolean;
  matrix?: string;
  keepOtherAsLayer?: boolean;
}

export type WorkerOptions = Pick<ConvertOptions, "force" | "matrix" | "keepOtherAsLayer" | "signal" | "onProgress">;

export type WorkerReply = { t: "progress"; progress: ConvertProgress } | { t: "done"; summary: ConvertSummary } | { t: "error"; error: AppError };

/** convertFile, in the worker bundle at `workerFile`: same result, same errors, same progress and cancel. */
export function convertInWorker(workerFile: string, input: string, output: string, opts: WorkerOptions = {}): Promise<ConvertSummary> {
  return new Promise((resolve, reject) => {
    const request: WorkerRequest = { input, output, force: opts.force, matrix: opts.matrix, keepOtherAsLayer: opts.keepOtherAsLayer };
    const worker = new Worker(workerFile, { workerData: request });
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      opts.signal?.removeEventListener("abort", onAbort);
      fn();
      void worker.terminate();
    };
    // The worker stops at its next check and removes its temp folder before answering.
    const onAbort = () => worker.postMessage("cancel");
    opts.signal?.addEventListener("abort", onAbort);
    if (opts.signal?.aborted) onAbort();
    worker.on("message", (r: WorkerReply) => {
      if (r.t === "progress") opts.onProgress?.(r.progress);
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
