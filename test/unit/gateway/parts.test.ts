/** The gateway's pure parts: Hub routes, ranges, rate-limit headers and pacing, CDN URL expiry, error mapping. */
import { describe, expect, it } from "vitest";
import { CdnUrls, signedUrlExpiry } from "../../../main/services/gateway/cdn-urls";
import { appFailureFromLanceError } from "../../../main/services/gateway/errors";
import { parseHubRoute } from "../../../main/services/gateway/hub-routes";
import { paceDelay, parseRateLimit, parseRateLimitPolicy, parseRetryAfter, RateBudget } from "../../../main/services/gateway/rate-budget";
import { parseClientRange, spanOf } from "../../../main/services/gateway/remote-files";

const route = (method: string, p: string): ReturnType<typeof parseHubRoute> => {
  const [pathPart, query = ""] = p.split("?");
  return parseHubRoute(method, pathPart, new URLSearchParams(query));
};

describe("parseHubRoute", () => {
  it("reads the Hub read APIs, decoding each segment after splitting (a revision may hold %2F)", () => {
    const repo = { owner: "acme", name: "atlas" };
    expect(route("GET", "/api/datasets/acme/atlas")).toEqual({ kind: "repo-info", repo });
    expect(route("GET", "/api/datasets/acme/atlas/revision/refs%2Fpr%2F1")).toEqual({ kind: "revision-info", repo, rev: "refs/pr/1" });
    expect(route("GET", "/api/datasets/acme/atlas/tree/main/?expand=True")).toEqual({
      kind: "tree",
      repo,
      rev: "main",
      path: "",
      recursive: false,
      expand: true,
    });
    expect(route("GET", "/api/datasets/acme/atlas/tree/v1%2E0/a.slaf/x.lance/_versions?expand=True&recursive=True")).toMatchObject({
      rev: "v1.0",
      path: "a.slaf/x.lance/_versions",
      recursive: true,
    });
    // huggingface_hub sends the folder as one segment with %2F inside.
    expect(route("GET", "/api/datasets/acme/atlas/tree/main/a.slaf%2Fx.lance")).toMatchObject({ path: "a.slaf/x.lance" });
    expect(route("POST", "/api/datasets/acme/atlas/paths-info/main")).toEqual({ kind: "paths-info", repo, rev: "main" });
    expect(route("GET", "/datasets/acme/atlas/resolve/main/a.slaf/config.json")).toEqual({
      kind: "resolve",
      repo,
      rev: "main",
      path: "a.slaf/config.json",
      head: false,
    });
    expect(route("HEAD", "/datasets/acme/atlas/resolve/main/a%20b.txt")).toMatchObject({ path: "a b.txt", head: true });
  });

  it("refuses writes and leaves everything else unknown, including paths that climb out", () => {
    for (const [method, p] of [
      ["PUT", "/datasets/acme/atlas/resolve/main/x"],
      ["POST", "/api/datasets/acme/atlas/commit/main"],
      ["GET", "/api/datasets/acme/atlas/xet-write-token/main"],
      ["DELETE", "/api/datasets/acme/atlas"],
      ["POST", "/datasets/acme/atlas.git/info/lfs/objects/batch"],
      ["GET", "/api/models/acme/atlas"],
    ]) {
      expect(route(method, p).kind, `${method} ${p}`).toBe("refused");
    }
    for (const p of [
      "/datasets/acme/atlas/resolve/main/../x",
      "/datasets/acme/atlas/resolve/main/a/%2E%2E/%2E%2E/x",
      "/datasets/acme/atlas/resolve/main/a%2F..%2Fb",
      "/datasets/acme/atlas/resolve/main/a//b",
      "/datasets/acme/atlas/resolve/main/a%5Cb",
      "/datasets/../atlas/resolve/main/x",
      "/api/datasets/acme/atlas/tree/main/%E0%A4%A",
      "/api/whoami-v2",
    ]) {
      expect(route("GET", p).kind, p).toBe("unknown");
    }
  });
});

