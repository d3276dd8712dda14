/**
 * hf:// datasets through the app's own services: opened via the gateway from a fake Hub, pinned to a commit,
 * queried with the same results as the local copy, and answered offline from the cache. Lance reads HF_ENDPOINT
 * once per process; this file runs in its own process and the services start the one gateway.
 */
import fs from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatasetSummary, JobEvent, QuerySummary } from "../../../shared/ipc/contract";
import type { Services } from "../../../main/services/index";
import { decodeRows } from "../../../main/commands/query";
import { publishDataset, startFakeHub, type FakeHub } from "../../fixtures/fake-hub";
import { failure, unwrap } from "../../fixtures/result";
import { testServices } from "../../fixtures/services";
import { tempDir, writePbmcSlaf } from "../../fixtures/slaf-fixture";
import { snapshotTree } from "../../fixtures/tree-snapshot";

let dir: string;
let hub: FakeHub;
let services: Services;
let local: DatasetSummary;

const URI = "hf://datasets/acme/pbmc/pbmc.slaf";
const SQL = "SELECT c.cell_type, count(*) AS n, sum(e.value) AS total FROM expression e JOIN cells c USING (cell_integer_id) GROUP BY 1 ORDER BY 1";

beforeAll(async () => {
  dir = await tempDir("slafwb-remote-");
  const root = path.join(dir, "pbmc.slaf");
  await writePbmcSlaf(root, { cellsPerChunk: 50 });
  hub = await startFakeHub();
  await publishDataset(hub, "acme/pbmc", root);
  delete process.env.HF_TOKEN;
  services = testServices(path.join(dir, "user"), { sources: { hubEndpoint: hub.url, gateway: { retry: { attempts: 3, baseDelayMs: 10, maxDelayMs: 50 } } } });
  local = unwrap(await services.api.datasets.open({ uri: root }));
});
afterAll(async () => {
  await services?.dispose();
  await hub?.close();
  await fs.rm(dir, { recursive: true, force: true });
});

async function rows(datasetId: string, sql: string): Promise<unknown[][]> {
  const { jobId } = unwrap(await services.api.query.start({ datasetId, sql, confirmed: true }));
  const end = unwrap(await services.api.jobs.wait({ jobId })) as JobEvent;
  if (end.state !== "done") throw new Error(`${end.state}: ${end.error?.code} ${end.error?.message}`);
  const summary = end.result as QuerySummary;
  const page = unwrap(await services.api.query.page({ resultId: summary.resultId, offset: 0, limit: 1000 }));
  return decodeRows(page.arrow);
}

