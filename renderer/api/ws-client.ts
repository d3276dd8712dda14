/** Browser mode: the contract over one WebSocket to the loopback server (binary frames, see shared/ipc/wire). */
import { EVENT_NAMES, METHODS, type Client, type EventName, type Events, type Namespace } from "../../shared/ipc/contract";
import { decodeFrame, encodeFrame, type WireMessage } from "../../shared/ipc/wire";
import type { Result } from "../../shared/result";

export type ConnectionState = "connecting" | "open" | "closed";

export function createWsClient(onState: (s: ConnectionState) => void): Client {
  const pending = new Map<number, (r: Result<unknown>) => void>();
  const listeners = new Map<string, Set<(p: unknown) => void>>();
  let nextId = 1;
  let socket: WebSocket | null = null;
  let ready: Promise<WebSocket> | null = null;
  let retryMs = 250;

  function connect(): Promise<WebSocket> {
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
        } else if (msg.t === "event") {
          for (const fn of listeners.get(msg.name) ?? []) fn(msg.payload);
        }
      };
      ws.onclose = () => {
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
    const id = nextId++;
    return new Promise((resolve) => {
      pending.set(id, resolve);
      ws.send(encodeFrame({ t: "call", id, ns, method, arg } satisfies WireMessage));
    });
  }

  const client: Record<string, unknown> = {
    on<E extends EventName>(name: E, listener: (payload: Events[E]) => void) {
      if (!(EVENT_NAMES as readonly string[]).includes(name)) throw new Error(`Unknown event ${name}`);
      const set = listeners.get(name) ?? new Set();
      set.add(listener as (p: unknown) => void);
      listeners.set(name, set);
      return () => set.delete(listener as (p: unknown) => void);
    },
  };
  for (const ns of Object.keys(METHODS) as Namespace[]) {
    client[ns] = Object.fromEntries(METHODS[ns].map((m: string) => [m, (arg: unknown) => call(ns, m, arg ?? {})]));
  }
  void connect();
  return client as unknown as Client;
}
