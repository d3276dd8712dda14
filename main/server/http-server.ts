import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { WebSocketServer, type WebSocket } from "ws";
import { EVENT_NAMES, type EventName, type Events } from "../../shared/ipc/contract";
import { encodeFrame, type WireMessage } from "../../shared/ipc/wire";
import { newCredentials, sessionCookie, type Credentials } from "./auth";
import { gate, refuseSocket } from "./gate";
import { connectionSessionId, PageSessions, validSessionId, type SessionState } from "./page-sessions";
import { serveStatic } from "./static-files";
import { answerFrame, CLOSE, closeWith, ExplainingWebSocket, type CallDispatcher } from "./ws-calls";

export interface BrowserServer {
  url: string;
  port: number;
  token: string;
  /** The cookie a tokened page load sets (a per-launch session value, never the token). */
  cookieName: string;
  /** Push an event to every connected page. */
  broadcast<E extends EventName>(name: E, payload: Events[E]): void;
  /** Page sessions with their open sockets, and whether their grace period is running. */
  sessions(): SessionState[];
  /** Resolves when sessions that have started ending have given back what they held. */
  sessionsSettled(): Promise<void>;
  close(): Promise<void>;
}

export interface BrowserServerOptions {
  port: number;
  token: string;
  staticDir: string;
  /** Services are created after the server knows its URL, so they can emit through it. */
  dispatcher: () => CallDispatcher;
  /**
   * How long a page's session outlives its last socket (a reconnect within it resumes, so a short network or
   * sleep hiccup keeps the page's datasets and results). Default 30 s; a reload is a new session either way.
   */
  sessionGraceMs?: number;
  /** Largest frame a page may send. Default 64 MiB. */
  maxFrameBytes?: number;
}

const TEXT = { "content-type": "text/plain; charset=utf-8" };

/** Node's parser errors, answered instead of ending the process. */
function clientErrorStatus(code: string | undefined): number {
  if (code === "HPE_HEADER_OVERFLOW") return 431;
  if (code === "ERR_HTTP_REQUEST_TIMEOUT") return 408;
  return 400;
}

/** Browser mode: the renderer bundle and the contract over one WebSocket, on 127.0.0.1 only, token required. */
export async function startBrowserServer(options: BrowserServerOptions): Promise<BrowserServer> {
  const { token } = options;
  const sockets = new Set<WebSocket>();
  let port = 0;
  let creds: Credentials = newCredentials(token, port);
  const pages = new PageSessions((session) => options.dispatcher().endSession(session), options.sessionGraceMs ?? 30_000);

  function onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const checked = gate(req, port, creds, "request");
    if (!checked.ok) {
      res.writeHead(checked.status, { ...TEXT, connection: "close" }).end(`${checked.status}: ${checked.message}\n`);
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { ...TEXT, allow: "GET, HEAD" }).end("405: only GET and HEAD.\n");
      return;
    }
    // The first page load exchanges the token in its URL for the session cookie.
    if (checked.access === "token" && checked.url.searchParams.has("token")) res.setHeader("set-cookie", sessionCookie(creds));
    serveStatic(options.staticDir, checked.url.pathname, res).catch((e: Error) => {
      if (!res.headersSent) res.writeHead(500, TEXT).end(`500: ${e.message}\n`);
      else res.destroy();
    });
  }

  const server = http.createServer((req, res) => {
    try {
      onRequest(req, res);
    } catch (e) {
      console.error(`Request ${String(req.url).slice(0, 200)} failed: ${e instanceof Error ? e.message : String(e)}`);
      if (!res.headersSent) res.writeHead(500, TEXT).end("500: internal error\n");
      else res.destroy();
    }
  });
  server.on("clientError", (e: NodeJS.ErrnoException, socket: Duplex) => {
    if (e.code === "ECONNRESET") socket.destroy();
    else refuseSocket(socket, clientErrorStatus(e.code), "The request could not be parsed.");
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxFrameBytes ?? 64 * 1024 * 1024, WebSocket: ExplainingWebSocket });

  function onUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    const checked = gate(req, port, creds, "upgrade");
    if (!checked.ok) return refuseSocket(socket, checked.status, checked.message);
    const asked = checked.url.searchParams.get("session");
    if (asked !== null && !validSessionId(asked)) return refuseSocket(socket, 400, "session must be 16 to 128 letters, digits, '-' or '_'.");
    const session = asked ?? connectionSessionId();
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.add(ws);
      pages.attach(session, ws);
      // ws closes the connection itself after a protocol error (RSV1, oversized frame) and then emits it here.
      ws.on("error", () => undefined);
      ws.on("close", () => {
        sockets.delete(ws);
        pages.detach(session, ws);
      });
      ws.on("message", (data: Buffer, isBinary: boolean) => {
        if (!isBinary) return closeWith(ws, CLOSE.unsupportedData, "SLAF Workbench takes binary frames only (see shared/ipc/wire.ts)");
        answerFrame(ws, data, session, options.dispatcher).catch((e: unknown) => {
          console.error(`Answering a frame failed: ${e instanceof Error ? e.message : String(e)}`);
          ws.terminate();
        });
      });
    });
  }

  server.on("upgrade", (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    // Node hands the raw socket over without an error listener; a reset before the handshake must not throw.
    socket.on("error", () => socket.destroy());
    try {
      onUpgrade(req, socket, head);
    } catch (e) {
      console.error(`Upgrade ${String(req.url).slice(0, 200)} failed: ${e instanceof Error ? e.message : String(e)}`);
      refuseSocket(socket, 500, "internal error");
    }
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  server.on("error", (e) => console.error(`Browser-mode server error: ${e.message}`));
  port = (server.address() as AddressInfo).port;
  creds = newCredentials(token, port);
  return {
    url: `http://127.0.0.1:${port}/?token=${token}`,
    port,
    token,
    cookieName: creds.cookieName,
    broadcast(name, payload) {
      if (!EVENT_NAMES.includes(name)) return;
      const frame = encodeFrame({ t: "event", name, payload } satisfies WireMessage);
      for (const ws of sockets) if (ws.readyState === ws.OPEN) ws.send(frame, () => undefined);
    },
    sessions: () => pages.list(),
    sessionsSettled: () => pages.settled(),
    async close() {
      for (const ws of sockets) ws.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await pages.endAll();
    },
  };
}
