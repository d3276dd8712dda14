/** A real browser-mode server over real services on a temp PBMC dataset, and raw-socket and WebSocket helpers. */
import fs from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import WebSocket from "ws";
import { startBrowserServer, type BrowserServer, type BrowserServerOptions } from "../../../main/server/http-server";
import type { Services } from "../../../main/services/index";
import { testServices } from "../../fixtures/services";
import { decodeMessage, encodeFrame } from "../../../shared/ipc/wire";
import type { Result } from "../../../shared/result";
import { tempDir, writePbmcSlaf } from "../../fixtures/slaf-fixture";

export interface TestServer {
  server: BrowserServer;
  services: Services;
  dir: string;
  /** The PBMC SLAF dataset. */
  root: string;
  base: string;
  wsUrl(params?: Record<string, string>): string;
  stop(): Promise<void>;
}

export async function startTestServer(options: Partial<Pick<BrowserServerOptions, "sessionGraceMs" | "maxFrameBytes">> = {}): Promise<TestServer> {
  const dir = await tempDir("slafwb-server-");
  const root = path.join(dir, "pbmc.slaf");
  await writePbmcSlaf(root);
  const staticDir = path.join(dir, "renderer");
  await fs.mkdir(staticDir);
  await fs.writeFile(path.join(staticDir, "index.html"), "<!doctype html><title>SLAF Workbench</title>\n");
  let services: Services | null = null;
  const server = await startBrowserServer({
    port: 0,
    token: "test-token-0123456789abcdef",
    staticDir,
    dispatcher: () => (services as Services).dispatcher,
    ...options,
  });
  services = testServices(path.join(dir, "user-data"), {
    initialDatasetUri: root,
    emit: (name, payload) => server.broadcast(name, payload),
    convertWorker: null,
  });
  const base = `127.0.0.1:${server.port}`;
  return {
    server,
    services,
    dir,
    root,
    base,
    wsUrl: (params = { token: server.token }) => `ws://${base}/ws?${new URLSearchParams(params)}`,
    async stop() {
      await server.close();
      await services?.dispose();
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}

export interface RawResponse {
  status: number | null;
  text: string;
}

/**
 * Writes bytes on a fresh TCP connection and returns whatever came back before the server closed it. The
 * connection is half-closed after the bytes (so an incomplete request ends), unless `halfClose` is false (then
 * send `connection: close`: Node drops the answer to a request whose client half-closed before it was ready).
 */
export function rawHttp(port: number, request: string | Buffer, { halfClose = true } = {}): Promise<RawResponse> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const socket = net.connect(port, "127.0.0.1", () => (halfClose ? socket.end(request) : socket.write(request)));
    socket.on("data", (d) => chunks.push(d));
    socket.on("error", () => undefined);
    socket.on("close", () => {
      const text = Buffer.concat(chunks).toString("latin1");
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      resolve({ status: m ? Number(m[1]) : null, text });
    });
  });
}

/** A request with CRLF line ends: the request line, then headers. */
export function httpText(requestLine: string, headers: Record<string, string>): string {
  return `${requestLine}\r\n${Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join("")}\r\n`;
}

export function upgradeHeaders(host: string, extra: Record<string, string> = {}): Record<string, string> {
  return { host, connection: "Upgrade", upgrade: "websocket", "sec-websocket-version": "13", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==", ...extra };
}

/** Opens a WebSocket; rejects with "HTTP <status>" when the upgrade is refused. */
export function openWs(url: string, headers: Record<string, string> = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
    ws.once("unexpected-response", (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  });
}

export interface Closed {
  code: number;
  reason: string;
}

/** The close code and reason, once the socket has closed. */
export function closed(ws: WebSocket): Promise<Closed> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve({ code: -1, reason: "already closed" });
  return new Promise((resolve) => ws.once("close", (code, reason) => resolve({ code, reason: reason.toString() })));
}

type Waiter = (r: Result<unknown> | Closed) => void;
const waiting = new WeakMap<WebSocket, Map<number, Waiter>>();

/** One message and one close listener per socket, routing results to whoever waits for their id. */
function waitersOf(ws: WebSocket): Map<number, Waiter> {
  const known = waiting.get(ws);
  if (known) return known;
  const ids = new Map<number, Waiter>();
  waiting.set(ws, ids);
  ws.on("message", (data: Buffer) => {
    const msg = decodeMessage(new Uint8Array(data));
    if (msg.t !== "result") return;
    ids.get(msg.id)?.(msg.result as Result<unknown>);
    ids.delete(msg.id);
  });
  ws.on("close", (code: number, reason: Buffer) => {
    for (const done of ids.values()) done({ code, reason: reason.toString() });
    ids.clear();
  });
  return ids;
}

/** The next result frame with this id, or the close that came first. */
export function nextResult(ws: WebSocket, id: number): Promise<Result<unknown> | Closed> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve({ code: -1, reason: "already closed" });
  return new Promise((resolve) => waitersOf(ws).set(id, resolve));
}

let nextId = 1;

export async function call<T = unknown>(ws: WebSocket, ns: string, method: string, arg: unknown): Promise<Result<T>> {
  const id = nextId++;
  const answer = nextResult(ws, id);
  ws.send(encodeFrame({ t: "call", id, ns, method, arg }));
  const r = await answer;
  if (!("ok" in r)) throw new Error(`Socket closed before ${ns}.${method} was answered: ${r.code} ${r.reason}`);
  return r as Result<T>;
}

/** A client-to-server WebSocket frame built by hand (masked), for frames the ws client refuses to send. */
export function rawWsFrame(payload: Buffer, opts: { opcode?: number; rsv1?: boolean } = {}): Buffer {
  const mask = Buffer.from([1, 2, 3, 4]);
  const len = payload.length;
  const head = len < 126 ? Buffer.from([0, 0x80 | len]) : Buffer.from([0, 0x80 | 126, len >> 8, len & 0xff]);
  if (len > 0xffff) throw new Error("rawWsFrame: payloads up to 64 KiB");
  head[0] = 0x80 | (opts.rsv1 ? 0x40 : 0) | (opts.opcode ?? 2);
  const masked = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]));
  return Buffer.concat([head, mask, masked]);
}

/** Writes raw bytes on the TCP socket under an open WebSocket. */
export function writeRaw(ws: WebSocket, bytes: Buffer): void {
  (ws as unknown as { _socket: net.Socket })._socket.write(bytes);
}

/** A frame whose first 4 bytes claim `headLen` and whose JSON is `json`. */
export function frameWithHead(json: string, headLen = Buffer.byteLength(json), tail: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt32LE(headLen);
  return Buffer.concat([head, Buffer.from(json), tail]);
}