describe("hf:// datasets", () => {
  let remote: DatasetSummary;

  it("opens through the gateway at a pinned commit, with the same tables as the local copy", async () => {
    const before = await snapshotTree(hub.repoDir("acme/pbmc"));
    remote = unwrap(await services.api.datasets.open({ uri: `${URI}@main` }));
    expect(remote.source).toBe("hf");
    expect(remote.name).toBe("pbmc");
    expect(remote.revision?.requested).toBe("main");
    expect(remote.revision?.sha).toMatch(/^[0-9a-f]{40}$/);
    const shape = (d: DatasetSummary) => d.tables.map((t) => ({ name: t.name, rows: t.rows, columns: t.columns }));
    expect(shape(remote)).toEqual(shape(local));
    expect(remote.config.nCells).toBe(local.config.nCells);
    expect(await snapshotTree(hub.repoDir("acme/pbmc"))).toEqual(before);
    const status = unwrap(await services.api.sources.status({}));
    expect(status.gatewayRunning).toBe(true);
    expect(status.counters[0]).toMatchObject({ source: "hf", endpoint: hub.url });
  });

  it("runs SQL with the same results as on the local copy, and reads rows in the grid", async () => {
    expect(await rows(remote.datasetId, SQL)).toEqual(await rows(local.datasetId, SQL));
    const page = unwrap(await services.api.datasets.readRows({ datasetId: remote.datasetId, table: "cells", offset: 10, limit: 5 }));
    const localPage = unwrap(await services.api.datasets.readRows({ datasetId: local.datasetId, table: "cells", offset: 10, limit: 5 }));
    expect(decodeRows(page.arrow)).toEqual(decodeRows(localPage.arrow));
  });

  it("runs the same query again with no upstream data request, and offline", async () => {
    hub.resetLog();
    expect(await rows(remote.datasetId, SQL)).toEqual(await rows(local.datasetId, SQL));
    expect(hub.log.filter((r) => r.kind === "resolve" || r.kind === "cdn")).toEqual([]);
    const status = unwrap(await services.api.sources.setOffline({ offline: true }));
    expect(status.offline).toBe(true);
    expect(await rows(remote.datasetId, SQL)).toEqual(await rows(local.datasetId, SQL));
    expect(hub.log.filter((r) => r.kind === "resolve" || r.kind === "cdn")).toEqual([]);
    unwrap(await services.api.sources.setOffline({ offline: false }));
  });

  it("holds a remote expression table's columns on its second read and answers later joins from them", async () => {
    // The fixture's expression table is far below the default threshold of a million rows.
    (services.query.engine.options as { warmFactMinRows?: number }).warmFactMinRows = 0;
    try {
      const sql = (type: string) =>
        `SELECT c.cell_type, count(*) AS n, sum(e.value) AS total FROM expression e JOIN cells c USING (cell_integer_id) WHERE c.cell_type = '${type}' GROUP BY 1`;
      const scanned = async (type: string) => {
        const { jobId } = unwrap(await services.api.query.start({ datasetId: remote.datasetId, sql: sql(type), confirmed: true }));
        const end = unwrap(await services.api.jobs.wait({ jobId })) as JobEvent;
        expect(end.state).toBe("done");
        expect(await rows(remote.datasetId, sql(type))).toEqual(await rows(local.datasetId, sql(type)));
        return (end.result as QuerySummary).scans.find((x) => x.table === "expression")!;
      };
      expect((await scanned("NK")).warm).toBeUndefined();
      // (`rows` above ran each query once more: the table was read twice, so it is held now.)
      hub.resetLog();
      const held = await scanned("B");
      expect(held).toMatchObject({ warm: true, rowsScanned: 0 });
      expect(held.rowsAppended).toBeLessThan(held.tableRows / 4);
      expect(hub.log).toEqual([]);
    } finally {
      (services.query.engine.options as { warmFactMinRows?: number }).warmFactMinRows = undefined;
    }
  });

  it("keeps reading its commit after the branch moves; opening that commit sees the change", async () => {
    const repo = hub.repoDir("acme/pbmc");
    const config = JSON.parse(await fs.readFile(path.join(repo, "pbmc.slaf", "config.json"), "utf8")) as Record<string, unknown>;
    await fs.writeFile(path.join(repo, "pbmc.slaf", "config.json"), JSON.stringify({ ...config, n_cells: 12345 }));
    const moved = await hub.commit("acme/pbmc");
    expect(moved).not.toBe(remote.revision?.sha);
    const again = unwrap(await services.api.datasets.open({ uri: `${URI}@main` }));
    expect(again.datasetId).toBe(remote.datasetId);
    expect(again.config.nCells).toBe(local.config.nCells);
    const atNew = unwrap(await services.api.datasets.open({ uri: `${URI}@${moved}` }));
    expect(atNew.revision?.sha).toBe(moved);
    expect(atNew.config.nCells).toBe(12345);
  });

  it("names what went wrong: a missing repo, a missing revision, a folder that is not a SLAF dataset", async () => {
    expect(failure(await services.api.datasets.open({ uri: "hf://datasets/acme/nothing/x.slaf" })).code).toBe("DATASET_NOT_FOUND");
    expect(failure(await services.api.datasets.open({ uri: `${URI}@no-such-branch` })).code).toBe("REVISION_NOT_FOUND");
    const e = failure(await services.api.datasets.open({ uri: "hf://datasets/acme/pbmc/pbmc.slaf/cells.lance" }));
    expect(e.code).toBe("NOT_A_SLAF_DATASET");
    expect(e.message).toContain("config.json");
  });
});
