/**
 * LanceDB reading `hf://` SLAF tables from a fake Hub through the gateway. HF_ENDPOINT is process-global and read
 * by Lance at its first hf:// connect, so it is set before LanceDB is loaded; this file runs in its own process.
 */
import fs from "node:fs/promises";
import path from "node:path";
import type * as Lancedb from "@lancedb/lancedb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appFailureFromLanceError, type PinnedDataset } from "../../../main/services/gateway";
import { snapshotTree } from "../../fixtures/tree-snapshot";
import { checkCachedBlocks, hubEnv, localSource, type HubEnv } from "./helpers";

let env: HubEnv;
let lancedb: typeof Lancedb;

beforeAll(async () => {
  // Small blocks and fetches, so every data file spans several blocks and runs.
  env = await hubEnv({ hub: { pageSize: 3 }, gateway: { blockBytes: 16 * 1024, maxFetchBytes: 64 * 1024 } });
  Object.assign(process.env, env.gateway.lanceEnv());
  delete process.env.HF_TOKEN;
  delete process.env.HUGGINGFACE_TOKEN;
  lancedb = await import("@lancedb/lancedb");
});
afterAll(async () => {
  await env?.close();
});

const TABLES = ["cells", "genes", "expression"] as const;

/** Every row of every table (as plain objects), plus a filtered expression query: what a scan returns. */
async function scan(uri: string, storageOptions: Record<string, string>): Promise<Record<string, unknown>> {
  const db = await lancedb.connect(uri, { storageOptions });
  const out: Record<string, unknown> = { tables: (await db.tableNames()).sort() };
  for (const name of TABLES) {
    const table = await db.openTable(name);
    out[`${name}.count`] = await table.countRows();
    out[name] = (await table.query().toArray()).map((r) => JSON.stringify(r, (_k, v) => (typeof v === "bigint" ? v.toString() : v)));
  }
  const expression = await db.openTable("expression");
  out.filtered = (await expression.query().where("cell_integer_id = 7 AND value > 2").select(["gene_integer_id", "value"]).toArray()).map(
    (r) => `${r.gene_integer_id}:${r.value}`,
  );
  db.close();
  return out;
}

let localScan: Record<string, unknown>;
let pinned: PinnedDataset;

