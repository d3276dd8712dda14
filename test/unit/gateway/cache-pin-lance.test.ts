/**
 * Pins and eviction with LanceDB reading a SLAF dataset from the fake Hub through the gateway. HF_ENDPOINT is
 * process-global and read at LanceDB's first hf:// connect, so this file runs in its own process.
 */
import type * as Lancedb from "@lancedb/lancedb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isAppFailure, type AppError } from "../../../shared/result";
import { appFailureFromLanceError, type PinnedDataset } from "../../../main/services/gateway";
import { CacheKeeper } from "../../../main/services/gateway/cache-keeper";
import { cacheManager, type CacheManager, type PinProgress } from "../../../main/services/gateway/cache-manager";
import { checkCachedBlocks, hubEnv, localSource, type HubEnv } from "./helpers";
import { freshRows, plainRows } from "./lance-rows";

let env: HubEnv;
let lancedb: typeof Lancedb;
let cache: CacheManager;
let pinned: PinnedDataset;
const URI = "hf://datasets/acme/pbmc/pbmc.slaf";

beforeAll(async () => {
  // Small blocks, so every data file spans many blocks and a column's pages are blocks of their own.
  env = await hubEnv({ gateway: { blockBytes: 16 * 1024, maxFetchBytes: 64 * 1024 } });
  Object.assign(process.env, env.gateway.lanceEnv());
  delete process.env.HF_TOKEN;
  delete process.env.HUGGINGFACE_TOKEN;
  lancedb = await import("@lancedb/lancedb");
  await env.upload("acme/pbmc");
  pinned = await env.gateway.pin(URI);
  cache = cacheManager(env.cacheDir);
});
afterAll(async () => {
  await env?.close();
});

const remoteRows = (table: string, columns?: string[]): Promise<string[]> => freshRows(pinned.uri, table, { columns, storageOptions: pinned.storageOptions });

async function failureOf(p: Promise<unknown>, table?: string): Promise<AppError> {
  const e = await p.then(
    () => null,
    (x: unknown) => x,
  );
  if (isAppFailure(e)) return e.appError;
  const mapped = appFailureFromLanceError(e, table ? { table } : {});
  if (!mapped) throw new Error(`expected a named failure, got ${String(e)}`);
  return mapped.appError;
}

