/** Browser mode: the contract over one WebSocket to the loopback server (binary frames, see shared/ipc/wire). */
import { METHODS, type Client, type Namespace } from "../../shared/ipc/contract";
import { createListeners } from "../../shared/ipc/listeners";
import { JOB_WAIT_MAX_MS } from "../../shared/ipc/schemas";
import { decodeMessage, encodeFrame, type WireMessage } from "../../shared/ipc/wire";
import type { AppError, Result } from "../../shared/result";

export type ConnectionState = "connecting" | "open" | "closed";

/** Every call gets an answer within this long, or a SOURCE_UNREACHABLE error. */
export const CALL_TIMEOUT_MS = 60_000;
/** Calls that legitimately run long: opening or inspecting large (remote) inputs, the demo conversion, an export. */
export const LONG_CALL_TIMEOUT_MS = 15 * 60_000;
const LONG_CALLS = new Set(["datasets.open", "datasets.openDemo", "convert.inspect", "query.export"]);

export function callTimeoutMs(ns: string, method: string): number {
  if (LONG_CALLS.has(`${ns}.${method}`)) return LONG_CALL_TIMEOUT_MS;
  // The long poll may be asked to wait up to its maximum; the timeout leaves it a full call's time beyond that.
  if (ns === "jobs" && method === "wait") return JOB_WAIT_MAX_MS + CALL_TIMEOUT_MS;
  return CALL_TIMEOUT_MS;
}

export interface WsClientOptions {
  /** Per-call timeout; defaults to callTimeoutMs. */
  timeoutMs?: (ns: string, method: string) => number;
}

export type WsClient = Client & {
  /** This page load's session id: the server gives back what the page held once it is gone. */
  readonly session: string;
  /** Closes the socket and stops reconnecting (pending calls fail). */
  close(): void;
};

/** A random id per page load; a reconnect of the same page resumes its session on the server. */
function newSessionId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(18));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function unreachable(message: string): Result<never> {
  return { ok: false, error: { code: "SOURCE_UNREACHABLE", message, retryable: true } satisfies AppError };
}

function seconds(ms: number): string {
  return ms > 60_000 && ms % 60_000 === 0 ? `${ms / 60_000} min` : `${Math.round(ms / 100) / 10} s`;
}

export function createWsClient(onState: (s: ConnectionState) => void, options: WsClientOptions = {}): WsClient {
  const timeoutOf = options.timeoutMs ?? callTimeoutMs;
  const pending = new Map<number, (r: Result<unknown>) => void>();
  const listeners = createListeners((name, e) => console.error(`A listener of ${name} failed:`, e));
  const session = newSessionId();
  let nextId = 1;
  let socket: WebSocket | null = null;
  let current: WebSocket | null = null;
  let ready: Promise<WebSocket | null> | null = null;
  let retryMs = 250;
  let retryTimer: ReturnType<typeof setTimeout> | null = null;
  let closed = false;

  function settle(id: number, result: Result<unknown>): void {
    const done = pending.get(id);
    pending.delete(id);
    done?.(result);
  }

  function onFrame(data: unknown): void {
    let msg: WireMessage;
    try {
      if (!(data instanceof ArrayBuffer)) throw new Error("it is a text frame; the server sends binary frames only");
      msg = decodeMessage(new Uint8Array(data));
    } catch (e) {
      // A frame we cannot read cannot be matched to a call; that call then ends by its timeout.
      console.warn(`SLAF Workbench sent a frame this page cannot read: ${e instanceof Error ? e.message : String(e)}`);
      return;
    }
    if (msg.t === "result") settle(msg.id, msg.result as Result<unknown>);
    else if (msg.t === "event") listeners.emit(msg.name, msg.payload);
  }

  /** Resolves with the open socket, or null when this attempt closed before opening (a retry is scheduled). */
  function connect(): Promise<WebSocket | null> {
    if (ready) return ready;
    if (closed) return Promise.resolve(null);
    onState("connecting");
    const params = new URLSearchParams({ session });
    const token = new URLSearchParams(location.search).get("token");
    if (token) params.set("token", token);
    const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws?${params}`;
    ready = new Promise((resolve) => {
      const ws = new WebSocket(url);
      current = ws;
      ws.binaryType = "arraybuffer";
      // 'close' follows every error and does the cleanup.
      ws.onerror = () => undefined;
      ws.onopen = () => {
        socket = ws;
        retryMs = 250;
        onState("open");
        resolve(ws);
      };
      ws.onmessage = (ev) => onFrame(ev.data);
      ws.onclose = (ev) => {
        resolve(null);
        socket = null;
        ready = null;
        onState("closed");
        const why = ev.reason ? `: ${ev.reason}` : "";
        for (const id of [...pending.keys()]) settle(id, unreachable(`Lost the connection to the SLAF Workbench server${why}`));
        if (closed) return;
        retryTimer = setTimeout(() => void connect(), retryMs);
        retryMs = Math.min(5000, retryMs * 2);
      };
    });
    return ready;
  }

  async function call(ns: string, method: string, arg: unknown): Promise<Result<unknown>> {
    const ws = socket ?? (await connect());
    if (!ws) return unreachable("Cannot reach the SLAF Workbench server; retrying");
    const id = nextId++;
    let frame: Uint8Array<ArrayBuffer>;
    try {
      frame = encodeFrame({ t: "call", id, ns, method, arg } satisfies WireMessage);
    } catch (e) {
      return {
        ok: false,
        error: { code: "INVALID_ARGUMENT", message: `${ns}.${method}: the request cannot be sent (${e instanceof Error ? e.message : String(e)})` },
      };
    }
    const ms = timeoutOf(ns, method);
    return new Promise((resolve) => {
      const timer = setTimeout(() => settle(id, unreachable(`SLAF Workbench did not answer ${ns}.${method} within ${seconds(ms)}`)), ms);
      pending.set(id, (r) => {
        clearTimeout(timer);
        resolve(r);
      });
      try {
        ws.send(frame);
      } catch (e) {
        settle(id, unreachable(`Could not send ${ns}.${method}: ${e instanceof Error ? e.message : String(e)}`));
      }
    });
  }

  const client: Record<string, unknown> = {
    on: listeners.on,
    session,
    close() {
      closed = true;
      if (retryTimer) clearTimeout(retryTimer);
      current?.close(1000, "page closed the client");
    },
  };
  for (const ns of Object.keys(METHODS) as Namespace[]) {
    client[ns] = Object.fromEntries(METHODS[ns].map((m: string) => [m, (arg: unknown) => call(ns, m, arg ?? {})]));
  }
  void connect();
  return client as unknown as WsClient;
}
