/**
 * Reading an MTX matrix off the main thread: the worker (the conversion worker bundle started with
 * `kind: "mtx"`) decompresses, parses and cuts chunks of cells (mtx-chunks.ts) and transfers each chunk's
 * arrays to the thread that writes Lance. At most MAX_AHEAD chunks wait unacknowledged, so memory stays
 * bounded when writing is the slower side.
 */
import { Worker, type MessagePort } from "node:worker_threads";
import { syncZlibUsable } from "./inflate";
import { BufferPool, mtxRowChunks, ReadFailure, UnsortedInput, type MtxReadConfig } from "./mtx-chunks";
import { MtxError } from "./mtx-parse";
import type { RowChunk } from "./source";

const MAX_AHEAD = 2;

export interface MtxWorkerData extends MtxReadConfig {
  kind: "mtx";
  /** This worker's own bundle, to start the inflater from. */
  workerFile: string;
}

type Reply =
  | { t: "chunk"; chunk: RowChunk }
  | { t: "bytes"; bytes: number }
  | { t: "done" }
  | { t: "unsorted" }
  | { t: "error"; kind: "mtx" | "read" | "other"; message: string };

/** The worker side: runs in the conversion worker bundle when workerData.kind is "mtx". */
export async function runMtxWorker(port: MessagePort, cfg: MtxWorkerData): Promise<void> {
  const workerFile = cfg.workerFile;
  let acked = 0;
  let sent = 0;
  let wake: (() => void) | null = null;
  const controller = new AbortController();
  const pool = new BufferPool();
  port.on("message", (m: unknown) => {
    if (m === "stop") controller.abort(new Error("stopped"));
    else if (m && typeof m === "object" && "ack" in m) {
      acked++;
      for (const b of (m as unknown as { buffers: ArrayBuffer[] }).buffers) pool.give(b);
    }
    wake?.();
    wake = null;
  });
  let lastBytes = 0;
  try {
    const onBytes = (bytes: number) => {
      if (bytes - lastBytes >= 8 << 20) {
        lastBytes = bytes;
        port.postMessage({ t: "bytes", bytes } satisfies Reply);
      }
    };
    // Inflating in a thread of its own (the same bundle as this one) when the file is gzipped.
    const inflateWorker = syncZlibUsable() ? workerFile : undefined;
    for await (const chunk of mtxRowChunks({ ...cfg, inflateWorker }, controller.signal, onBytes, pool)) {
      while (sent - acked >= MAX_AHEAD && !controller.signal.aborted) await new Promise<void>((r) => (wake = r));
      if (controller.signal.aborted) return;
      const buffers = [chunk.indptr.buffer, chunk.genes.buffer, chunk.values.buffer].filter((b, i, all) => all.indexOf(b) === i) as ArrayBuffer[];
      port.postMessage({ t: "chunk", chunk } satisfies Reply, buffers);
      sent++;
    }
    port.postMessage({ t: "done" } satisfies Reply);
  } catch (e) {
    if (controller.signal.aborted) return;
    if (e instanceof UnsortedInput) port.postMessage({ t: "unsorted" } satisfies Reply);
    else {
      const kind = e instanceof MtxError ? "mtx" : e instanceof ReadFailure ? "read" : "other";
      port.postMessage({ t: "error", kind, message: e instanceof Error ? e.message : String(e) } satisfies Reply);
    }
  } finally {
    port.close();
  }
}

/** The converting side: the chunks the worker at `workerFile` reads, in order; errors rethrown as they were thrown there. */
export async function* mtxChunksInWorker(
  workerFile: string,
  cfg: MtxReadConfig,
  signal?: AbortSignal,
  onBytes?: (bytes: number) => void,
): AsyncGenerator<RowChunk> {
  const worker = new Worker(workerFile, { workerData: { ...cfg, kind: "mtx", workerFile } satisfies MtxWorkerData });
  const queue: Reply[] = [];
  let wake: (() => void) | null = null;
  let exitError: Error | null = null;
  const push = (r: Reply) => {
    queue.push(r);
    wake?.();
    wake = null;
  };
  worker.on("message", (r: Reply) => {
    if (r.t === "bytes") onBytes?.(r.bytes);
    else push(r);
  });
  worker.on("error", (e) => {
    exitError = e;
    wake?.();
  });
  worker.on("exit", (code) => {
    exitError ??= new Error(`the MTX reader stopped unexpectedly (exit code ${code})`);
    wake?.();
  });
  const onAbort = () => worker.postMessage("stop");
  signal?.addEventListener("abort", onAbort);
  try {
    for (;;) {
      if (signal?.aborted) throw signal.reason;
      const r = queue.shift();
      if (!r) {
        if (exitError) throw exitError;
        await new Promise<void>((res) => (wake = res));
        continue;
      }
      if (r.t === "done") return;
      if (r.t === "unsorted") throw new UnsortedInput();
      if (r.t === "error") throw r.kind === "mtx" ? new MtxError(r.message) : r.kind === "read" ? new ReadFailure(r.message) : new Error(r.message);
      if (r.t === "chunk") {
        yield r.chunk;
        // The consumer asks for the next chunk only when done with this one: its arrays go back for reuse.
        const buffers = [r.chunk.genes.buffer, r.chunk.values.buffer].filter((b, i, all) => all.indexOf(b) === i) as ArrayBuffer[];
        worker.postMessage({ ack: true, buffers }, buffers);
      }
    }
  } finally {
    signal?.removeEventListener("abort", onAbort);
    // The worker does no native writes: ending it at any point is safe.
    await worker.terminate();
  }
}
