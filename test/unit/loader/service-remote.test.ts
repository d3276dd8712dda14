/**
 * A preview of an hf:// dataset: the prefetcher's workers read through the gateway (fake Hub, pinned commit) and
 * give the same batches as the local copy with the same seed. This file runs in its own process (Lance reads
 * HF_ENDPOINT once per process).
 */
import fs from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatasetSummary, LoaderBatch, LoaderInfo } from "../../../shared/ipc/contract";
import type { Services } from "../../../main/services/index";
import { publishDataset, startFakeHub, type FakeHub } from "../../fixtures/fake-hub";
import { unwrap } from "../../fixtures/result";
import { testServices } from "../../fixtures/services";
import { tempDir, writePbmcSlaf } from "../../fixtures/slaf-fixture";
import { options } from "./service-helpers";

let dir: string;
let hub: FakeHub;
let services: Services;
let local: DatasetSummary;
let remote: DatasetSummary;

beforeAll(async () => {
  dir = await tempDir("slafwb-loader-remote-");
  const root = path.join(dir, "pbmc.slaf");
  await writePbmcSlaf(root, { cellsPerChunk: 50 });
  hub = await startFakeHub();
  await publishDataset(hub, "acme/pbmc", root);
  delete process.env.HF_TOKEN;
  services = testServices(path.join(dir, "user"), { sources: { hubEndpoint: hub.url, gateway: { retry: { attempts: 3, baseDelayMs: 10, maxDelayMs: 50 } } } });
  local = unwrap(await services.api.datasets.open({ uri: root }));
  remote = unwrap(await services.api.datasets.open({ uri: "hf://datasets/acme/pbmc/pbmc.slaf@main" }));
});

afterAll(async () => {
  await services?.dispose();
  await hub?.close();
  await fs.rm(dir, { recursive: true, force: true });
});

describe("hf:// previews", () => {
  it("batches equal the local copy's for the same seed; the info names the commit", async () => {
    const served = async () => unwrap(await services.api.sources.status({})).counters[0].bytesServed;
    const before = await served();
    const o = options({ tokenizer: "scgpt", maxGenes: 100, batchSize: 20, seed: 8, labelColumn: "cell_type" });
    const a = unwrap(await services.api.loader.start({ datasetId: local.datasetId, options: o })) as LoaderInfo;
    const b = unwrap(await services.api.loader.start({ datasetId: remote.datasetId, options: o })) as LoaderInfo;
    try {
      expect(b.uri).toBe(remote.uri);
      expect(b.revision).toBe(remote.revision?.sha);
      expect(b).toMatchObject({ nCells: a.nCells, nRows: a.nRows, nFragments: a.nFragments, batchesPerEpoch: a.batchesPerEpoch });
      for (let i = 0; i < a.batchesPerEpoch; i++) {
        const x = unwrap(await services.api.loader.batch({ loaderId: a.loaderId, index: i })) as LoaderBatch;
        const y = unwrap(await services.api.loader.batch({ loaderId: b.loaderId, index: i })) as LoaderBatch;
        expect(Buffer.from(y.arrow).equals(Buffer.from(x.arrow))).toBe(true);
        expect(Buffer.from(y.genes).equals(Buffer.from(x.genes))).toBe(true);
      }
      expect(unwrap(await services.api.loader.batch({ loaderId: b.loaderId, index: b.batchesPerEpoch }))).toEqual({ end: true, batches: b.batchesPerEpoch });
      // The workers read the expression data through the gateway (about all of it, once).
      const data = path.join(dir, "pbmc.slaf", "expression.lance", "data");
      let dataBytes = 0;
      for (const f of await fs.readdir(data)) dataBytes += (await fs.stat(path.join(data, f))).size;
      expect((await served()) - before).toBeGreaterThan(dataBytes / 2);
    } finally {
      await services.api.loader.stop({ loaderId: a.loaderId });
      await services.api.loader.stop({ loaderId: b.loaderId });
    }
  });
});
