/** Opening (pinning) hf:// datasets: URI forms, named errors for each way it can fail, tokens, offline opens. */
import fs from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isAppFailure, type AppError } from "../../../shared/result";
import { parseHfUri, startGateway, type Gateway } from "../../../main/services/gateway";
import { hubEnv, QUICK, request, type HubEnv } from "./helpers";

let env: HubEnv;
let sha: string;

async function failure(p: Promise<unknown>): Promise<AppError> {
  const e = await p.then(
    () => null,
    (x: unknown) => x,
  );
  if (!isAppFailure(e)) throw new Error(`expected an AppFailure, got ${String(e)}`);
  return e.appError;
}

async function upload(id: string, opts: { gated?: boolean; private?: boolean } = {}): Promise<string> {
  const dir = await env.hub.createRepo(id, opts);
  await fs.mkdir(path.join(dir, "atlas.slaf"), { recursive: true });
  await fs.writeFile(path.join(dir, "atlas.slaf", "config.json"), JSON.stringify({ format_version: "0.5" }));
  await fs.writeFile(path.join(dir, "atlas.slaf", "blob.bin"), Buffer.alloc(5000, 7));
  return env.hub.commit(id);
}

beforeAll(async () => {
  env = await hubEnv({ dataset: false, hub: { tokens: ["hf_good"] } });
  sha = await upload("acme/open");
  await upload("acme/gated", { gated: true });
  await upload("acme/secret", { private: true });
});
afterAll(async () => {
  await env?.close();
});

describe("parseHfUri", () => {
  it("reads repo, path and revision in both places the revision may be written", () => {
    expect(parseHfUri("hf://datasets/acme/atlas")).toEqual({ repo: { owner: "acme", name: "atlas" }, path: "", revision: null });
    expect(parseHfUri("hf://datasets/acme/atlas/data/train.slaf/")).toEqual({
      repo: { owner: "acme", name: "atlas" },
      path: "data/train.slaf",
      revision: null,
    });
    expect(parseHfUri("hf://datasets/acme/atlas/pbmc.slaf@v1.0").revision).toBe("v1.0");
    expect(parseHfUri("hf://datasets/acme/atlas@dev/pbmc.slaf")).toMatchObject({ path: "pbmc.slaf", revision: "dev" });
    expect(parseHfUri("hf://datasets/acme/atlas@refs/pr/3/pbmc.slaf")).toMatchObject({ path: "pbmc.slaf", revision: "refs/pr/3" });
    expect(parseHfUri("hf://datasets/acme/atlas/pbmc.slaf@refs/pr/3")).toMatchObject({ path: "pbmc.slaf", revision: "refs/pr/3" });
    expect(parseHfUri("hf://datasets/acme/atlas@refs%2Fconvert%2Fparquet")).toMatchObject({ path: "", revision: "refs/convert/parquet" });
  });

  it("refuses what is not a dataset URI, naming the URI", () => {
    for (const uri of [
      "hf://models/acme/m",
      "s3://bucket/x",
      "hf://datasets/acme",
      "hf://datasets/acme/atlas/../x",
      "hf://datasets/-bad/atlas",
      "hf://datasets/acme/atlas@",
    ]) {
      expect(() => parseHfUri(uri), uri).toThrow(uri);
    }
  });
});

