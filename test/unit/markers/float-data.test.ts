/** Markers on float datasets: already-normalized values are taken as they are, float counts are normalized; closing releases runs. */
import fs from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Services } from "../../../main/services/index";
import type { JobEvent, MarkersGene, MarkersRun, MarkersTablePage } from "../../../shared/ipc/contract";
import { testServices } from "../../fixtures/services";
import { failure, unwrap } from "../../fixtures/result";
import { tempDir } from "../../fixtures/slaf-fixture";
import { close, writeFloatSlaf } from "./helpers";
import { densePbmc, referenceComparison, type Dense } from "./reference";

const SESSION = "page1";
let dir = "";
let services: Services;

const call = (ns: string, method: string, arg: unknown) => services.dispatcher.call(ns, method, arg, SESSION);
const ok = async <T>(ns: string, method: string, arg: unknown) => unwrap(await call(ns, method, arg)) as T;

async function run(datasetId: string, normalization?: string): Promise<{ run: MarkersRun; genes: MarkersGene[] }> {
  const { jobId } = await ok<{ jobId: string }>("markers", "start", {
    datasetId,
    comparison: { kind: "column", column: "cell_type", group: "NK", reference: { kind: "rest" } },
    normalization,
  });
  const e = await ok<JobEvent>("jobs", "wait", { jobId });
  if (e.state !== "done") throw new Error(`${e.error?.code}: ${e.error?.message}`);
  const result = e.result as MarkersRun;
  const genes: MarkersGene[] = [];
  while (genes.length < result.genes)
    genes.push(...(await ok<MarkersTablePage>("markers", "table", { markersId: result.markersId, offset: genes.length, limit: 1000 })).rows);
  return { run: result, genes };
}

function expectReference(genes: MarkersGene[], dense: Dense): void {
  const nk = Array.from({ length: dense.nCells }, (_, c) => c).filter((c) => dense.cellType[c] === "NK");
  const rest = Array.from({ length: dense.nCells }, (_, c) => c).filter((c) => dense.cellType[c] !== "NK");
  const ref = referenceComparison(dense, nk, rest);
  const bad = genes.filter(
    (g) =>
      !close(g.score, ref[g.geneIntegerId].score) ||
      !close(g.pvalAdj, ref[g.geneIntegerId].pvalAdj) ||
      !close(g.logfoldchange, ref[g.geneIntegerId].logfoldchange),
  );
  expect(bad.slice(0, 5)).toEqual([]);
}

/** Float32 values, as the dataset stores them. */
function asFloat32(d: Dense): Dense {
  return { ...d, y: Float64Array.from(Float32Array.from(d.y)) };
}

beforeAll(async () => {
  dir = await tempDir("slafwb-markers-float-");
  await writeFloatSlaf(path.join(dir, "lognorm.slaf"), "lognorm");
  await writeFloatSlaf(path.join(dir, "counts.slaf"), "counts");
  await writeFloatSlaf(path.join(dir, "apart.slaf"), "counts", { cellsApart: true });
  services = testServices(path.join(dir, "user-data"));
});

afterAll(async () => {
  await services?.dispatcher.endSession(SESSION);
  await services?.dispose();
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

describe("markers on float data", () => {
  it("log-normalized floats: no normalization, said in the note; numbers of the stored values", async () => {
    const { datasetId } = await ok<{ datasetId: string }>("datasets", "open", { uri: path.join(dir, "lognorm.slaf") });
    const { run: r, genes } = await run(datasetId);
    expect(r.normalization).toBe("none");
    expect(r.normalizationNote).toMatch(/^No normalization: the values are not counts \(e\.g\. [0-9.]+\)/);
    expectReference(genes, asFloat32(densePbmc("log1p_cp10k")));
  });

  it("float counts: log1p(CP10k) applied after every value was checked", async () => {
    const { datasetId } = await ok<{ datasetId: string }>("datasets", "open", { uri: path.join(dir, "counts.slaf") });
    const { run: r, genes } = await run(datasetId);
    expect(r.normalization).toBe("log1p_cp10k");
    expect(r.normalizationNote).toMatch(/^Counts \(float values, all whole numbers\)/);
    expectReference(genes, densePbmc("log1p_cp10k"));
    // Asked for none: the counts themselves.
    const raw = await run(datasetId, "none");
    expect(raw.run.normalization).toBe("none");
    expectReference(raw.genes, densePbmc("none"));
  });

  it("cells whose rows are not together: totals from Explore's counting pass instead, same numbers", async () => {
    const { datasetId } = await ok<{ datasetId: string }>("datasets", "open", { uri: path.join(dir, "apart.slaf") });
    const { run: r, genes } = await run(datasetId);
    expect(r.normalization).toBe("log1p_cp10k");
    // The pass that found a cell apart, then the counting pass's totals and a second read.
    const nnz = (await ok<{ tables: { name: string; rows: number }[] }>("datasets", "open", { uri: path.join(dir, "apart.slaf") })).tables.find(
      (t) => t.name === "expression",
    )!.rows;
    await ok("datasets", "close", { datasetId });
    expect(r.rows).toBeGreaterThan(nnz);
    expect(services.explore.passStats(datasetId)).not.toBeNull();
    expectReference(genes, densePbmc("log1p_cp10k"));
  });

  it("closing the dataset releases its runs", async () => {
    const { datasetId } = await ok<{ datasetId: string }>("datasets", "open", { uri: path.join(dir, "counts.slaf") });
    const { run: r } = await run(datasetId);
    // This page opened it twice (above and here): close both references.
    await ok("datasets", "close", { datasetId });
    await ok("datasets", "close", { datasetId });
    expect(failure(await call("markers", "table", { markersId: r.markersId })).code).toBe("MARKERS_NOT_FOUND");
  });
});
