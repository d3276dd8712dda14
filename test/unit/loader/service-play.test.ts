/** Play drains batches in main like a training loop: status shows production, rates, entropy and the heatmap. */
import fs from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LoaderInfo, LoaderOptions, LoaderStatus } from "../../../shared/ipc/contract";
import type { Services } from "../../../main/services/index";
import { LoaderService } from "../../../main/services/loader/service";
import { loaderWorkerPath } from "../../../main/services/resources";
import { testServices } from "../../fixtures/services";
import { tempDir, writePbmcSlaf } from "../../fixtures/slaf-fixture";
import { failure, unwrap } from "../../fixtures/result";
import { options } from "./service-helpers";

let dir: string;
let services: Services;
let datasetId: string;
const call = (ns: string, method: string, arg: unknown) => services.dispatcher.call(ns, method, arg, "page-play");

beforeAll(async () => {
  dir = await tempDir("slafwb-loader-play-");
  const root = path.join(dir, "pbmc.slaf");
  await writePbmcSlaf(root);
  services = testServices(path.join(dir, "user"));
  datasetId = (unwrap(await call("datasets", "open", { uri: root })) as { datasetId: string }).datasetId;
});

afterAll(async () => {
  await services?.dispose();
  await fs.rm(dir, { recursive: true, force: true });
});

async function start(over: Partial<LoaderOptions>): Promise<LoaderInfo> {
  return unwrap(await call("loader", "start", { datasetId, options: options(over) })) as LoaderInfo;
}

const status = async (loaderId: string) => unwrap(await call("loader", "status", { loaderId })) as LoaderStatus;

/** Plays until `enough` holds, then pauses; returns the status after the pause. */
async function playUntil(loaderId: string, enough: (s: LoaderStatus) => boolean): Promise<{ playing: LoaderStatus; paused: LoaderStatus }> {
  const first = unwrap(await call("loader", "play", { loaderId, playing: true })) as LoaderStatus;
  expect(first).toMatchObject({ state: "running", playing: true });
  let s = first;
  await expect.poll(async () => enough((s = await status(loaderId))), { timeout: 30_000, interval: 20 }).toBe(true);
  const paused = unwrap(await call("loader", "play", { loaderId, playing: false })) as LoaderStatus;
  return { playing: s, paused };
}

describe("play", () => {
  it("produces continuously: cells grow, rates are measured, entropy and the heatmap fill, pause stops it", async () => {
    const info = await start({ batchSize: 16, maxGenes: 256, epochs: 10_000, seed: 5 });
    const before = await status(info.loaderId);
    expect(before).toMatchObject({ state: "paused", playing: false, batchesProduced: 0, entropy: null, cellsPerSecond: null });
    const { playing, paused } = await playUntil(info.loaderId, (s) => s.batchesProduced >= 40 && s.cellsPerSecond !== null);
    expect(playing.state).toBe("running");
    expect(playing.cellsProduced).toBe(playing.batchesProduced * 16);
    expect(playing.cellsPerSecond).toBeGreaterThan(0);
    expect(playing.tokensPerSecond).toBeGreaterThan(playing.cellsPerSecond!);
    expect(playing.epoch).toBeGreaterThanOrEqual(3);
    expect(playing.queueBudgetBytes).toBeGreaterThan(0);
    expect(paused).toMatchObject({ state: "paused", playing: false });
    expect(paused.entropy?.score).toBeGreaterThan(0.6);
    const { firstBatch, rows } = paused.fragmentHeatmap;
    expect(rows.length).toBeGreaterThan(0);
    expect(firstBatch + rows.length).toBe(paused.batchesProduced);
    for (const row of rows) expect(row.reduce((a, b) => a + b, 0)).toBe(16);
    expect(paused.history?.[1]).toBe(paused.batchesProduced - 1);
    // Paused: nothing more is drained (the batch in flight at the pause may still land).
    const later = await status(info.loaderId);
    expect(later.batchesProduced - paused.batchesProduced).toBeLessThanOrEqual(1);
    unwrap(await call("loader", "stop", { loaderId: info.loaderId }));
    expect(failure(await call("loader", "status", { loaderId: info.loaderId })).code).toBe("LOADER_NOT_FOUND");
  });

  it("shuffled order scores far above sequential order", async () => {
    const score = async (shuffle: boolean) => {
      const info = await start({ batchSize: 16, maxGenes: 32, epochs: 3, shuffle, seed: 11 });
      unwrap(await call("loader", "play", { loaderId: info.loaderId, playing: true }));
      await expect.poll(async () => (await status(info.loaderId)).state, { timeout: 30_000 }).toBe("ended");
      const s = await status(info.loaderId);
      expect(s).toMatchObject({ state: "ended", playing: false, batchesProduced: 30 });
      unwrap(await call("loader", "stop", { loaderId: info.loaderId }));
      return s.entropy!.score;
    };
    const sequential = await score(false);
    const shuffled = await score(true);
    expect(sequential).toBeLessThan(0.2);
    expect(shuffled).toBeGreaterThan(sequential + 0.5);
  });
});

