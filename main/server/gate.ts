/** The checks every request and WebSocket upgrade passes before anything else is read, in this order. */
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { authorize, hostAllowed, originAllowed, requestUrl, type Credentials } from "./auth";

export type GateResult = { ok: true; url: URL; access: "token" | "cookie" } | { ok: false; status: number; message: string };

export function gate(req: IncomingMessage, port: number, creds: Credentials, kind: "request" | "upgrade"): GateResult {
  if (!hostAllowed(req.headers.host, port)) return { ok: false, status: 403, message: `This server answers only to 127.0.0.1:${port} or localhost:${port}.` };
  const url = requestUrl(req);
  if (!url) return { ok: false, status: 400, message: "The request URL does not parse." };
  if (kind === "upgrade") {
    if (url.pathname !== "/ws") return { ok: false, status: 404, message: "WebSocket connections go to /ws." };
    if (!originAllowed(req.headers.origin, port))
      return { ok: false, status: 403, message: "WebSocket connections are accepted from this server's own pages only." };
  }
  const access = authorize(req, url, creds);
  if (!access) return { ok: false, status: 401, message: "This SLAF Workbench needs the token from the URL it printed at start." };
  return { ok: true, url, access };
}

const STATUS_TEXT: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  408: "Request Timeout",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
};

/** An HTTP refusal written straight to a socket (upgrades and parse errors have no ServerResponse). */
export function refuseSocket(socket: Duplex, status: number, message: string): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = `${status}: ${message}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? "Error"}\r\nconnection: close\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}
