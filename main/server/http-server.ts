import http from "node:http";
import type { AddressInfo } from "node:net";
import { WebSocketServer, type WebSocket } from "ws";
import { EVENT_NAMES, channelOf, type EventName, type Events, type Namespace } from "../../shared/ipc/contract";
import { decodeFrame, encodeFrame, type WireMessage } from "../../shared/ipc/wire";
import { handlerTable } from "../services/dispatch";
import { toAppError } from "../services/errors";
import type { Services } from "../services/index";
import { TOKEN_COOKIE, presentedToken, tokenMatches } from "./auth";
import { serveStatic } from "./static-files";

export interface BrowserServer {
  url: string;
  port: number;
  token: string;
  /** Push an event to every connected page. */
  broadcast<E extends EventName>(name: E, payload: Events[E]): void;
  close(): Promise<void>;
}

export interface BrowserServerOptions {
  port: number;
  token: string;
  staticDir: string;
  /** Services are created after the server knows its URL, so they can emit through it. */
  services: () => Services;
}

/** Browser mode: the renderer bundle and the contract over one WebSocket, on 127.0.0.1 only, token required. */
export async function startBrowserServer(options: BrowserServerOptions): Promise<BrowserServer> {
  const { token } = options;
  const sockets = new Set<WebSocket>();
  let handlers: ReturnType<typeof handlerTable> | null = null;
  const table = () => (handlers ??= handlerTable(options.services().api));

  const server = http.createServer((req, res) => {
    if (!tokenMatches(presentedToken(req), token)) {
      res.writeHead(401, { "content-type": "text/plain; charset=utf-8" }).end("401: this SLAF Workbench needs the token from the URL it printed at start.\n");
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405).end();
      return;
    }
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    if (url.searchParams.has("token")) {
      res.setHeader("set-cookie", `${TOKEN_COOKIE}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`);
    }
    serveStatic(options.staticDir, url.pathname, res).catch((e: Error) => {
      if (!res.headersSent) res.writeHead(500).end(e.message);
    });
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 * 1024 });
  server.on("upgrade", (req, socket, head) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const origin = req.headers.origin;
    const port = (server.address() as AddressInfo).port;
    const sameOrigin = !origin || origin === `http://127.0.0.1:${port}` || origin === `http://localhost:${port}`;
    if (url.pathname !== "/ws" || !sameOrigin || !tokenMatches(presentedToken(req), token)) {
      socket.end("HTTP/1.1 401 Unauthorized\r\nconnection: close\r\n\r\n");
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.add(ws);
      ws.on("close", () => sockets.delete(ws));
      ws.on("message", (data: Buffer, isBinary: boolean) => {
        if (!isBinary) return;
        void answer(ws, data);
      });
    });
  });

  async function answer(ws: WebSocket, data: Buffer): Promise<void> {
    let msg: WireMessage;
    try {
      msg = decodeFrame(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)) as WireMessage;
    } catch {
      return;
    }
    if (msg.t !== "call") return;
    let frame: Uint8Array;
    try {
      const handler = table().get(channelOf(msg.ns as Namespace, msg.method));
      const result = handler
        ? await handler(msg.arg)
        : { ok: false, error: { code: "INVALID_ARGUMENT", message: `Unknown method ${msg.ns}.${msg.method}` } };
      frame = encodeFrame({ t: "result", id: msg.id, result } satisfies WireMessage);
    } catch (e) {
      // Whatever goes wrong answers this call; it never takes the server down.
      frame = encodeFrame({ t: "result", id: msg.id, result: { ok: false, error: toAppError(e) } } satisfies WireMessage);
    }
    if (ws.readyState === ws.OPEN) ws.send(frame);
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/?token=${token}`,
    port,
    token,
    broadcast(name, payload) {
      if (!EVENT_NAMES.includes(name)) return;
      const frame = encodeFrame({ t: "event", name, payload } satisfies WireMessage);
      for (const ws of sockets) if (ws.readyState === ws.OPEN) ws.send(frame);
    },
    async close() {
      for (const ws of sockets) ws.terminate();
      wss.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
