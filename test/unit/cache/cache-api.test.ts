/**
 * The Cache panel's contract (`cache.*`) through the dispatcher, on the app's real services and a fake Hub:
 * usage per dataset, revision and table; pins as jobs with progress and cancel; unpin, evict, clear and the
 * cap. Lance reads HF_ENDPOINT once per process; this file runs in its own process.
 */
import fs from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CacheEviction, CacheRemoval, CacheUsage, DatasetSummary, JobEvent, QuerySummary } from "../../../shared/ipc/contract";
import type { Result } from "../../../shared/result";
import type { Services } from "../../../main/services/index";
import { publishDataset, startFakeHub, type FakeHub } from "../../fixtures/fake-hub";
import { failure, unwrap } from "../../fixtures/result";
import { testServices } from "../../fixtures/services";
import { tempDir, writePbmcSlaf } from "../../fixtures/slaf-fixture";
import { snapshotTree } from "../../fixtures/tree-snapshot";

let dir: string;
let hub: FakeHub;
let services: Services;
let remote: DatasetSummary;
let pinUri: string;
/** Pin jobs to cancel at their first progress event. */
const cancelOnProgress = new Set<string>();
const events: JobEvent[] = [];

const URI = "hf://datasets/acme/pbmc/pbmc.slaf";
const SESSION = "page-1";

function call<T>(ns: string, method: string, arg: unknown): Promise<Result<T>> {
  return services.dispatcher.call(ns, method, arg, SESSION) as Promise<Result<T>>;
}

async function usage(): Promise<CacheUsage> {
  return unwrap(await call<CacheUsage>("cache", "usage", {}));
}

async function waitJob(jobId: string): Promise<JobEvent> {
  for (;;) {
    const end = unwrap(await call<JobEvent>("jobs", "wait", { jobId }));
    if (end.state !== "running") return end;
  }
}

async function pin(arg: unknown): Promise<JobEvent> {
  const { jobId } = unwrap(await call<{ jobId: string }>("cache", "pin", arg));
  return waitJob(jobId);
}

beforeAll(async () => {
  dir = await tempDir("slafwb-cache-api-");
  const root = path.join(dir, "pbmc.slaf");
  await writePbmcSlaf(root, { cellsPerChunk: 50 });
  hub = await startFakeHub();
  await publishDataset(hub, "acme/pbmc", root);
  delete process.env.HF_TOKEN;
  services = testServices(path.join(dir, "user"), {
    sources: { hubEndpoint: hub.url, gateway: { retry: { attempts: 3, baseDelayMs: 10, maxDelayMs: 50 } } },
    emit: (name, payload) => {
      if (name !== "job") return;
      const event = payload as JobEvent;
      events.push(event);
      if (event.state === "running" && cancelOnProgress.delete(event.jobId)) void call("jobs", "cancel", { jobId: event.jobId });
    },
  });
  remote = unwrap(await call<DatasetSummary>("datasets", "open", { uri: `${URI}@main` }));
  pinUri = `${URI}@${remote.revision!.sha}`;
});
afterAll(async () => {
  await services?.dispose();
  await hub?.close();
  await fs.rm(dir, { recursive: true, force: true });
});

describe("cache.usage", () => {
  it("lists what a query read per dataset, revision and table, against the default 20 GB cap, in <user data>/cache", async () => {
    const { jobId } = unwrap(
      await call<{ jobId: string }>("query", "start", { datasetId: remote.datasetId, sql: "SELECT count(*) FROM cells", confirmed: true }),
    );
    expect((await waitJob(jobId)).result as QuerySummary).toMatchObject({ rowCount: 1 });
    const u = await usage();
    expect(u.dir).toBe(path.resolve(dir, "user", "cache"));
    expect(u.capBytes).toBe(20 * 1024 ** 3);
    expect(u.totalBytes).toBeGreaterThan(0);
    expect(u.pins).toEqual([]);
    const cells = u.entries.find((e) => e.table === "cells");
    expect(cells).toMatchObject({
      source: "hf",
      endpoint: hub.url,
      repo: "acme/pbmc",
      dataset: "pbmc.slaf",
      sha: remote.revision!.sha,
      refs: ["main"],
      uri: pinUri,
      pinnedBytes: 0,
    });
    expect(cells!.bytes).toBeGreaterThan(0);
    expect(cells!.lastUsed).not.toBeNull();
  });
});

