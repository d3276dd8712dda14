import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { JobEvent } from "../../../shared/ipc/contract";
import { ConvertService } from "../../../main/services/convert/service";
import { JobService } from "../../../main/services/jobs/service";
import { resourcePath } from "../../../main/services/resources";
import { DATA_DIR, PBMC_DIR } from "../../fixtures/pbmc";
import { tempDir } from "../../fixtures/slaf-fixture";
import { readBack } from "./read-back";

let dir: string;
let events: JobEvent[];
let service: ConvertService;

beforeAll(async () => {
  dir = await tempDir("slafwb-service-");
  events = [];
  service = new ConvertService(new JobService((e) => events.push(e)), { userDataDir: path.join(dir, "user"), demoInputDir: resourcePath("demo", "pbmc3k") });
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe("ConvertService", () => {
  it("inspects an input without converting it", async () => {
    const r = await service.inspect({ input: path.join(DATA_DIR, "pbmc_small.h5ad") });
    expect(r.ok && r.value).toMatchObject({ format: "h5ad", nCells: 80, nGenes: 230, nnz: 4456, obsm: ["X_pca", "X_tsne"], layers: [] });
    const bad = await service.inspect({ input: path.join(dir, "missing.h5ad") });
    expect(!bad.ok && bad.error.code).toBe("CONVERT_INPUT_INVALID");
  });

  it("runs a conversion as a job with cell progress and a summary", async () => {
    const output = path.join(dir, "job.slaf");
    const started = await service.start({ input: PBMC_DIR, output });
    if (!started.ok) throw new Error(started.error.message);
    const end = await service.jobs.wait({ jobId: started.value.jobId });
    if (!end.ok) throw new Error(end.error.message);
    expect(end.value.state).toBe("done");
    expect(end.value.result).toMatchObject({ output, format: "10x_mtx", nCells: 160, nGenes: 8674, nnz: 151_815, valueType: "uint16" });
    expect(end.value.progress).toMatchObject({ unit: "cells", done: 160, total: 160 });
  });

  it("refuses an existing output at once, before starting a job", async () => {
    const r = await service.start({ input: PBMC_DIR, output: path.join(dir, "job.slaf") });
    expect(!r.ok && r.error.code).toBe("CONVERT_OUTPUT_EXISTS");
  });

  it("cancels a running job and leaves no output", async () => {
    const output = path.join(dir, "cancel.slaf");
    const started = await service.start({ input: path.join(DATA_DIR, "pbmc3k.h5ad"), output });
    if (!started.ok) throw new Error(started.error.message);
    await service.jobs.cancel({ jobId: started.value.jobId });
    const end = await service.jobs.wait({ jobId: started.value.jobId });
    expect(end.ok && end.value.state).toBe("cancelled");
    expect(end.ok && end.value.error?.code).toBe("CONVERT_CANCELLED");
    expect((await fs.readdir(dir)).filter((n) => n.includes("cancel.slaf"))).toEqual([]);
  });

  it("builds the demo once, even when asked twice at once, with 8 cell types and a UMAP", async () => {
    const [a, b] = await Promise.all([service.ensureDemo(), service.ensureDemo()]);
    expect(a).toBe(path.join(dir, "user", "demo", "pbmc3k.slaf"));
    expect(b).toBe(a);
    const stat = await fs.stat(path.join(a, "config.json"));
    expect(await service.ensureDemo()).toBe(a);
    expect((await fs.stat(path.join(a, "config.json"))).mtimeMs).toBe(stat.mtimeMs);
    const data = await readBack(a);
    expect(new Set(data.cells.cell_type).size).toBe(8);
    expect(data.config.obsm.dimensions).toEqual({ X_umap: 2 });
    expect(data.config.metadata.expression_count).toBe(151_815);
    expect(await fs.readdir(path.dirname(a))).toEqual(["pbmc3k.slaf"]);
  });
});

describe("ConvertService.cleanStale", () => {
  it("removes a dead conversion's folder from the demo folder at start and keeps the demo", async () => {
    const demoDir = path.join(dir, "user", "demo");
    await fs.mkdir(demoDir, { recursive: true });
    const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
    await new Promise((r) => child.once("exit", r));
    const leftover = path.join(demoDir, `.pbmc3k.slaf.converting-${child.pid}-0a1b2c3d`);
    await fs.mkdir(path.join(leftover, "expression.lance"), { recursive: true });
    expect(await service.cleanStale()).toContain(leftover);
    expect(existsSync(leftover)).toBe(false);
  });
});