describe("pin", () => {
  it("resolves the revision to a commit sha and gives Lance the sha as hf_revision", async () => {
    const pinned = await env.gateway.pin("hf://datasets/acme/open/atlas.slaf");
    expect(pinned).toEqual({
      uri: "hf://datasets/acme/open/atlas.slaf",
      repo: "acme/open",
      path: "atlas.slaf",
      revision: "main",
      sha,
      storageOptions: { hf_revision: sha },
    });
    expect((await env.gateway.pin(`hf://datasets/acme/open/atlas.slaf@${sha}`)).sha).toBe(sha);
    env.hub.tag("acme/open", "v1", sha);
    expect((await env.gateway.pin("hf://datasets/acme/open@v1/atlas.slaf")).sha).toBe(sha);
    const config = await env.gateway.readFile(pinned, "config.json", { maxBytes: 1024 });
    expect(JSON.parse(config.toString())).toEqual({ format_version: "0.5" });
    const big = await failure(env.gateway.readFile(pinned, "blob.bin", { maxBytes: 1024 }));
    expect(big).toMatchObject({ code: "INVALID_ARGUMENT", path: "atlas.slaf/blob.bin" });
  });

  it("names each way an open fails: missing repo, missing revision, missing file", async () => {
    expect(await failure(env.gateway.pin("hf://datasets/acme/nothing/atlas.slaf"))).toMatchObject({
      code: "DATASET_NOT_FOUND",
      message: expect.stringContaining("acme/nothing"),
    });
    expect(await failure(env.gateway.pin("hf://datasets/acme/open/atlas.slaf@no-such-branch"))).toMatchObject({
      code: "REVISION_NOT_FOUND",
      message: expect.stringContaining('revision "no-such-branch" of acme/open'),
    });
    expect(await failure(env.gateway.pin(`hf://datasets/acme/open@${"0".repeat(40)}`))).toMatchObject({ code: "REVISION_NOT_FOUND" });
    const pinned = await env.gateway.pin("hf://datasets/acme/open/atlas.slaf");
    expect(await failure(env.gateway.readFile(pinned, "nope.json", { maxBytes: 1024 }))).toMatchObject({
      code: "DATASET_NOT_FOUND",
      message: expect.stringContaining("atlas.slaf/nope.json"),
    });
  });

  it("asks for a token for a gated or private repo, refuses a wrong token, and sends a good one only to the Hub", async () => {
    expect(await failure(env.gateway.pin("hf://datasets/acme/gated"))).toMatchObject({ code: "AUTH_REQUIRED", message: expect.stringContaining("restricted") });
    expect(await failure(env.gateway.pin("hf://datasets/acme/secret"))).toMatchObject({ code: "AUTH_REQUIRED" });

    const wrong = await startGateway({ cacheDir: path.join(env.dir, "cache-wrong"), hubEndpoint: env.hub.url, hfToken: "hf_wrong", ...QUICK });
    const good = await startGateway({ cacheDir: path.join(env.dir, "cache-good"), hubEndpoint: env.hub.url, hfToken: "hf_good", ...QUICK });
    try {
      expect(await failure(wrong.pin("hf://datasets/acme/open"))).toMatchObject({
        code: "AUTH_INVALID",
        message: expect.stringContaining("Invalid credentials"),
      });
      const gated = await good.pin("hf://datasets/acme/gated/atlas.slaf");
      expect((await good.pin("hf://datasets/acme/secret")).repo).toBe("acme/secret");
      env.hub.resetLog();
      const res = await request(`${good.hfEndpoint}/datasets/acme/gated/resolve/${gated.sha}/atlas.slaf/blob.bin`, { headers: { range: "bytes=0-9" } });
      expect(res.body.equals(Buffer.alloc(10, 7))).toBe(true);
      expect(env.hub.log.map((r) => `${r.kind}:${r.authorized}`)).toEqual(["resolve:true", "cdn:false"]);
      expect(JSON.stringify(good.counters())).not.toContain("hf_good");
    } finally {
      await wrong.close();
      await good.close();
    }
  });

  it("says SOURCE_UNREACHABLE when the Hub does not answer", async () => {
    const gone: Gateway = await startGateway({ cacheDir: path.join(env.dir, "cache-gone"), hubEndpoint: "http://127.0.0.1:9", ...QUICK });
    try {
      expect(await failure(gone.pin("hf://datasets/acme/open"))).toMatchObject({
        code: "SOURCE_UNREACHABLE",
        retryable: true,
        message: expect.stringContaining("127.0.0.1:9"),
      });
    } finally {
      await gone.close();
    }
  });

  it("opens offline at the sha a revision last resolved to, from a cache shared with another gateway", async () => {
    await env.gateway.pin("hf://datasets/acme/open/atlas.slaf@v1");
    const other = await startGateway({ cacheDir: env.cacheDir, hubEndpoint: env.hub.url, offline: true, ...QUICK });
    env.hub.resetLog();
    try {
      expect(other.offline).toBe(true);
      expect((await other.pin("hf://datasets/acme/open/atlas.slaf@v1")).sha).toBe(sha);
      expect((await other.pin(`hf://datasets/acme/open/atlas.slaf@${sha}`)).sha).toBe(sha);
      expect(await failure(other.pin("hf://datasets/acme/open/atlas.slaf@never-seen"))).toMatchObject({
        code: "OFFLINE_NOT_CACHED",
        message: expect.stringContaining('revision "never-seen"'),
      });
      expect(env.hub.log).toEqual([]);
    } finally {
      await other.close();
    }
  });
});
