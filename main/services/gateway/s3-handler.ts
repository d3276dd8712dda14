/**
 * The gateway's S3 face, as Lance sees it (path-style, SigV4 with the local key pair of one dataset open). A
 * request is served only when its signature checks out with the secret of the open its access key id names,
 * and only inside that open's bucket and prefix; then only reads: GET and HEAD of objects (with Range) and
 * ListObjectsV2. Everything else gets 403 before any upstream request. Errors go back in S3's XML shape with
 * the gateway's code (errors.ts maps them out of Lance's error text).
 */
import type http from "node:http";
import { GatewayError } from "./errors";
import { withinFolder } from "./hub-routes";
import { parseClientRange, spanOf } from "./remote-files";
import type { S3Counters } from "./s3-counters";
import type { S3Objects, S3Session } from "./s3-objects";
import { parseRawQuery, verifyRequest } from "./s3-sigv4";
import type { ObjectHead } from "./s3-upstream";
import { errorXml } from "./s3-xml";
import { endWithParts, streamBody } from "./send-parts";
import { unquote } from "./upstream";

/** Reads up to this size are assembled before the headers go out (as the Hub side does). */
const MAX_BUFFERED_READ = 8 * 1024 * 1024;
/** The AWS SDKs add `x-id=<operation>` to every request; it changes nothing. */
const IGNORED_PARAMS = new Set(["x-id"]);

export type S3Route =
  | { kind: "list"; bucket: string; query: Map<string, string[]> }
  | { kind: "object"; bucket: string; key: string; head: boolean }
  | { kind: "refused"; reason: string };

/** Whether a request is meant for the S3 face: signed with SigV4 (the Hub face's requests never are). */
export function isS3Request(req: http.IncomingMessage): boolean {
  return /^AWS4-HMAC-SHA256\s/.test(req.headers.authorization ?? "");
}

/** Parses a path-style S3 request. Only reads are routes; writes and other APIs are refused. */
export function parseS3Route(method: string, rawPath: string, query: Map<string, string[]>): S3Route {
  if (method !== "GET" && method !== "HEAD") return { kind: "refused", reason: `${method} is a write; SLAF Workbench is read-only` };
  const params = [...query.keys()].filter((k) => !IGNORED_PARAMS.has(k));
  const slash = rawPath.indexOf("/", 1);
  let bucket: string;
  let key: string;
  try {
    bucket = decodeURIComponent(slash < 0 ? rawPath.slice(1) : rawPath.slice(1, slash));
    key =
      slash < 0
        ? ""
        : rawPath
            .slice(slash + 1)
            .split("/")
            .map(decodeURIComponent)
            .join("/");
  } catch {
    return { kind: "refused", reason: "the path is not valid percent-encoding" };
  }
  if (!bucket) return { kind: "refused", reason: "listing buckets is not served" };
  if (key === "") {
    if (method === "GET" && query.get("list-type")?.[0] === "2") return { kind: "list", bucket, query };
    return { kind: "refused", reason: `only ListObjectsV2 is served on a bucket${params.length ? ` (not ${params.join(", ")})` : ""}` };
  }
  if (params.length) return { kind: "refused", reason: `object sub-resources are not served (${params.join(", ")})` };
  return { kind: "object", bucket, key, head: method === "HEAD" };
}

function send(res: http.ServerResponse, status: number, code: string, message: string, key?: string, head = false): void {
  const body = errorXml(code, message, key);
  res.writeHead(status, {
    "content-type": "application/xml",
    "x-error-code": code,
    "x-error-message": message.replace(/[^\x20-\x7e]/g, "?").slice(0, 1000),
    "content-length": String(Buffer.byteLength(body)),
  });
  res.end(head ? undefined : body);
}

function objectHeaders(head: ObjectHead): Record<string, string> {
  const modified = new Date(head.lastModified);
  return {
    "accept-ranges": "bytes",
    etag: `"${head.etag}"`,
    "last-modified": Number.isNaN(modified.getTime()) ? head.lastModified : modified.toUTCString(),
    "content-type": "application/octet-stream",
  };
}

export class S3Handler {
  constructor(
    private readonly objects: S3Objects,
    private readonly counters: S3Counters,
  ) {}