describe("ranges", () => {
  it("parses a client's Range and spans it over a file", () => {
    expect(parseClientRange(undefined)).toBeNull();
    expect(parseClientRange("bytes=5-9")).toEqual({ start: 5, end: 9 });
    expect(parseClientRange("bytes=5-")).toEqual({ start: 5, end: null });
    expect(parseClientRange("bytes=-3")).toEqual({ suffix: 3 });
    for (const bad of ["bytes=9-5", "bytes=-", "items=1-2", "bytes=1-2,4-5"]) expect(parseClientRange(bad), bad).toBe("invalid");
    expect(spanOf({ start: 5, end: 100 }, 10)).toEqual({ start: 5, end: 9 });
    expect(spanOf({ suffix: 3 }, 10)).toEqual({ start: 7, end: 9 });
    expect(spanOf({ suffix: 30 }, 10)).toEqual({ start: 0, end: 9 });
    expect(spanOf({ start: 10, end: null }, 10)).toBeNull();
    expect(spanOf(null, 0)).toEqual({ start: 0, end: -1 });
  });
});

describe("rate-limit headers and pacing", () => {
  it("reads RateLimit, RateLimit-Policy and Retry-After", () => {
    expect(parseRateLimit('"resolvers";r=12;t=40')).toEqual({ bucket: "resolvers", remaining: 12, resetSeconds: 40 });
    expect(parseRateLimit("api;r=0;t=1")).toEqual({ bucket: "api", remaining: 0, resetSeconds: 1 });
    expect(parseRateLimit('"api";r=3')).toBeNull();
    expect(parseRateLimit("nonsense")).toBeNull();
    expect(parseRateLimitPolicy('"fixed window";"resolvers";q=3000;w=300')).toEqual({ bucket: "resolvers", quota: 3000, windowSeconds: 300 });
    expect(parseRetryAfter("7", 0)).toBe(7000);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4000)).toBe(6000);
    expect(parseRetryAfter("soon", 0)).toBeNull();
  });

  it("paces only when the budget runs low, and waits for the reset when it is spent", () => {
    const now = 1_000_000;
    expect(paceDelay(undefined, now)).toBe(0);
    expect(paceDelay({ remaining: 2000, resetAt: now + 300_000, quota: 3000, windowSeconds: 300 }, now)).toBe(0);
    expect(paceDelay({ remaining: 299, resetAt: now + 300_000, quota: 3000, windowSeconds: 300 }, now)).toBe(1000);
    expect(paceDelay({ remaining: 0, resetAt: now + 42_000, quota: 3000, windowSeconds: 300 }, now)).toBe(42_000);
    expect(paceDelay({ remaining: 0, resetAt: now - 1, quota: 3000, windowSeconds: 300 }, now)).toBe(0);

    const budget = new RateBudget();
    const headers = new Map([
      ["ratelimit", '"resolvers";r=6;t=10'],
      ["ratelimit-policy", '"fixed window";"resolvers";q=50;w=300'],
    ]);
    budget.observe({ get: (n) => headers.get(n) }, now);
    expect(budget.snapshot().resolvers).toEqual({ remaining: 6, resetAt: now + 10_000, quota: 50, windowSeconds: 300 });
    expect(budget.take("resolvers", now)).toBe(0); // 6 left: above the low mark of 5
    expect(budget.take("resolvers", now)).toBe(Math.ceil(10_000 / 6)); // 5 left: spread over the 10 s left
    budget.exhausted("resolvers", 3000, now);
    expect(budget.take("resolvers", now)).toBe(3000);
    expect(budget.take("api", now)).toBe(0);
  });
});

describe("CDN URLs", () => {
  it("knows when signed URLs expire and stops using them shortly before", () => {
    const now = Date.UTC(2026, 0, 1, 12, 0, 0);
    expect(signedUrlExpiry(new URL(`https://cdn-lfs.hf.co/x?Expires=${now / 1000 + 3600}&Signature=s`), now)).toBe(now + 3600_000);
    expect(signedUrlExpiry(new URL("https://cas-bridge.xethub.hf.co/x?X-Amz-Date=20260101T120000Z&X-Amz-Expires=600&X-Amz-Signature=s"), now)).toBe(
      now + 600_000,
    );
    expect(signedUrlExpiry(new URL("https://cdn.example/x"), now)).toBe(now + 60_000);
    const urls = new CdnUrls();
    urls.set("f", new URL(`https://cdn-lfs.hf.co/x?Expires=${now / 1000 + 3600}`), now);
    expect(urls.get("f", now + 3000_000)?.host).toBe("cdn-lfs.hf.co");
    expect(urls.get("f", now + 3550_000)).toBeNull(); // within a minute of expiry
    urls.set("g", new URL(`https://cdn-lfs.hf.co/x?Expires=${now / 1000 - 1}`), now);
    expect(urls.get("g", now)).toBeNull();
  });
});

