/** Parts of the gateway's S3 side without a server: signature checks, URIs, routes, upstream URLs, XML, error mapping. */
import { describe, expect, it } from "vitest";
import { appFailureFromLanceError } from "../../../main/services/gateway";
import { S3Counters } from "../../../main/services/gateway/s3-counters";
import { parseS3Route } from "../../../main/services/gateway/s3-handler";
import { withinFolder } from "../../../main/services/gateway/hub-routes";
import { parseS3Uri } from "../../../main/services/gateway/s3-objects";
import { parseRawQuery, verifyRequest } from "../../../main/services/gateway/s3-sigv4";
import { S3Upstream } from "../../../main/services/gateway/s3-upstream";
import { errorXml, listedObjects } from "../../../main/services/gateway/s3-xml";

// The worked examples of AWS's "Signature Calculations for the Authorization Header" (Amazon S3 API reference).
const SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const EXAMPLE_TIME = Date.UTC(2013, 4, 24, 0, 5);
const EMPTY = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const getObject = {
  method: "GET",
  rawPath: "/test.txt",
  rawQuery: "",
  headers: {
    host: "examplebucket.s3.amazonaws.com",
    range: "bytes=0-9",
    "x-amz-content-sha256": EMPTY,
    "x-amz-date": "20130524T000000Z",
    authorization:
      "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
  },
};
const listObjects = {
  method: "GET",
  rawPath: "/",
  rawQuery: "max-keys=2&prefix=J",
  headers: {
    host: "examplebucket.s3.amazonaws.com",
    "x-amz-content-sha256": EMPTY,
    "x-amz-date": "20130524T000000Z",
    authorization:
      "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;x-amz-content-sha256;x-amz-date,Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7",
  },
};
const secretOf = (id: string): string | null => (id === "AKIAIOSFODNN7EXAMPLE" ? SECRET : null);

describe("SigV4 checks of requests to the gateway", () => {
  it("accepts AWS's worked examples (a ranged GET and a listing)", async () => {
    expect(await verifyRequest(getObject, secretOf, EXAMPLE_TIME)).toEqual({ ok: true, accessKeyId: "AKIAIOSFODNN7EXAMPLE" });
    expect(await verifyRequest(listObjects, secretOf, EXAMPLE_TIME)).toEqual({ ok: true, accessKeyId: "AKIAIOSFODNN7EXAMPLE" });
  });

  it("refuses a changed path, query, signed header or secret, an unknown key, a stale date and no signature", async () => {
    const refused = async (req: Parameters<typeof verifyRequest>[0], now = EXAMPLE_TIME, secrets = secretOf): Promise<string> => {
      const r = await verifyRequest(req, secrets, now);
      return r.ok ? "accepted" : r.reason;
    };
    expect(await refused({ ...getObject, rawPath: "/test.txt2" })).toBe("the signature does not match");
    expect(await refused({ ...listObjects, rawQuery: "max-keys=3&prefix=J" })).toBe("the signature does not match");
    expect(await refused({ ...getObject, headers: { ...getObject.headers, range: "bytes=0-99" } })).toBe("the signature does not match");
    expect(await refused({ ...getObject, method: "PUT" })).toBe("the signature does not match");
    expect(await refused(getObject, EXAMPLE_TIME, () => "another secret")).toBe("the signature does not match");
    expect(await refused(getObject, EXAMPLE_TIME, () => null)).toBe("the access key id is not one this gateway issued");
    expect(await refused(getObject, EXAMPLE_TIME + 60 * 60 * 1000)).toBe("the signature's date is too far from now");
    const { range: _range, ...noRange } = getObject.headers;
    expect(await refused({ ...getObject, headers: noRange })).toBe("the signed header range is missing");
    const { authorization: _auth, ...unsigned } = getObject.headers;
    expect(await refused({ ...getObject, headers: unsigned })).toBe("the request is not signed with AWS Signature Version 4");
  });

  it("decodes a raw query without turning + into a space", () => {
    expect(parseRawQuery("prefix=a%2Bb+c&list-type=2&flag")).toEqual(
      new Map([
        ["prefix", ["a+b+c"]],
        ["list-type", ["2"]],
        ["flag", [""]],
      ]),
    );
    expect(parseRawQuery("prefix=%E0%A4%A")).toBeNull();
  });
});