  /** Answers one request; never throws. */
  async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const method = req.method ?? "GET";
    try {
      await this.serve(req, res, method);
    } catch (e) {
      const error =
        e instanceof GatewayError
          ? e
          : new GatewayError("SourceUnreachable", `The gateway failed: ${e instanceof Error ? e.message : String(e)}`, { status: 500 });
      if (res.headersSent) {
        res.destroy();
        return;
      }
      send(res, error.status, error.code, error.message, error.path, method === "HEAD");
    }
  }

  private async serve(req: http.IncomingMessage, res: http.ServerResponse, method: string): Promise<void> {
    const raw = req.url ?? "";
    const q = raw.indexOf("?");
    const rawPath = q < 0 ? raw : raw.slice(0, q);
    const rawQuery = q < 0 ? "" : raw.slice(q + 1);
    const verified = await verifyRequest({ method, rawPath, rawQuery, headers: req.headers }, (id) => this.objects.session(id)?.secret ?? null);
    if (!verified.ok) return send(res, 403, "AccessDenied", `Forbidden: ${verified.reason}`, undefined, method === "HEAD");
    const session = this.objects.session(verified.accessKeyId)!;
    const query = parseRawQuery(rawQuery) ?? new Map<string, string[]>();
    const route = parseS3Route(method, rawPath, query);
    if (route.kind === "refused")
      return send(res, 403, "ReadOnly", `SLAF Workbench's gateway serves only S3 reads: ${route.reason}`, undefined, method === "HEAD");
    if (route.bucket !== session.bucket)
      return send(res, 403, "AccessDenied", `Forbidden: this dataset is in bucket ${session.bucket}`, undefined, method === "HEAD");
    if (route.kind === "list") return this.list(res, session, route.query);
    if (!withinFolder(route.key, session.prefix))
      return send(res, 403, "AccessDenied", `Forbidden: ${route.key} is outside the dataset`, undefined, route.head);
    return this.object(req, res, session, route.key, route.head);
  }

  private async list(res: http.ServerResponse, session: S3Session, query: Map<string, string[]>): Promise<void> {
    const prefix = query.get("prefix")?.[0] ?? "";
    // A listing reaches inside the dataset: its prefix starts inside it, or is the dataset's own folder.
    const within = session.prefix === "" || prefix.startsWith(`${session.prefix}/`) || prefix === session.prefix;
    if (!within) return send(res, 403, "AccessDenied", `Forbidden: listing ${prefix || "/"} reaches outside the dataset`);
    const { body, fromCache } = await this.objects.list(session, query);
    const bytes = Buffer.from(body, "utf8");
    this.counters.hit(fromCache, bytes.length);
    this.counters.bytesServed += bytes.length;
    res.writeHead(200, { "content-type": "application/xml", "content-length": String(bytes.length) });
    res.end(bytes);
  }

  private async object(req: http.IncomingMessage, res: http.ServerResponse, session: S3Session, key: string, head: boolean): Promise<void> {
    const { head: object, fromCache: knownHead } = await this.objects.object(session, key);
    const headers = objectHeaders(object);
    const ifMatch = req.headers["if-match"];
    if (ifMatch && ifMatch !== "*" && !ifMatch.split(",").some((t) => unquote(t.trim()) === object.etag)) {
      res.writeHead(412, headers);
      res.end();
      return;
    }
    const ifNoneMatch = req.headers["if-none-match"];
    if (ifNoneMatch && (ifNoneMatch === "*" || ifNoneMatch.split(",").some((t) => unquote(t.trim()) === object.etag))) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    const parsed = parseClientRange(req.headers.range);
    const range = parsed === "invalid" ? null : parsed;
    const span = spanOf(range, object.size);
    if (!span) {
      res.writeHead(416, { ...headers, "content-range": `bytes */${object.size}` });
      res.end();
      return;
    }
    const length = span.end - span.start + 1;
    headers["content-length"] = String(length);
    if (range) headers["content-range"] = `bytes ${span.start}-${span.end}/${object.size}`;
    const status = range ? 206 : 200;
    if (head || length === 0) {
      this.counters.hit(knownHead, 0);
      res.writeHead(status, headers);
      res.end();
      return;
    }
    if (length <= MAX_BUFFERED_READ) {
      const { parts, fromCache, release } = await this.objects.readSpan(session, key, object, span.start, span.end);
      this.counters.hit(fromCache && knownHead, length);
      this.counters.bytesServed += length;
      res.writeHead(status, headers);
      endWithParts(res, parts, release);
      return;
    }
    const files = session.mount.files;
    const { f, meta, fromCache } = await this.objects.ensure(session, key, object, span.start, span.end);
    this.counters.hit(fromCache && knownHead, length);
    res.writeHead(status, headers);
    await streamBody(res, files.read(f, meta, span.start, span.end), (n) => (this.counters.bytesServed += n));
  }
}
