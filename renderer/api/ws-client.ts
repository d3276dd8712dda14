/** Browser mode: the contract over one WebSocket to the loopback server (binary frames, see shared/ipc/wire). */
import { METHODS, type Client, type Namespace } from "../../shared/ipc/contract";
import { createListeners } from "../../shared/ipc/listeners";
import { decodeFrame, encodeFrame, type WireMessage } from "../../shared/ipc/wire";
import type { Result } from "../../shared/result";

export type ConnectionState = "connecting" | "open" | "closed";

export function createWsClient(onState: (s: ConnectionState) => void): Client {
  const pending = new Map<number, (r: Result<unknown>) => void>();
  const listeners = createListeners();
  let nextId = 1;
  let socket: WebSocket | null = null;
  let ready: Promise<WebSocket | null> | null = null;
  let retryMs = 250;

  /** Resolves with the open socket, or null when this attempt closed before opening (a retry is scheduled). */
  function connect(): Promise<WebSocket | null> {
    if (ready) return ready;
    onState("connecting");
    const token = new URLSearchParams(location.search).get("token");
    const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws${token ? `?token=${encodeURIComponent(token)}` : ""}`;
    ready = new Promise((resolve) => {
      const ws = new WebSocket(url);
      ws.binaryType = "arraybuffer";
      ws.onopen = () => {
        socket = ws;
        retryMs = 250;
        onState("open");
        resolve(ws);
      };
      ws.onmessage = (ev) => {
        const msg = decodeFrame(new Uint8Array(ev.data as ArrayBuffer)) as WireMessage;
        if (msg.t === "result") {
          pending.get(msg.id)?.(msg.result as Result<unknown>);
          pending.delete(msg.id);
        } else if (msg.t === "event") listeners.emit(msg.name, msg.payload);
      };
      ws.onclose = () => {
        resolve(null);
        socket = null;
        ready = null;
        onState("closed");
        for (const [id, done] of pending) {
          done({ ok: false, error: { code: "SOURCE_UNREACHABLE", message: "Lost the connection to the SLAF Workbench server", retryable: true } });
          pending.delete(id);
        }
        setTimeout(() => void connect(), retryMs);
        retryMs = Math.min(5000, retryMs * 2);
      };
    });
    return ready;
  }

  async function call(ns: string, method: string, arg: unknown): Promise<Result<unknown>> {
    const ws = socket ?? (await connect());
    if (!ws) return { ok: false, error: { code: "SOURCE_UNREACHABLE", message: "Cannot reach the SLAF Workbench server; retrying", retryable: true } };
    const id = nextId++;
    return new Promise((resolve) => {
      pending.set(id, resolve);
      ws.send(encodeFrame({ t: "call", id, ns, method, arg } satisfies WireMessage));
    });
  }

  const client: Record<string, unknown> = { on: listeners.on };
  for (const ns of Object.keys(METHODS) as Namespace[]) {
    client[ns] = Object.fromEntries(METHODS[ns].map((m: string) => [m, (arg: unknown) => call(ns, m, arg ?? {})]));
  }
  void connect();
  return client as unknown as Client;
}