describe("pins", () => {
  it("pins a table with progress; with every unpinned block evicted, it scans offline while another table fails fast", async () => {
    const progress: PinProgress[] = [];
    const pins = await cache.pin(env.gateway, { uri: URI, tables: ["cells"] }, { onProgress: (p) => progress.push(p) });
    expect(pins).toEqual([expect.objectContaining({ table: "cells", columns: null, state: "complete", rows: 160, sha: pinned.sha, dataset: "pbmc.slaf" })]);
    expect(pins[0].bytes).toBeGreaterThan(0);
    expect(progress.map((p) => p.phase)).toEqual(expect.arrayContaining(["open", "scan", "check"]));
    expect(progress.filter((p) => p.phase === "scan").at(-1)).toMatchObject({ done: 160, total: 160, table: "cells" });

    // Expression read online (cached, not pinned), then a cap of 0: everything unpinned goes.
    expect((await remoteRows("expression", ["value"])).length).toBe(151_815);
    await cache.setCap(0);
    const usage = await cache.usage();
    expect(usage.pinnedBytes).toBe(pins[0].bytes);
    const expressionEntry = usage.entries.find((e) => e.table === "expression")!;
    expect(expressionEntry.pinnedBytes).toBeGreaterThan(0); // its manifest, pinned with what opening the dataset reads
    expect(usage.entries.find((e) => e.table === "cells")).toMatchObject({ repo: "acme/pbmc", dataset: "pbmc.slaf", refs: ["main"], sha: pinned.sha });

    env.gateway.setOffline(true);
    env.hub.resetLog();
    try {
      expect(await remoteRows("cells")).toEqual(await freshRows(env.local, "cells"));
      const miss = await failureOf(remoteRows("expression", ["value"]), "expression");
      expect(miss.code).toBe("OFFLINE_NOT_CACHED");
      expect(miss.message).toMatch(/expression\.lance\/data\//);
      expect(env.hub.log).toEqual([]);
    } finally {
      env.gateway.setOffline(false);
      await cache.setCap(1024 ** 3);
    }
  });

  it("pins chosen columns of a table: those scan offline, the others do not", async () => {
    const [pin] = await cache.pin(env.gateway, { uri: URI, tables: ["expression"], columns: ["value"] });
    expect(pin).toMatchObject({ table: "expression", columns: ["value"], rows: 151_815 });
    await cache.setCap(0);
    env.gateway.setOffline(true);
    try {
      expect(await remoteRows("expression", ["value"])).toEqual(await freshRows(env.local, "expression", { columns: ["value"] }));
      expect((await failureOf(remoteRows("expression", ["gene_integer_id"]), "expression")).code).toBe("OFFLINE_NOT_CACHED");
    } finally {
      env.gateway.setOffline(false);
      await cache.setCap(1024 ** 3);
    }
    const usage = await cache.usage();
    expect(usage.pins.map((p) => `${p.table}:${p.columns?.join(",") ?? "*"}:${p.state}:${p.presentBytes === p.bytes}`).sort()).toEqual([
      "cells:*:complete:true",
      "expression:value:complete:true",
    ]);
  });

  it("names bad requests: unknown table, unknown column, columns of several tables, not a dataset URI", async () => {
    expect(await failureOf(cache.pin(env.gateway, { uri: URI, tables: ["nope"] }))).toMatchObject({
      code: "TABLE_UNKNOWN",
      message: expect.stringContaining('"nope"'),
    });
    expect(await failureOf(cache.pin(env.gateway, { uri: URI, tables: ["cells"], columns: ["cell_id", "nope"] }))).toMatchObject({
      code: "INVALID_ARGUMENT",
      message: expect.stringContaining('"nope"'),
    });
    expect(await failureOf(cache.pin(env.gateway, { uri: URI, tables: ["cells", "genes"], columns: ["x"] }))).toMatchObject({ code: "INVALID_ARGUMENT" });
    expect(await failureOf(cache.pin(env.gateway, { uri: "gs://bucket/x" }))).toMatchObject({ code: "INVALID_ARGUMENT" });
    expect((await cache.usage()).pins.every((p) => p.state === "complete")).toBe(true);
  });

  it("a cancelled pin stops, leaves no pin record, and what it fetched stays as ordinary cache", async () => {
    const controller = new AbortController();
    const pin = cache.pin(
      env.gateway,
      { uri: URI, tables: ["genes"] },
      {
        signal: controller.signal,
        onProgress: (p) => {
          if (p.phase === "scan") controller.abort();
        },
      },
    );
    await expect(pin).rejects.toMatchObject({ name: "AbortError" });
    const usage = await cache.usage();
    expect(usage.pins.map((p) => p.table).sort()).toEqual(["cells", "expression"]);
  });
});

describe("eviction while Lance reads", () => {
  it("a scan returns the right rows while a tiny cap evicts under it and the cache is cleared in the middle", async () => {
    const expected = await freshRows(env.local, "expression");
    const keeper = CacheKeeper.for(env.cacheDir);
    await cache.clear();
    await cache.setCap(64 * 1024);
    const evictedBefore = keeper.evicted.blocks;
    try {
      const db = await lancedb.connect(pinned.uri, { storageOptions: pinned.storageOptions }, new lancedb.Session());
      const table = await db.openTable("expression");
      const got: unknown[] = [];
      let batches = 0;
      for await (const batch of table.query()) {
        got.push(...batch.toArray());
        if (++batches === 1) await cache.clear();
      }
      db.close();
      expect(plainRows(got)).toEqual(expected);
      await keeper.idle();
      // Passes ran while the scan read (the table is many times the cap), and once it is done the cap holds.
      expect(keeper.evicted.blocks).toBeGreaterThan(evictedBefore);
      await cache.enforceCap();
      expect((await cache.usage()).totalBytes).toBeLessThanOrEqual(64 * 1024);
      const check = await checkCachedBlocks(env.cacheDir, "acme/pbmc", localSource(env.local));
      expect(check.bad).toEqual([]);
    } finally {
      await cache.setCap(1024 ** 3);
    }
  });
});

describe("listing and removal", () => {
  it("lists bytes per dataset, revision and table; evicts a table, then the dataset by branch name", async () => {
    await cache.pin(env.gateway, { uri: URI, tables: ["genes"] });
    await remoteRows("expression", ["value"]);
    let usage = await cache.usage();
    const tables = usage.entries.filter((e) => e.repo === "acme/pbmc").map((e) => e.table);
    expect(tables).toEqual(expect.arrayContaining(["cells", "genes", "expression", null]));
    for (const e of usage.entries) {
      expect(e.uri).toBe(`hf://datasets/acme/pbmc/pbmc.slaf@${pinned.sha}`);
      expect(e.endpoint).toBe(env.hub.url);
      expect(e.lastUsed).not.toBeNull();
    }
    const removed = await cache.evict({ uri: `${URI}@${pinned.sha}`, table: "expression" });
    expect(removed.removedBlocks).toBeGreaterThan(0);
    usage = await cache.usage();
    expect(usage.entries.some((e) => e.table === "expression")).toBe(false);
    expect(usage.pins.map((p) => p.table)).toEqual(["genes"]);

    // Online again, the table reads from the Hub as before.
    expect((await remoteRows("expression", ["value"])).length).toBe(151_815);
    await cache.evict({ uri: `${URI}@main` });
    usage = await cache.usage();
    expect(usage.entries).toEqual([]);
    expect(usage.pins).toEqual([]);
    expect(await failureOf(cache.evict({ uri: `${URI}@no-such-branch` }))).toMatchObject({
      code: "INVALID_ARGUMENT",
      message: expect.stringContaining("no-such-branch"),
    });
  });
});
