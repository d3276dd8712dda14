/**
 * SigV4 on both sides of the gateway's S3 face, with @smithy/signature-v4 (no hand-rolled crypto): checking the
 * signature Lance made with the gateway's local key pair, and signing the request the gateway sends upstream
 * with the user's credentials. S3 signs the path as sent (no double escaping) and takes the payload hash from
 * `x-amz-content-sha256`.
 */
import { timingSafeEqual } from "node:crypto";
import type http from "node:http";
import { Hash } from "@smithy/hash-node";
import { SignatureV4 } from "@smithy/signature-v4";

/** sha256 of the empty body: the payload hash of every GET and HEAD. */
export const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
/** A signature older or newer than this is refused (AWS allows the same skew). */
const MAX_SKEW_MS = 15 * 60 * 1000;

const sha256 = Hash.bind(null, "sha256");

/** RFC 3986 encoding as SigV4 wants it: everything but A-Z a-z 0-9 - _ . ~ is percent-encoded. */
export function uriEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** A raw query string as name → values, decoded without turning "+" into a space (SigV4 does not). */
export function parseRawQuery(raw: string): Map<string, string[]> | null {
  const out = new Map<string, string[]>();
  if (raw === "") return out;
  try {
    for (const part of raw.split("&")) {
      if (part === "") continue;
      const eq = part.indexOf("=");
      const name = decodeURIComponent(eq < 0 ? part : part.slice(0, eq));
      const value = eq < 0 ? "" : decodeURIComponent(part.slice(eq + 1));
      out.set(name, [...(out.get(name) ?? []), value]);
    }
  } catch {
    return null;
  }
  return out;
}

function queryObject(query: Map<string, string[]>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of query) out[k] = v.length === 1 ? v[0] : v;
  return out;
}

export interface ParsedAuthorization {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
}

/** `AWS4-HMAC-SHA256 Credential=<key>/<date>/<region>/<service>/aws4_request, SignedHeaders=a;b, Signature=<hex>` */
export function parseAuthorization(value: string | undefined): ParsedAuthorization | null {
  const m = /^AWS4-HMAC-SHA256\s+(.*)$/s.exec(value ?? "");
  if (!m) return null;
  const fields = new Map<string, string>();
  for (const part of m[1].split(",")) {
    const eq = part.indexOf("=");
    if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const scope = (fields.get("Credential") ?? "").split("/");
  const signedHeaders = (fields.get("SignedHeaders") ?? "").split(";").filter(Boolean);
  const signature = fields.get("Signature") ?? "";
  if (scope.length !== 5 || scope[4] !== "aws4_request" || !/^\d{8}$/.test(scope[1]) || !/^[0-9a-f]{64}$/.test(signature) || !signedHeaders.includes("host"))
    return null;
  return { accessKeyId: scope[0], date: scope[1], region: scope[2], service: scope[3], signedHeaders, signature };
}

/** `20261125T225759Z` → a Date, or null. */
function parseAmzDate(value: string | undefined): Date | null {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value ?? "");
  if (!m) return null;
  return new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])));
}

function headerValue(headers: http.IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(",") : v;
}

export type VerifyResult = { ok: true; accessKeyId: string } | { ok: false; reason: string };

/**
 * Checks a request's SigV4 Authorization header against `secretOf(accessKeyId)` (null: unknown key) by signing
 * the same canonical request again (the signed headers, the raw path, the query, the date and scope the client
 * used) and comparing signatures in constant time.
 */
export async function verifyRequest(
  req: { method: string; rawPath: string; rawQuery: string; headers: http.IncomingHttpHeaders },
  secretOf: (accessKeyId: string) => string | null,
  now = Date.now(),
): Promise<VerifyResult> {
  const auth = parseAuthorization(headerValue(req.headers, "authorization"));
  if (!auth) return { ok: false, reason: "the request is not signed with AWS Signature Version 4" };
  const secret = secretOf(auth.accessKeyId);
  if (secret === null) return { ok: false, reason: "the access key id is not one this gateway issued" };
  const date = parseAmzDate(headerValue(req.headers, "x-amz-date"));
  if (!date || !auth.signedHeaders.includes("x-amz-date")) return { ok: false, reason: "the signature has no signed x-amz-date" };
  if (Math.abs(now - date.getTime()) > MAX_SKEW_MS) return { ok: false, reason: "the signature's date is too far from now" };
  if (headerValue(req.headers, "x-amz-date")!.slice(0, 8) !== auth.date) return { ok: false, reason: "the signature's scope date does not match x-amz-date" };
  const query = parseRawQuery(req.rawQuery);
  if (!query) return { ok: false, reason: "the query string is not valid percent-encoding" };
  const headers: Record<string, string> = {};
  for (const name of auth.signedHeaders) {
    const v = headerValue(req.headers, name);
    if (v === undefined) return { ok: false, reason: `the signed header ${name} is missing` };
    headers[name] = v;
  }
  // The payload hash the client signed: its x-amz-content-sha256, or the empty body's when it did not sign one.
  if (headers["x-amz-content-sha256"] === undefined) headers["x-amz-content-sha256"] = EMPTY_SHA256;
  const signer = new SignatureV4({
    credentials: { accessKeyId: auth.accessKeyId, secretAccessKey: secret },
    region: auth.region,
    service: auth.service,
    sha256,
    uriEscapePath: false,
    applyChecksum: false,
  });
  const [hostname, port] = (headers.host ?? "").split(":");
  const signed = await signer.sign(
    { method: req.method, protocol: "http:", hostname, port: port ? Number(port) : undefined, path: req.rawPath, query: queryObject(query), headers },
    { signingDate: date, signableHeaders: new Set(auth.signedHeaders) },
  );
  const expected = parseAuthorization(signed.headers.authorization)?.signature ?? "";
  const a = Buffer.from(expected);
  const b = Buffer.from(auth.signature);
  if (a.length !== b.length || !timingSafeEqual(a, b)) return { ok: false, reason: "the signature does not match" };
  return { ok: true, accessKeyId: auth.accessKeyId };
}

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** Signs a GET/HEAD for the upstream; returns the headers to send (host, dates, payload hash, authorization). */
export async function signRequest(
  url: URL,
  method: string,
  headers: Record<string, string>,
  query: Map<string, string[]>,
  creds: S3Credentials,
  region: string,
): Promise<Record<string, string>> {
  const signer = new SignatureV4({ credentials: creds, region, service: "s3", sha256, uriEscapePath: false, applyChecksum: false });
  const signed = await signer.sign({
    method,
    protocol: url.protocol,
    hostname: url.hostname,
    port: url.port ? Number(url.port) : undefined,
    path: url.pathname,
    query: queryObject(query),
    headers: { ...headers, host: url.host, "x-amz-content-sha256": EMPTY_SHA256 },
  });
  return signed.headers;
}