describe("S3 URIs, routes and upstream URLs", () => {
  it("parses s3:// URIs and refuses bad ones", () => {
    expect(parseS3Uri("s3://my-bucket/a/b.slaf/")).toEqual({ bucket: "my-bucket", prefix: "a/b.slaf" });
    expect(parseS3Uri("s3://my.bucket")).toEqual({ bucket: "my.bucket", prefix: "" });
    for (const bad of ["s3://", "s3://ab/x", "s3://Upper/x", "s3://b_b/x", "s3://bucket/a//b", "s3://bucket/a/../b", "hf://datasets/a/b", "s3://a..b/x"])
      expect(() => parseS3Uri(bad), bad).toThrow(/Not an S3 dataset URI/);
    expect(withinFolder("ds/x", "ds")).toBe(true);
    expect(withinFolder("ds", "ds")).toBe(true);
    expect(withinFolder("dsx/y", "ds")).toBe(false);
    expect(withinFolder("anything", "")).toBe(true);
  });

  it("routes only object reads and ListObjectsV2; writes and sub-resources are refused", () => {
    const q = (s: string): Map<string, string[]> => parseRawQuery(s)!;
    expect(parseS3Route("GET", "/b/k%20ey/x", q(""))).toEqual({ kind: "object", bucket: "b", key: "k ey/x", head: false });
    expect(parseS3Route("HEAD", "/b/k", q("x-id=HeadObject"))).toEqual({ kind: "object", bucket: "b", key: "k", head: true });
    expect(parseS3Route("GET", "/b", q("list-type=2&prefix=a%2F"))).toMatchObject({ kind: "list", bucket: "b" });
    for (const [method, p, query] of [
      ["PUT", "/b/k", ""],
      ["POST", "/b/k", "uploads"],
      ["DELETE", "/b/k", ""],
      ["POST", "/b", "delete"],
      ["GET", "/b/k", "acl"],
      ["GET", "/b/k", "versionId=1"],
      ["GET", "/b", ""],
      ["GET", "/b", "uploads"],
      ["GET", "/", ""],
    ])
      expect(parseS3Route(method, p, q(query)).kind, `${method} ${p}?${query}`).toBe("refused");
  });

  it("builds path-style and virtual-hosted upstream URLs with SigV4's key encoding", () => {
    const opts = {
      region: "eu-west-1",
      credentials: null,
      retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 },
      idleTimeoutMs: 1000,
      maxSlowDownWaitMs: 0,
      maxSockets: 4,
    };
    const counters = new S3Counters();
    const aws = new S3Upstream({ ...opts, endpoint: "https://s3.eu-west-1.amazonaws.com", pathStyle: false, counters });
    expect(aws.url("bkt", "a b/c+d(1).lance").href).toBe("https://bkt.s3.eu-west-1.amazonaws.com/a%20b/c%2Bd%281%29.lance");
    expect(aws.url("dotted.bucket", "k").href).toBe("https://s3.eu-west-1.amazonaws.com/dotted.bucket/k");
    const list = new Map([
      ["list-type", ["2"]],
      ["prefix", ["a b/"]],
    ]);
    expect(aws.url("bkt", "", list).href).toBe("https://bkt.s3.eu-west-1.amazonaws.com/?list-type=2&prefix=a%20b%2F");
    const minio = new S3Upstream({ ...opts, endpoint: "http://127.0.0.1:9000/base/", pathStyle: true, counters });
    expect(minio.url("bkt", "x/y").href).toBe("http://127.0.0.1:9000/base/bkt/x/y");
    aws.close();
    minio.close();
  });
});

describe("S3 XML and errors", () => {
  it("reads the objects of a listing, with entities and URL-encoded keys", () => {
    const xml = `<ListBucketResult><Contents><Key>a&amp;b/c.lance</Key><LastModified>2026-01-01T00:00:00.000Z</LastModified><ETag>&quot;abc&quot;</ETag><Size>12</Size></Contents>
      <Contents><Key>x%20y</Key><LastModified>2026-01-02T00:00:00.000Z</LastModified><ETag>"d-2"</ETag><Size>0</Size></Contents><CommonPrefixes><Prefix>p/</Prefix></CommonPrefixes></ListBucketResult>`;
    expect(listedObjects(xml, false).map((o) => [o.key, o.etag, o.size])).toEqual([
      ["a&b/c.lance", "abc", 12],
      ["x%20y", "d-2", 0],
    ]);
    expect(listedObjects(xml, true)[1].key).toBe("x y");
  });

  it("maps a gateway error that Lance (object_store) wrapped back to a named failure with its table", () => {
    const body = errorXml(
      "OfflineNotCached",
      'Offline, and s3://b/ds/cells.lance/data/x.lance "quoted" is not in the local cache',
      "ds/cells.lance/data/x.lance",
    );
    // object_store puts the body into its message; Lance prints that message Debug-escaped.
    const text = `lance error: IO { source: Generic { store: "N/A", source: IO { source: "Error performing GET http://127.0.0.1:1/b/ds/cells.lance/data/x.lance in 1ms - Server returned non-2xx status code: 409 Conflict: ${JSON.stringify(body).slice(1, -1)}", location: Location { file: "/rustc/abc/library/core/src/result.rs", line: 1, column: 2 } } } }`;
    const failure = appFailureFromLanceError(new Error(text));
    expect(failure?.appError.code).toBe("OFFLINE_NOT_CACHED");
    expect(failure?.appError.message).toBe('Table "cells": Offline, and s3://b/ds/cells.lance/data/x.lance "quoted" is not in the local cache');
    expect(failure?.appError.path).toBe("ds/cells.lance/data/x.lance");
    expect(appFailureFromLanceError(new Error(text.replace("OfflineNotCached", "NoSuchKey")))).toBeNull();
    expect(appFailureFromLanceError(new Error(text.replace("OfflineNotCached", "AuthRequired")))?.appError.code).toBe("AUTH_REQUIRED");
  });
});
