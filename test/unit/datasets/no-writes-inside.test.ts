import fs from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Services } from "../../../main/services/index";
import { testServices } from "../../fixtures/services";
import { DATA_DIR } from "../../fixtures/pbmc";
import { tempDir, writePbmcSlaf } from "../../fixtures/slaf-fixture";
import { snapshotTree } from "../../fixtures/tree-snapshot";

let dir: string;
let root: string;
let services: Services;
let datasetId: string;

beforeAll(async () => {
  dir = await tempDir();
  root = path.join(dir, "pbmc.slaf");
  await writePbmcSlaf(root);
  services = testServices(path.join(dir, "user"));
  const opened = await services.api.datasets.open({ uri: root });
  if (!opened.ok) throw new Error(opened.error.message);
  datasetId = opened.value.datasetId;
});
afterAll(async () => {
  await services.dispose();
  await fs.rm(dir, { recursive: true, force: true });
});

describe("nothing writes into a dataset", () => {
  it("refuses an export, a notebook and a conversion aimed inside it, and the dataset stays as it was", async () => {
    const before = await snapshotTree(root);
    const started = await services.api.query.start({ datasetId, sql: "SELECT cell_type, COUNT(*) AS n FROM cells GROUP BY 1" });
    if (!started.ok) throw new Error(started.error.message);
    const done = await services.api.jobs.wait({ jobId: started.value.jobId });
    if (!done.ok || !done.value.result) throw new Error("query failed");
    const resultId = (done.value.result as { resultId: string }).resultId;

    // Asked without and with the user's consent to replace: refused both times, never "Replace config.json?".
    for (const overwrite of [false, true]) {
      const exported = await services.api.query.export({ resultId, format: "csv", path: path.join(root, "config.json"), overwrite });
      expect(exported).toMatchObject({ ok: false, error: { code: "WRITE_INSIDE_DATASET", message: expect.stringContaining("never writes into a dataset") } });
    }

    const notebook = await services.api.notebooks.write({ path: path.join(root, "cells.lance", "nb.slafnb.md"), text: "# hi\n", expectedMtimeMs: null });
    expect(notebook).toMatchObject({ ok: false, error: { code: "WRITE_INSIDE_DATASET", message: expect.stringContaining(root) } });

    const converted = await services.api.convert.start({ input: path.join(DATA_DIR, "pbmc_small.h5ad"), output: root, force: true });
    expect(converted).toMatchObject({ ok: false, error: { code: "WRITE_INSIDE_DATASET", message: expect.stringContaining("open dataset") } });

    expect(await snapshotTree(root)).toEqual(before);
  });

  it("refuses the same through links, and inside a dataset that is not open", async () => {
    const closed = path.join(dir, "closed.slaf");
    await writePbmcSlaf(closed);
    const links = path.join(dir, "links");
    await fs.mkdir(links);
    await fs.symlink(path.join(root, "config.json"), path.join(links, "config.csv"));
    await fs.symlink(path.join(root, "genes.lance"), path.join(links, "genes"));
    await fs.symlink(root, path.join(links, "dataset"));
    const before = await snapshotTree(root);
    const beforeClosed = await snapshotTree(closed);
    const started = await services.api.query.start({ datasetId, sql: "SELECT 1 AS x" });
    if (!started.ok) throw new Error(started.error.message);
    const done = await services.api.jobs.wait({ jobId: started.value.jobId });
    const resultId = (done.ok && (done.value.result as { resultId: string }).resultId) as string;

    // Before: the guard compared path.resolve() strings, so each of these wrote into the dataset (even when the user agreed to overwrite).
    const viaFileLink = await services.api.query.export({ resultId, format: "csv", path: path.join(links, "config.csv"), overwrite: true });
    expect(viaFileLink).toMatchObject({ ok: false, error: { code: "WRITE_INSIDE_DATASET", message: expect.stringContaining("through a link") } });
    const viaFolderLink = await services.api.notebooks.write({ path: path.join(links, "genes", "nb.slafnb.md"), text: "# hi\n", expectedMtimeMs: null });
    expect(viaFolderLink).toMatchObject({ ok: false, error: { code: "WRITE_INSIDE_DATASET" } });
    const intoClosed = await services.api.notebooks.write({ path: path.join(closed, "nb.slafnb.md"), text: "# hi\n", expectedMtimeMs: null });
    expect(intoClosed).toMatchObject({
      ok: false,
      error: { code: "WRITE_INSIDE_DATASET", message: expect.stringContaining(`inside the SLAF dataset ${closed}`) },
    });
    const exportIntoClosed = await services.api.query.export({ resultId, format: "parquet", path: path.join(closed, "cells.lance", "x.parquet") });
    expect(exportIntoClosed).toMatchObject({ ok: false, error: { code: "WRITE_INSIDE_DATASET" } });
    const forceOntoLink = await services.api.convert.start({ input: path.join(DATA_DIR, "pbmc_small.h5ad"), output: path.join(links, "dataset"), force: true });
    expect(forceOntoLink).toMatchObject({
      ok: false,
      error: { code: "WRITE_INSIDE_DATASET", message: expect.stringContaining(`is the open dataset ${root}`) },
    });

    expect(await snapshotTree(root)).toEqual(before);
    expect(await snapshotTree(closed)).toEqual(beforeClosed);
  });

  it("saves notebooks only as Markdown files", async () => {
    const r = await services.api.notebooks.write({ path: path.join(dir, ".bashrc"), text: "x", expectedMtimeMs: null });
    expect(r).toMatchObject({ ok: false, error: { code: "INVALID_ARGUMENT", message: expect.stringContaining(".slafnb.md") } });
    const ok = await services.api.notebooks.write({ path: path.join(dir, "notes", "a.slafnb.md"), text: "# a\n", expectedMtimeMs: null });
    expect(ok.ok).toBe(true);
  });
});
