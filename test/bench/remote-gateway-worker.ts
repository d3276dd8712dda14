/**
 * The gateway in a worker thread of the runner (SLAFWB_BENCH_GATEWAY_WORKER=1): an experiment on where the
 * gateway's cold-scan cost goes. The worker starts the app's gateway and opens the dataset there; the runner's
 * main thread opens the tables it names with the storage options it gets back, as Lance direct does, so the
 * gateway's sockets, buffers and collections live in their own isolate, beside the thread that receives Lance's
 * batches. Not the app's path (which reads config.json and keeps the gateway on its main thread).
 */
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { startGateway, type GatewayOptions, type PinnedDataset, type PinnedS3Dataset, type S3Access } from "../../main/services/gateway/index";

interface Start {
  gatewayWorker: true;
  options: GatewayOptions;
}

type Request = { cmd: "pin"; uri: string } | { cmd: "pinS3"; uri: string; access: S3Access } | { cmd: "close" };
type Call = Request & { id: number };

type Answer = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: string };

/** True in the worker: it serves calls until "close". */
export function isGatewayWorker(): boolean {
  return !isMainThread && (workerData as Start | null)?.gatewayWorker === true;
}

export async function serveGatewayWorker(): Promise<void> {
  const { options } = workerData as Start;
  const gateway = await startGateway(options);
  const port = parentPort!;
  port.postMessage({ id: 0, ok: true, value: gateway.lanceEnv() } satisfies Answer);
  port.on("message", (call: Call) => {
    const run = async (): Promise<unknown> => {
      if (call.cmd === "pin") return gateway.pin(call.uri);
      if (call.cmd === "pinS3") return gateway.pinS3(call.uri, call.access);
      await gateway.close();
      return null;
    };
    run().then(
      (value) => {
        port.postMessage({ id: call.id, ok: true, value } satisfies Answer);
        if (call.cmd === "close") port.close();
      },
      (e: unknown) => port.postMessage({ id: call.id, ok: false, error: e instanceof Error ? e.message : String(e) } satisfies Answer),
    );
  });
}

/** The main thread's side: starts the worker (this same bundle) and calls it. */
export class GatewayWorker {
  private next = 1;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  private constructor(
    private readonly worker: Worker,
    readonly lanceEnv: Record<string, string>,
  ) {}

  static async start(file: string, options: GatewayOptions): Promise<GatewayWorker> {
    const worker = new Worker(new URL(file), { workerData: { gatewayWorker: true, options } satisfies Start });
    const lanceEnv = await new Promise<Record<string, string>>((resolve, reject) => {
      worker.once("error", reject);
      worker.once("message", (a: Answer) => (a.ok ? resolve(a.value as Record<string, string>) : reject(new Error(a.error))));
    });
    const gw = new GatewayWorker(worker, lanceEnv);
    worker.on("message", (a: Answer) => {
      const w = gw.waiting.get(a.id);
      gw.waiting.delete(a.id);
      if (a.ok) w?.resolve(a.value);
      else w?.reject(new Error(a.error));
    });
    return gw;
  }

  private call<T>(call: Request): Promise<T> {
    const id = this.next++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: (v) => resolve(v as T), reject });
      this.worker.postMessage({ ...call, id });
    });
  }

  pin(uri: string): Promise<PinnedDataset> {
    return this.call({ cmd: "pin", uri });
  }

  pinS3(uri: string, access: S3Access): Promise<PinnedS3Dataset> {
    return this.call({ cmd: "pinS3", uri, access });
  }

  async close(): Promise<void> {
    await this.call({ cmd: "close" });
    await this.worker.terminate();
  }
}
