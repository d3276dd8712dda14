/**
 * Decompressing in a thread of its own (the conversion worker bundle started with `kind: "inflate"`), so
 * inflating and parsing a gzipped MTX overlap: the inflater fills 4 MB buffers and transfers them to the
 * parser, which sends each back when done with it; four buffers go round, nothing is allocated per block.
 */
import { Worker, type MessagePort } from "node:worker_threads";
import { BLOCK, Inflater, ReadFailure } from "./inflate";

const BUFFERS = 4;

export interface InflateWorkerData {
  kind: "inflate";
  file: string;
}

type Reply = { t: "block"; buffer: ArrayBuffer; length: number; read: number } | { t: "end" } | { t: "error"; message: string; read: boolean };

export async function runInflateWorker(port: MessagePort, data: InflateWorkerData): Promise<void> {
  const free: ArrayBuffer[] = Array.from({ length: BUFFERS }, () => new ArrayBuffer(BLOCK));
  let wake: (() => void) | null = null;
  let stopped = false;
  port.on("message", (m: unknown) => {
    if (m === "stop") stopped = true;
    else if (m instanceof ArrayBuffer) free.push(m);
    wake?.();
    wake = null;
  });
  let inflater: Inflater | null = null;
  try {
    inflater = new Inflater(data.file);
    for (;;) {
      while (!free.length && !stopped) await new Promise<void>((r) => (wake = r));
      if (stopped) return;
      const buffer = free.pop()!;
      const length = inflater.fill(Buffer.from(buffer));
      if (length === 0) {
        port.postMessage({ t: "end" } satisfies Reply);
        return;
      }
      port.postMessage({ t: "block", buffer, length, read: inflater.read } satisfies Reply, [buffer]);
    }
  } catch (e) {
    port.postMessage({ t: "error", message: e instanceof Error ? e.message : String(e), read: e instanceof ReadFailure } satisfies Reply);
  } finally {
    inflater?.close();
    port.close();
  }
}

/** The file's decompressed bytes, inflated by the worker at `workerFile`; each block is valid until the next is asked for. */
export async function* inflatedBlocks(workerFile: string, file: string, progress?: (compressedBytes: number) => void): AsyncGenerator<Buffer> {
  const worker = new Worker(workerFile, { workerData: { kind: "inflate", file } satisfies InflateWorkerData });
  const queue: Reply[] = [];
  let wake: (() => void) | null = null;
  let exitError: Error | null = null;
  worker.on("message", (r: Reply) => {
    queue.push(r);
    wake?.();
    wake = null;
  });
  worker.on("error", (e) => {
    exitError = e;
    wake?.();
  });
  worker.on("exit", (code) => {
    exitError ??= new Error(`the inflater stopped unexpectedly (exit code ${code})`);
    wake?.();
  });
  try {
    for (;;) {
      const r = queue.shift();
      if (!r) {
        if (exitError) throw exitError;
        await new Promise<void>((res) => (wake = res));
        continue;
      }
      if (r.t === "end") return;
      if (r.t === "error") throw r.read ? new ReadFailure(r.message) : new Error(r.message);
      progress?.(r.read);
      yield Buffer.from(r.buffer, 0, r.length);
      worker.postMessage(r.buffer, [r.buffer]);
    }
  } finally {
    worker.postMessage("stop");
    await worker.terminate();
  }
}
