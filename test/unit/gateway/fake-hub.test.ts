/** The fake Hub speaks the protocol the gateway and Lance rely on (../shared/notes/object-stores.md §4, §5.4). */
import fs from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeHub, type FakeHub } from "../../fixtures/fake-hub";
import { request } from "./helpers";

let hub: FakeHub;
let sha: string;

beforeAll(async () => {
  hub = await startFakeHub({ pageSize: 2, budgets: { resolvers: { quota: 3, windowSeconds: 300 } } });
  const dir = await hub.createRepo("acme/atlas");
  await fs.mkdir(path.join(dir, "a.slaf", "t.lance", "_versions"), { recursive: true });
  await fs.writeFile(path.join(dir, "a.slaf", "config.json"), "{}");
  await fs.writeFile(path.join(dir, "a.slaf", "t.lance", "_versions", "1.manifest"), Buffer.alloc(2000, 1));
  sha = await hub.commit("acme/atlas");
});
afterAll(async () => {
  await hub?.close();
});

describe("fake Hub", () => {
  it("pages tree listings with a Link to the next cursor, paths relative to the repo root", async () => {
    const first = await request(`${hub.url}/api/datasets/acme/atlas/tree/main/a.slaf?expand=True&recursive=True`);
    const link = first.headers.get("link");
    expect(link).toMatch(
      /^<http:\/\/127\.0\.0\.1:\d+\/api\/datasets\/acme\/atlas\/tree\/main\/a\.slaf\?expand=True&recursive=True&cursor=[\w-]+>; rel="next"$/,
    );
    const second = await request(/<([^>]+)>/.exec(link!)![1]);
    const paths = [...JSON.parse(first.body.toString()), ...JSON.parse(second.body.toString())].map((e: { path: string }) => e.path);
    expect(paths).toEqual(["a.slaf/config.json", "a.slaf/t.lance", "a.slaf/t.lance/_versions", "a.slaf/t.lance/_versions/1.manifest"]);
    const entry = JSON.parse(second.body.toString()).find((e: { path: string }) => e.path.endsWith(".manifest"));
    expect(entry).toMatchObject({ type: "file", size: 2000, lfs: { size: 2000, pointerSize: 134 }, lastCommit: { id: sha } });
    expect((await request(`${hub.url}/api/datasets/acme/atlas/tree/main/none`)).headers.get("x-error-code")).toBe("EntryNotFound");
  });

  it("answers paths-info with [] for what does not exist, and names errors with X-Error-Code", async () => {
    const info = await request(`${hub.url}/api/datasets/acme/atlas/paths-info/${sha}`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "paths=nope&expand=True",
    });
    expect(JSON.parse(info.body.toString())).toEqual([]);
    expect((await request(`${hub.url}/api/datasets/acme/none`)).headers.get("x-error-code")).toBe("RepoNotFound");
    const rev = await request(`${hub.url}/api/datasets/acme/atlas/revision/refs%2Fpr%2F9`);
    expect([rev.status, rev.headers.get("x-error-code")]).toEqual([404, "RevisionNotFound"]);
  });

  it("redirects LFS reads to a signed CDN URL on another origin, sends RateLimit headers and 429s when spent", async () => {
    const res = await request(`${hub.url}/datasets/acme/atlas/resolve/main/a.slaf/t.lance/_versions/1.manifest`, { headers: { range: "bytes=0-9" } });
    expect(res.status).toBe(302);
    expect(res.headers.get("ratelimit")).toBe('"resolvers";r=2;t=300');
    expect(res.headers.get("ratelimit-policy")).toBe('"fixed window";"resolvers";q=3;w=300');
    const cdn = new URL(res.headers.get("location")!);
    expect(cdn.origin).not.toBe(hub.url);
    const bytes = await request(cdn.href, { headers: { range: "bytes=0-9" } });
    expect([bytes.status, bytes.headers.get("content-range"), bytes.body.length]).toEqual([206, "bytes 0-9/2000", 10]);
    await request(`${hub.url}/datasets/acme/atlas/resolve/main/a.slaf/config.json`);
    await request(`${hub.url}/datasets/acme/atlas/resolve/main/a.slaf/config.json`);
    const spent = await request(`${hub.url}/datasets/acme/atlas/resolve/main/a.slaf/config.json`);
    expect([spent.status, spent.headers.get("retry-after")]).toEqual([429, "300"]);
    expect(hub.count(["resolve", "cdn"])).toBe(5);
  });
});