describe("appFailureFromLanceError", () => {
  // Shapes of what LanceDB 0.39 reports when the gateway answers with an error (seen in this project's tests).
  const readError = (code: string, status: number, message: string): Error =>
    new Error(
      `Failed to get next batch from stream: lance error: LanceError(IO): Generic Unexpected error: Unexpected (permanent) at read, context: { service_operation: Resolve, uri: http://127.0.0.1:33387/SECRET/datasets/acme/pbmc/resolve/aaa44e889a2785a47cc75ea28405e5667f8a032b/pbmc.slaf/expression.lance/data/0011.lance, response: Parts { status: ${status}, version: HTTP/1.1, headers: {"content-type": "application/json", "x-error-code": "${code}", "x-error-message": "${message}", "content-length": "166"} }, service: hf, path: pbmc.slaf/expression.lance/data/0011.lance, range: 65424-130959 } => ${message}, /rustc/2d8144b7880597b6e6d3dfd63a9a9efae3f533d3/library/core/src/ops/function.rs:250:5`,
    );

  it("turns gateway failures inside Lance errors into named AppFailures naming the table and file", () => {
    const offline = appFailureFromLanceError(
      readError(
        "OfflineNotCached",
        409,
        "Offline, and pbmc.slaf/expression.lance/data/0011.lance (bytes 0-47 of acme/pbmc at aaa44e88) is not in the local cache",
      ),
    );
    expect(offline?.appError).toMatchObject({
      code: "OFFLINE_NOT_CACHED",
      message: 'Table "expression": Offline, and pbmc.slaf/expression.lance/data/0011.lance (bytes 0-47 of acme/pbmc at aaa44e88) is not in the local cache',
      path: "pbmc.slaf/expression.lance/data/0011.lance",
    });
    expect(offline?.appError.detail).not.toMatch(/rustc|\.rs:\d/);
    expect(appFailureFromLanceError(readError("OfflineNotCached", 409, "x"), { table: "cells" })?.appError.message).toBe('Table "cells": x');
    expect(appFailureFromLanceError(readError("CacheDiskFull", 507, "No space left"))?.appError.code).toBe("DISK_FULL");
    expect(appFailureFromLanceError(readError("RateLimited", 409, "The Hub is rate limiting"))?.appError).toMatchObject({
      code: "RATE_LIMITED",
      retryable: true,
    });
    expect(appFailureFromLanceError(readError("SourceUnreachable", 502, "down"))?.appError.code).toBe("SOURCE_UNREACHABLE");
    expect(appFailureFromLanceError(readError("RepoNotFound", 404, "gone"))?.appError.code).toBe("DATASET_NOT_FOUND");
    expect(appFailureFromLanceError(readError("RepoNotFound", 401, "private?"))?.appError.code).toBe("AUTH_REQUIRED");
    expect(appFailureFromLanceError(readError("RevisionNotFound", 404, "Invalid rev id"))?.appError.code).toBe("REVISION_NOT_FOUND");
    expect(appFailureFromLanceError(readError("GatedRepo", 401, "restricted"))?.appError.code).toBe("AUTH_REQUIRED");
  });

  it("reads the multi-line form of connect errors, without the backtrace", () => {
    const e = new Error(
      'Invalid input, Failed to connect to namespace: IO { source: Generic { store: "Unexpected", source: Unexpected (permanent) at list => Offline, and the description of acme/nope is not in the local cache\n\nContext:\n   service_operation: RepoInfo\n   uri: http://127.0.0.1:1/S/api/datasets/acme/nope\n   response: Parts { status: 409, version: HTTP/1.1, headers: {"content-type": "application/json", "x-error-code": "OfflineNotCached", "x-error-message": "Offline, and the description of acme/nope is not in the local cache", "content-length": "79"} }\n   service: hf\n   path: x.slaf/__manifest/_versions/\n   listed: 0\n\nBacktrace:\n   0: <opendal_core::types::error::Error>::new\n',
    );
    const failure = appFailureFromLanceError(e);
    expect(failure?.appError).toMatchObject({ code: "OFFLINE_NOT_CACHED", message: "Offline, and the description of acme/nope is not in the local cache" });
    expect(failure?.appError.detail).not.toContain("Backtrace");
  });

  it("leaves other errors alone", () => {
    expect(appFailureFromLanceError(new Error("lance error: Not found: pbmc.slaf/cells.lance/_versions"))).toBeNull();
    expect(appFailureFromLanceError(new Error('headers: {"x-error-code": "SomethingElse"}'))).toBeNull();
    expect(appFailureFromLanceError("plain text")).toBeNull();
  });
});