describe("cache.pin", () => {
  it("pins a table as a job with progress in rows; the table's bytes are then pinned", async () => {
    events.length = 0;
    const end = await pin({ uri: pinUri, tables: ["cells"] });
    expect(end).toMatchObject({ kind: "pin", state: "done", progress: { unit: "rows" } });
    const pins = (end.result as { pins: CacheUsage["pins"] }).pins;
    expect(pins).toHaveLength(1);
    expect(pins[0]).toMatchObject({
      table: "cells",
      columns: null,
      state: "complete",
      sha: remote.revision!.sha,
      rows: remote.tables.find((t) => t.name === "cells")!.rows,
    });
    expect(events.some((e) => e.jobId === end.jobId && e.state === "running")).toBe(true);
    const u = await usage();
    expect(u.pins.map((p) => p.table)).toEqual(["cells"]);
    const cells = u.entries.find((e) => e.table === "cells")!;
    // Every block of the table is pinned; its bytes also count small per-file metadata, which is not.
    expect(cells.pinnedBytes).toBeGreaterThan(cells.bytes / 2);
    expect(u.pinnedBytes).toBeGreaterThanOrEqual(cells.pinnedBytes);
  });

  it("pins chosen columns of one table", async () => {
    const end = await pin({ uri: pinUri, tables: ["genes"], columns: ["gene_id"] });
    expect(end.state).toBe("done");
    expect((await usage()).pins.find((p) => p.table === "genes")).toMatchObject({ columns: ["gene_id"], state: "complete" });
  });

  it("refuses what cannot be pinned at once, with named errors; an unknown table fails the job naming it", async () => {
    expect(failure(await call("cache", "pin", { uri: "gs://bucket/atlas.slaf" }))).toMatchObject({
      code: "INVALID_ARGUMENT",
      message: expect.stringContaining("gs://bucket/atlas.slaf"),
    });
    expect(failure(await call("cache", "pin", { uri: "s3://Not_A_Bucket/atlas.slaf" }))).toMatchObject({
      code: "INVALID_ARGUMENT",
      message: expect.stringContaining("bucket name"),
    });
    expect(failure(await call("cache", "pin", { uri: pinUri, columns: ["gene_id"] }))).toMatchObject({
      code: "INVALID_ARGUMENT",
      message: expect.stringContaining("one table"),
    });
    expect(failure(await call("cache", "pin", { uri: "/data/local.slaf" })).code).toBe("INVALID_ARGUMENT");
    expect(failure(await call("cache", "pin", { tables: ["cells"] }))).toMatchObject({ code: "INVALID_ARGUMENT", detail: "field: uri" });
    const end = await pin({ uri: pinUri, tables: ["nope"] });
    expect(end).toMatchObject({ state: "failed", error: { code: "TABLE_UNKNOWN", message: expect.stringContaining('"nope"') } });
  });

  it("a cancelled pin ends as PIN_CANCELLED and records no pin", async () => {
    const { jobId } = unwrap(await call<{ jobId: string }>("cache", "pin", { uri: pinUri, tables: ["expression"] }));
    cancelOnProgress.add(jobId);
    const end = await waitJob(jobId);
    expect(end).toMatchObject({ kind: "pin", state: "cancelled", error: { code: "PIN_CANCELLED" } });
    expect((await usage()).pins.map((p) => p.table).sort()).toEqual(["cells", "genes"]);
  });
});

describe("unpin, evict, clear and the cap", () => {
  it("unpins a table: its data stays, no longer pinned", async () => {
    const before = (await usage()).entries.find((e) => e.table === "cells")!;
    expect(unwrap(await call("cache", "unpin", { uri: pinUri, table: "cells" }))).toEqual({ pinsRemoved: 1 });
    const after = await usage();
    expect(after.pins.map((p) => p.table)).toEqual(["genes"]);
    // What stays pinned of cells is its manifest, which the genes pin keeps for an offline open.
    const cells = after.entries.find((e) => e.table === "cells")!;
    expect(cells.bytes).toBe(before.bytes);
    expect(cells.pinnedBytes).toBeLessThan(before.pinnedBytes / 2);
  });

  it("sets the cap, evicting unpinned data down to it but never pinned data", async () => {
    const genes = (await usage()).entries.find((e) => e.table === "genes")!;
    const r = unwrap(await call<CacheEviction>("cache", "setCap", { capBytes: 1024 }));
    expect(r.capBytes).toBe(1024);
    expect(r.evictedBytes).toBeGreaterThan(0);
    const u = await usage();
    expect(u.capBytes).toBe(1024);
    expect(u.entries.find((e) => e.table === "cells")?.bytes ?? 0).toBeLessThan(genes.bytes + 1);
    expect(u.entries.find((e) => e.table === "genes")!.pinnedBytes).toBe(genes.pinnedBytes);
    expect(failure(await call("cache", "setCap", { capBytes: -1 }))).toMatchObject({ code: "INVALID_ARGUMENT", detail: "field: capBytes" });
    unwrap(await call("cache", "setCap", { capBytes: 1024 ** 3 }));
  });

  it("evicts one table, then a whole dataset, pins included; a bad table name is named", async () => {
    expect((await pin({ uri: pinUri, tables: ["cells"] })).state).toBe("done");
    const cells = unwrap(await call<CacheRemoval>("cache", "evict", { uri: pinUri, table: "cells" }));
    expect(cells.removedBytes).toBeGreaterThan(0);
    expect(cells.pinsRemoved).toBe(1);
    let u = await usage();
    expect(u.entries.some((e) => e.table === "cells")).toBe(false);
    expect(u.entries.some((e) => e.table === "genes")).toBe(true);
    expect(failure(await call("cache", "evict", { uri: pinUri, table: "a/b" }))).toMatchObject({
      code: "INVALID_ARGUMENT",
      message: expect.stringContaining("a/b"),
    });
    const all = unwrap(await call<CacheRemoval>("cache", "evict", { uri: URI }));
    expect(all.pinsRemoved).toBe(1);
    u = await usage();
    expect(u.entries).toEqual([]);
    expect(u.pins).toEqual([]);
  });

  it("clears everything; the source repo is never written", async () => {
    const before = await snapshotTree(hub.repoDir("acme/pbmc"));
    expect((await pin({ uri: pinUri, tables: ["genes"] })).state).toBe("done");
    expect((await usage()).totalBytes).toBeGreaterThan(0);
    const r = unwrap(await call<CacheRemoval>("cache", "clear", {}));
    expect(r.removedBytes).toBeGreaterThan(0);
    expect(r.pinsRemoved).toBe(1);
    const u = await usage();
    expect(u.entries).toEqual([]);
    expect(u.pins).toEqual([]);
    expect(await snapshotTree(hub.repoDir("acme/pbmc"))).toEqual(before);
  });
});