describe("waiting and failing", () => {
  it("a batch far ahead is LOADER_TIMEOUT (retryable) once timeoutMs passes", async () => {
    const info = await start({ batchSize: 16, maxGenes: 32, epochs: 10_000 });
    try {
      const e = failure(await call("loader", "batch", { loaderId: info.loaderId, index: 99_999, timeoutMs: 0 }));
      expect(e).toMatchObject({ code: "LOADER_TIMEOUT", retryable: true });
      expect(e.message).toMatch(/Batch 99999 was not ready within 0 ms/);
    } finally {
      unwrap(await call("loader", "stop", { loaderId: info.loaderId }));
    }
  });

  it("a damaged expression table: the run fails with the named error, in status and in batch()", async () => {
    const copy = path.join(dir, "damaged.slaf");
    await fs.cp(path.join(dir, "pbmc.slaf"), copy, { recursive: true });
    const data = path.join(copy, "expression.lance", "data");
    for (const name of await fs.readdir(data)) await fs.truncate(path.join(data, name), 100);
    const ds = (unwrap(await call("datasets", "open", { uri: copy })) as { datasetId: string }).datasetId;
    const info = unwrap(await call("loader", "start", { datasetId: ds, options: options({ batchSize: 16 }) })) as LoaderInfo;
    try {
      const e = failure(await call("loader", "batch", { loaderId: info.loaderId, index: 0 }));
      expect(e.code).toBe("TABLE_CORRUPT");
      const s = await status(info.loaderId);
      expect(s).toMatchObject({ state: "failed", playing: false, error: { code: "TABLE_CORRUPT" } });
      expect((unwrap(await call("loader", "play", { loaderId: info.loaderId, playing: true })) as LoaderStatus).state).toBe("failed");
    } finally {
      unwrap(await call("loader", "stop", { loaderId: info.loaderId }));
      unwrap(await call("datasets", "close", { datasetId: ds }));
    }
  });
});

describe("history", () => {
  it("keeps the newest batches within its budget; older ones are LOADER_HISTORY_EVICTED", async () => {
    const loader = new LoaderService(services.datasets, { workerFile: loaderWorkerPath(), historyBatches: 3 });
    const info = unwrap(await loader.start({ datasetId, options: options({ batchSize: 16 }) }));
    try {
      for (let i = 0; i <= 5; i++) unwrap(await loader.batch({ loaderId: info.loaderId, index: i }));
      expect(unwrap(await loader.status({ loaderId: info.loaderId })).history).toEqual([3, 5]);
      const e = failure(await loader.batch({ loaderId: info.loaderId, index: 1 }));
      expect(e.code).toBe("LOADER_HISTORY_EVICTED");
      expect(e.message).toMatch(/batches 3–5 are/);
      expect(unwrap(await loader.batch({ loaderId: info.loaderId, index: 3 }))).toMatchObject({ index: 3 });
      // Asking ahead produces the batches in between.
      expect(unwrap(await loader.batch({ loaderId: info.loaderId, index: 8 }))).toMatchObject({ index: 8 });
      expect(unwrap(await loader.status({ loaderId: info.loaderId })).batchesProduced).toBe(9);
    } finally {
      await loader.dispose();
    }
    expect(failure(await loader.status({ loaderId: info.loaderId })).code).toBe("LOADER_NOT_FOUND");
  });
});
