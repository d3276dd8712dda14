import fs from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { JobEvent } from "../../../shared/ipc/contract";
import { ConvertService } from "../../../main/services/convert/service";
import { JobService } from "../../../main/services/jobs/service";
import { convertWorkerPath, resourcePath } from "../../../main/services/resources";
import { DATA_DIR, PBMC_DIR } from "../../fixtures/pbmc";
import { tempDir } from "../../fixtures/slaf-fixture";
import { writeCellxgeneH5ad } from "./cellxgene-h5ad";
import { writePbmcSamples } from "./pbmc-samples";
import { readBack, triples } from "./read-back";

let dir: string;
let events: JobEvent[];
let inWorker: ConvertService;

beforeAll(async () => {
  dir = await tempDir("slafwb-worker-");
  events = [];
  inWorker = new ConvertService(new JobService((e) => events.push(e)), {
    userDataDir: path.join(dir, "user"),
    demoInputDir: resourcePath("demo", "pbmc3k"),
    workerFile: convertWorkerPath(),
  });
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

async function finish(
  service: ConvertService,
  input: string,
  output: string,
  more: { matrix?: string; keepOtherAsLayer?: boolean; featureTypes?: string[]; splitFeatureTypes?: boolean } = {},
): Promise<JobEvent> {
  const started = await service.start({ input, output, ...more });
  if (!started.ok) throw new Error(started.error.message);
  const end = await service.jobs.wait({ jobId: started.value.jobId });
  if (!end.ok) throw new Error(end.error.message);
  return end.value;
}

describe("conversion in the worker thread (the app's path)", () => {
  it("writes exactly what the inline converter writes, with progress", async () => {
    const inline = new ConvertService(new JobService(() => undefined), { userDataDir: path.join(dir, "user2"), demoInputDir: resourcePath("demo", "pbmc3k") });
    const a = await finish(inWorker, PBMC_DIR, path.join(dir, "worker.slaf"));
    const b = await finish(inline, PBMC_DIR, path.join(dir, "inline.slaf"));
    expect(a.state).toBe("done");
    expect(a.result).toMatchObject({ nCells: 160, nGenes: 8674, nnz: 151_815 });
    expect(triples(await readBack(path.join(dir, "worker.slaf")))).toEqual(triples(await readBack(path.join(dir, "inline.slaf"))));
    expect(b.state).toBe("done");
    expect(events.some((e) => e.jobId === a.jobId && e.state === "done" && e.progress.done === 160)).toBe(true);
  });

  it("keeps error codes and messages from the worker", async () => {
    const bad = path.join(dir, "not-hdf5.h5ad");
    await fs.writeFile(bad, "this is not HDF5");
    const end = await finish(inWorker, bad, path.join(dir, "bad.slaf"));
    expect(end).toMatchObject({ state: "failed", error: { code: "CONVERT_INPUT_INVALID", message: expect.stringContaining(bad) } });
    expect((await fs.readdir(dir)).filter((f) => f.startsWith(".bad.slaf"))).toEqual([]);
  });

  it("cancels, leaving nothing behind", async () => {
    const output = path.join(dir, "cancelled.slaf");
    const started = await inWorker.start({ input: path.join(DATA_DIR, "pbmc3k.h5ad"), output });
    if (!started.ok) throw new Error(started.error.message);
    await inWorker.jobs.cancel({ jobId: started.value.jobId });
    const end = await inWorker.jobs.wait({ jobId: started.value.jobId });
    expect(end.ok && end.value).toMatchObject({ state: "cancelled", error: { code: "CONVERT_CANCELLED" } });
    expect((await fs.readdir(dir)).filter((f) => f.includes("cancelled"))).toEqual([]);
  });

  it("passes the matrix choice to the worker", async () => {
    const input = path.join(dir, "cellxgene.h5ad");
    await writeCellxgeneH5ad(input);
    const byDefault = await finish(inWorker, input, path.join(dir, "counts.slaf"));
    expect(byDefault.result).toMatchObject({ sourceMatrix: "raw/X", valueType: "uint16" });
    const x = await finish(inWorker, input, path.join(dir, "x.slaf"), { matrix: "X", keepOtherAsLayer: true });
    expect(x.result).toMatchObject({ sourceMatrix: "X", valueType: "float32" });
    expect((await readBack(path.join(dir, "x.slaf"))).config.layers.available).toEqual(["raw"]);
    const bad = await inWorker.start({ input, output: path.join(dir, "bad.slaf"), matrix: "nope" });
    expect(!bad.ok && bad.error).toMatchObject({ code: "INVALID_ARGUMENT", message: expect.stringContaining('"nope"') });
  });

  it("passes the feature-type choice to the worker, with progress over every dataset written", async () => {
    const input = path.join(DATA_DIR, "real-world", "citeseq.h5");
    const end = await finish(inWorker, input, path.join(dir, "cite.slaf"), { splitFeatureTypes: true });
    expect(end.result).toMatchObject({
      nGenes: 8674,
      featureTypes: { kept: ["Gene Expression"], leftOut: [{ type: "Antibody Capture", count: 20 }] },
      siblings: [{ output: path.join(dir, "cite.antibody-capture.slaf"), nGenes: 20 }],
    });
    expect(end.progress).toMatchObject({ done: 320, total: 320 });
    const adt = await finish(inWorker, input, path.join(dir, "cite-adt.slaf"), { featureTypes: ["Antibody Capture"] });
    expect(adt.result).toMatchObject({ nGenes: 20, featureTypes: { kept: ["Antibody Capture"] } });
  });

  it("converts several inputs through the worker, refusing repeated sample names at once", async () => {
    const samples = await writePbmcSamples(path.join(dir, "samples"));
    const inputs = [{ path: samples.paths.donorA }, { path: samples.paths.donorB, sample: "B" }, { path: samples.paths.donorC }];
    const started = await inWorker.start({ input: samples.paths.donorA, inputs, output: path.join(dir, "atlas.slaf") });
    if (!started.ok) throw new Error(started.error.message);
    const end = await inWorker.jobs.wait({ jobId: started.value.jobId });
    expect(end.ok && end.value).toMatchObject({ state: "done", progress: { done: 160, total: 160 }, result: { nCells: 160, nGenes: 8674 } });
    expect((await readBack(path.join(dir, "atlas.slaf"))).cells.sample).toEqual([
      ...new Array(50).fill("donorA"),
      ...new Array(50).fill("B"),
      ...new Array(60).fill("donorC"),
    ]);
    const twice = await inWorker.start({
      input: samples.paths.donorA,
      inputs: [inputs[1], { path: samples.paths.donorC, sample: "B" }],
      output: path.join(dir, "x.slaf"),
    });
    expect(!twice.ok && twice.error).toMatchObject({ code: "INVALID_ARGUMENT", message: expect.stringContaining('Two inputs are named "B"') });
  });

  it("builds the demo through the worker", async () => {
    const demo = await inWorker.ensureDemo();
    expect((await readBack(demo)).cells.cell_type.length).toBe(160);
  });
});
