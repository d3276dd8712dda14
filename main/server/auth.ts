import { randomBytes, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";

/**
 * Who may talk to the server. The printed URL carries the per-launch token; the first page load with it gets a
 * cookie holding a separate random session value (never the token), named after the port so two instances on
 * one host do not overwrite each other's cookie. Tools may send `Authorization: Bearer <token>` instead.
 */
export interface Credentials {
  token: string;
  cookieValue: string;
  cookieName: string;
}

export function newToken(): string {
  return randomBytes(24).toString("base64url");
}

export function newCredentials(token: string, port: number): Credentials {
  return { token, cookieValue: randomBytes(24).toString("base64url"), cookieName: `slafwb_${port}` };
}

/** The request's URL, or null when it does not parse (`GET //[`, `GET http://[::1`). */
export function requestUrl(req: IncomingMessage): URL | null {
  try {
    return new URL(req.url ?? "/", "http://127.0.0.1");
  } catch {
    return null;
  }
}

/**
 * Only our own loopback names with our port, against DNS rebinding: a page on evil.example resolved to
 * 127.0.0.1 still sends `Host: evil.example:<port>`.
 */
export function hostAllowed(host: string | undefined, port: number): boolean {
  if (!host) return false;
  const h = host.toLowerCase();
  return h === `127.0.0.1:${port}` || h === `localhost:${port}` || (port === 80 && (h === "127.0.0.1" || h === "localhost"));
}

/** Same origin only; a request without Origin comes from a tool, not a page. */
export function originAllowed(origin: string | undefined, port: number): boolean {
  return origin === undefined || origin === `http://127.0.0.1:${port}` || origin === `http://localhost:${port}`;
}

function same(presented: string, expected: string): boolean {
  const a = Buffer.from(presented);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Cookie values are compared as sent: ours is base64url, so nothing needs decoding (and nothing can fail to). */
function cookie(req: IncomingMessage, name: string): string[] {
  const values: string[] = [];
  for (const part of (req.headers.cookie ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) values.push(part.slice(eq + 1).trim());
  }
  return values;
}

/** How the request proves it may talk to us: the token (query or Bearer), the session cookie, or not at all. */
export function authorize(req: IncomingMessage, url: URL, creds: Credentials): "token" | "cookie" | null {
  const fromQuery = url.searchParams.get("token");
  if (fromQuery !== null && same(fromQuery, creds.token)) return "token";
  const auth = req.headers.authorization;
  if (auth?.startsWith("Bearer ") && same(auth.slice("Bearer ".length), creds.token)) return "token";
  if (cookie(req, creds.cookieName).some((v) => same(v, creds.cookieValue))) return "cookie";
  return null;
}

export function sessionCookie(creds: Credentials): string {
  return `${creds.cookieName}=${creds.cookieValue}; HttpOnly; SameSite=Strict; Path=/`;
}