describe("Lance through the gateway", () => {
  it("reads the same tables and rows as from the local copy, and nothing of the source changes", async () => {
    await env.upload("acme/pbmc");
    const repoBefore = await snapshotTree(env.hub.repoDir("acme/pbmc"));
    localScan = await scan(env.local, {});
    pinned = await env.gateway.pin("hf://datasets/acme/pbmc/pbmc.slaf");
    expect(pinned.storageOptions).toEqual({ hf_revision: pinned.sha });
    expect(pinned.uri).toBe("hf://datasets/acme/pbmc/pbmc.slaf");
    const remote = await scan(pinned.uri, pinned.storageOptions);
    expect(remote).toEqual(localScan);
    expect(localScan["expression.count"]).toBe(151_815);
    // The listing of expression.lance/_versions spans pages of 3: the gateway followed the Link header.
    expect(env.hub.log.some((r) => r.kind === "tree" && r.path.includes("cursor="))).toBe(true);
    expect(await snapshotTree(env.hub.repoDir("acme/pbmc"))).toEqual(repoBefore);
    const c = env.gateway.counters().hf;
    expect(c.requests.resolve + c.requests.cdn).toBeGreaterThan(0);
    expect(c.latencyMs.p50).not.toBeNull();
    expect(c.rateLimit.resolvers?.quota).toBe(100_000);
  });

  it("sends zero upstream requests for a second identical scan", async () => {
    env.hub.resetLog();
    const before = env.gateway.counters().hf;
    expect(await scan(pinned.uri, pinned.storageOptions)).toEqual(localScan);
    expect(env.hub.log).toEqual([]);
    const after = env.gateway.counters().hf;
    expect(after.requests).toEqual(before.requests);
    expect(after.cache.hits).toBeGreaterThan(before.cache.hits);
    expect(after.cache.misses).toBe(before.cache.misses);
  });

  it("offline: answers a cached scan, and fails at once with OFFLINE_NOT_CACHED naming table and file otherwise", async () => {
    await env.upload("acme/unread");
    const unread = await env.gateway.pin("hf://datasets/acme/unread/pbmc.slaf");
    const db = await lancedb.connect(unread.uri, { storageOptions: unread.storageOptions });
    await (await db.openTable("expression")).countRows(); // listing and manifest cached, no data file read
    env.gateway.setOffline(true);
    env.hub.resetLog();
    try {
      expect(await scan(pinned.uri, pinned.storageOptions)).toEqual(localScan);
      // Offline open uses the sha main last resolved to.
      expect((await env.gateway.pin("hf://datasets/acme/pbmc/pbmc.slaf")).sha).toBe(pinned.sha);

      const expression = await db.openTable("expression");
      const failure = await expression
        .query()
        .where("cell_integer_id = 7")
        .toArray()
        .then(
          () => null,
          (e: unknown) => appFailureFromLanceError(e),
        );
      expect(failure?.appError.code).toBe("OFFLINE_NOT_CACHED");
      expect(failure?.appError.message).toMatch(
        /^Table "expression": Offline, and pbmc\.slaf\/expression\.lance\/data\/[0-9a-z]+\.lance \(bytes \d+-\d+ of acme\/unread/,
      );
      expect(failure?.appError.path).toMatch(/^pbmc\.slaf\/expression\.lance\/data\//);

      const never = await env.gateway.pin("hf://datasets/acme/never-opened").catch((e: unknown) => e);
      expect((never as { appError?: { code: string } }).appError?.code).toBe("OFFLINE_NOT_CACHED");
      expect(env.hub.log).toEqual([]);
    } finally {
      env.gateway.setOffline(false);
      db.close();
    }
  });

  it("keeps reading the pinned commit after the branch moves; pinning again sees the new commit", async () => {
    const repoDir = await env.hub.createRepo("acme/moving");
    await fs.cp(env.local, path.join(repoDir, "pbmc.slaf"), { recursive: true });
    const sha1 = await env.hub.commit("acme/moving");
    const first = await env.gateway.pin("hf://datasets/acme/moving/pbmc.slaf@main");
    expect(first.sha).toBe(sha1);
    const count = async (p: { uri: string; storageOptions: Record<string, string> }): Promise<number> => {
      const db = await lancedb.connect(p.uri, { storageOptions: p.storageOptions });
      const n = await (await db.openTable("cells")).countRows();
      db.close();
      return n;
    };
    expect(await count(first)).toBe(160);

    // A new commit on main: the cells table loses half its rows (a new Lance version in the repo folder).
    const local = await lancedb.connect(path.join(repoDir, "pbmc.slaf"));
    await (await local.openTable("cells")).delete("cell_integer_id >= 80");
    local.close();
    const sha2 = await env.hub.commit("acme/moving", { title: "Drop half the cells" });
    expect(sha2).not.toBe(sha1);

    expect(await count(first)).toBe(160);
    // A read that names the branch instead of the sha is held to the pinned commit too.
    expect(await count({ uri: first.uri, storageOptions: { hf_revision: "main" } })).toBe(160);
    const second = await env.gateway.pin("hf://datasets/acme/moving/pbmc.slaf@main");
    expect(second.sha).toBe(sha2);
    expect(await count(second)).toBe(80);
    expect(await count(first)).toBe(160);
  });

  it("survives cut connections and a stalled one, and leaves no partial or corrupt cache entry", async () => {
    await env.upload("acme/faulty");
    env.hub.faults.add({ kind: "cut" }, { on: ["cdn", "resolve"], times: 4 });
    env.hub.faults.add({ kind: "stall", phase: "body" }, { on: "cdn", times: 1 });
    env.hub.faults.add({ kind: "stall", phase: "headers" }, { on: "tree", times: 1 });
    const faulty = await env.gateway.pin("hf://datasets/acme/faulty/pbmc.slaf");
    expect(await scan(faulty.uri, faulty.storageOptions)).toEqual(localScan);
    expect(env.hub.faults.pending()).toBe(0);
    expect(env.hub.log.filter((r) => r.status === -1).length).toBeGreaterThanOrEqual(4);

    const check = await checkCachedBlocks(env.cacheDir, "acme/faulty", localSource(env.local));
    expect(check.bad).toEqual([]);
    expect(check.temps).toEqual([]);
    expect(check.blocks).toBeGreaterThan(20);
  });

  it("slows down for a 429 storm instead of passing it to Lance, and the scan completes correctly", async () => {
    await env.upload("acme/busy");
    env.hub.faults.add({ kind: "429", retryAfter: 1 }, { on: ["resolve", "cdn", "tree"], times: 4 });
    const before = env.gateway.counters().hf;
    const busy = await env.gateway.pin("hf://datasets/acme/busy/pbmc.slaf");
    expect(await scan(busy.uri, busy.storageOptions)).toEqual(localScan);
    const after = env.gateway.counters().hf;
    const seen = env.hub.log.filter((r) => r.status === 429).length;
    expect(seen).toBe(4);
    // Every 429 was waited out inside the gateway (Lance retries a 429 at once, spending the budget).
    expect(after.rateLimited - before.rateLimited).toBe(4);
    expect(after.waitedMs).toBeGreaterThan(before.waitedMs);
  });
});
