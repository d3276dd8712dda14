/**
 * The gateway's loopback HTTP server. A request must carry the right Host (127.0.0.1 or localhost with this
 * port, against DNS rebinding) and start with the per-launch secret; anything else gets 403 before any work.
 * Then only the Hub's read APIs are served; writes and everything unknown get 403 and never reach the upstream.
 * Requests signed with SigV4 go to the S3 face instead, which requires a valid signature by a local key.
 */
import { timingSafeEqual } from "node:crypto";
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { Counters } from "./counters";
import { errorResponse, GatewayError } from "./errors";
import { parseHubRoute } from "./hub-routes";
import type { Answer, HubService } from "./hub-service";
import { parseClientRange, spanOf, type FreshBlocks, type RemoteFiles } from "./remote-files";
import { endWithParts, streamBody } from "./send-parts";
import { isS3Request, type S3Handler } from "./s3-handler";

const MAX_REQUEST_BODY = 1024 * 1024;
/** Reads up to this size are assembled before the headers go out, so a block evicted meanwhile is fetched again. */
const MAX_BUFFERED_READ = 8 * 1024 * 1024;

export interface GatewayServer {
  port: number;
  /** Requests being answered now (Hub and S3 faces). */
  active(): number;
  close(): Promise<void>;
}

/**
 * The Hub face that answers a request: the gateway's own, or a cold scope's (index.ts `coldScope`), which Lance
 * names with the scope's token as `hf_token` (so it arrives as `Authorization: Bearer <token>`); null for the
 * token of a scope that has ended (its late reads are refused rather than served from the user's cache).
 */
export type HubFor = (authorization: string | undefined) => HubService | null;

function secretMatches(given: string, secret: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(secret);
  return a.length === b.length && timingSafeEqual(a, b);
}

async function readBody(req: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_REQUEST_BODY) throw new GatewayError("BadRequest", "The request body is too large");
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function refuse(res: http.ServerResponse, message: string): void {
  res.writeHead(403, { "content-type": "text/plain; charset=utf-8", "x-error-code": "ReadOnly", "x-error-message": message, connection: "close" });
  res.end(`${message}\n`);
}

/** `s3`: the S3 face (s3-handler.ts), for requests signed with SigV4; it checks the signature itself. */
export async function startGatewayServer(secret: string, hubFor: HubFor, counters: Counters, s3?: S3Handler): Promise<GatewayServer> {
  const sockets = new Set<Socket>();
  let port = 0;
  let active = 0;

  function sendAnswer(hub: HubService, res: http.ServerResponse, answer: Answer, head: boolean): void {
    const body = Buffer.from(answer.doc.body, "utf8");
    hub.hit(answer, body.length);
    counters.bytesServed += head ? 0 : body.length;
    res.writeHead(answer.doc.status, { ...answer.doc.headers, "content-length": String(body.length) });
    res.end(head ? undefined : body);
  }

  async function serveFile(
    hub: HubService,
    req: http.IncomingMessage,
    res: http.ServerResponse,
    route: Extract<ReturnType<typeof parseHubRoute>, { kind: "resolve" }>,
  ): Promise<void> {
    const files: RemoteFiles = hub.files;
    const parsed = parseClientRange(req.headers.range);
    const range = parsed === "invalid" ? null : parsed;
    const sha = await hub.resolveSha(route.repo, route.rev);
    const f = { repo: route.repo, sha, path: route.path };
    // A HEAD learns the size from the first block rather than the whole file.
    const fresh: FreshBlocks = new Map(); // what a first read of the file fetches, kept for this answer
    const { meta, fetched } = await files.meta(f, route.head ? { start: 0, end: 0 } : range, fresh);
    const span = spanOf(range, meta.size);
    const headers: Record<string, string> = { "accept-ranges": "bytes", "x-repo-commit": sha, "content-type": "application/octet-stream" };
    if (meta.etag) headers.etag = `"${meta.etag}"`;
    if (!span) {
      res.writeHead(416, { ...headers, "content-range": `bytes */${meta.size}` });
      res.end();
      return;
    }
    const length = span.end - span.start + 1;
    headers["content-length"] = String(length);
    if (range) headers["content-range"] = `bytes ${span.start}-${span.end}/${meta.size}`;
    if (route.head) {
      res.writeHead(range ? 206 : 200, headers);
      res.end();
      return;
    }
    if (length <= MAX_BUFFERED_READ) {
      const { parts, fromCache, release } = await files.readSpan(f, meta, span.start, span.end, fresh);
      hub.hit({ fromCache: fromCache && !fetched }, length);
      counters.bytesServed += length;
      res.writeHead(range ? 206 : 200, headers);
      endWithParts(res, parts, release);
      return;
    }
    const { fromCache } = await files.ensure(f, meta, span.start, span.end);
    hub.hit({ fromCache: fromCache && !fetched }, length);
    res.writeHead(range ? 206 : 200, headers);
    await streamBody(res, files.read(f, meta, span.start, span.end), (n) => (counters.bytesServed += n));
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const method = req.method ?? "GET";
    const host = req.headers.host ?? "";
    if (host !== `127.0.0.1:${port}` && host !== `localhost:${port}`) return refuse(res, "Forbidden");
    if (s3 && isS3Request(req)) return s3.handle(req, res);
    const raw = req.url ?? "";
    const q = raw.indexOf("?");
    const rawPath = q < 0 ? raw : raw.slice(0, q);
    const query = new URLSearchParams(q < 0 ? "" : raw.slice(q + 1));
    const slash = rawPath.indexOf("/", 1);
    if (!rawPath.startsWith("/") || slash < 0 || !secretMatches(rawPath.slice(1, slash), secret)) return refuse(res, "Forbidden");
    const route = parseHubRoute(method, rawPath.slice(slash), query);
    const hub = hubFor(req.headers.authorization);
    if (!hub) return refuse(res, "This cold read has ended");
    switch (route.kind) {
      case "refused":
      case "unknown":
        return refuse(res, `SLAF Workbench's gateway serves only Hub reads: ${route.reason}`);
      case "repo-info":
        return sendAnswer(hub, res, await hub.repoInfo(route.repo), method === "HEAD");
      case "revision-info":
        return sendAnswer(hub, res, await hub.revisionInfo(route.repo, route.rev), method === "HEAD");
      case "tree":
        return sendAnswer(hub, res, await hub.tree(route.repo, route.rev, route.path, route.recursive, route.expand), method === "HEAD");
      case "paths-info":
        return sendAnswer(hub, res, await hub.pathsInfo(route.repo, route.rev, await readBody(req), req.headers["content-type"]), false);
      case "resolve":
        return serveFile(hub, req, res, route);
    }
  }

  const server = http.createServer((req, res) => {
    active++;
    res.once("close", () => active--);
    handle(req, res).catch((e: unknown) => {
      const error =
        e instanceof GatewayError
          ? e
          : new GatewayError("SourceUnreachable", `The gateway failed: ${e instanceof Error ? e.message : String(e)}`, { status: 500 });
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const { status, headers, body } = errorResponse(error);
      res.writeHead(status, { ...headers, "content-length": String(Buffer.byteLength(body)) });
      res.end(body);
    });
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  server.on("clientError", (_e, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  return {
    port,
    active: () => active,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}
