/**
 * Kept moments (moments-cache.ts): a later request served from a pass's whole or category moments gives exactly
 * the numbers of a fresh pass with the same classes (the dataset closed and opened again keeps nothing), equal to the
 * last bits with other classes, and reads less.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MarkersComparison, MarkersGene } from "../../../shared/ipc/contract";
import { loadPbmc } from "../../fixtures/pbmc";
import { useExploreEnvironment } from "../explore/helpers";
import { allGenes, defineSet, runMarkers } from "./helpers";

const env = useExploreEnvironment({ beforeAll, afterAll });
const vsRest = (group: string): MarkersComparison => ({ kind: "column", column: "cell_type", group, reference: { kind: "rest" } });
const SET = Array.from({ length: 25 }, (_, k) => 3 + k * 6);
const SET_VS_REST: MarkersComparison = { kind: "sets", group: "spread", reference: { kind: "rest" } };

async function genesOf(comparison: MarkersComparison, group?: string): Promise<{ rows: number; genes: MarkersGene[] }> {
  const run = await runMarkers(env, comparison);
  return { rows: run.rows, genes: await allGenes(env, run.markersId, group) };
}

/**
 * The same genes with the same texts, and numbers equal to `rel` relative to their size or 1, whichever is larger (a
 * score near 0 is a difference of means: its error is the means' last bits, not its own). Ranks are left out: genes
 * whose scores differ in the last bits may swap.
 */
function expectClose(got: MarkersGene[], want: MarkersGene[], rel: number): void {
  expect(got.length).toBe(want.length);
  const byId = new Map(want.map((g) => [g.geneIntegerId, g]));
  for (const g of got) {
    const w = byId.get(g.geneIntegerId)!;
    for (const [k, v] of Object.entries(g) as [keyof MarkersGene, unknown][]) {
      const x = w[k];
      if (typeof v === "number" && typeof x === "number" && k !== "rank")
        expect(Math.abs(v - x), `${g.symbol} ${k}: ${v} vs ${x}`).toBeLessThanOrEqual(rel * Math.max(Math.abs(v), Math.abs(x), 1));
      else if (k !== "rank") expect(v, `${g.symbol} ${k}`).toEqual(x);
    }
  }
}

/** Closes the dataset (its kept moments go with it) and opens it again. */
async function reopen(): Promise<void> {
  await env.ok("datasets", "close", { datasetId: env.datasetId });
  env.datasetId = (await env.ok<{ datasetId: string }>("datasets", "open", { uri: env.root })).datasetId;
  await defineSet(env, "spread", SET);
}

describe("kept moments", () => {
  const nnz = loadPbmc().nnz;
  const setRows = SET.reduce((n, c) => n + loadPbmc().cells[c].genes.length, 0);

  it("serve every category, another category and a set vs the rest with a fresh pass's numbers", async () => {
    await defineSet(env, "spread", SET);
    const nk = await genesOf(vsRest("NK"));
    expect(nk.rows).toBe(nnz);
    // Every category of the column was kept with the whole: no read.
    const allNk = await genesOf({ kind: "all", column: "cell_type" }, "NK");
    expect(allNk.rows).toBe(0);
    expect(allNk.genes).toEqual(nk.genes);
    const keptB = await genesOf(vsRest("B"));
    expect(keptB.rows).toBe(0);
    // A set vs the rest reads only the set's cells: the rest is the kept whole minus the set.
    const keptSet = await genesOf(SET_VS_REST);
    expect(keptSet.rows).toBe(setRows);

    await reopen();
    const freshB = await genesOf(vsRest("B"));
    expect(freshB.rows).toBe(nnz);
    expect(freshB.genes).toEqual(keptB.genes);
    expect(freshB.genes.slice(0, 10).map((g) => g.symbol)).toEqual(expect.arrayContaining(["CD79A", "CD79B"]));

    await reopen();
    const freshSet = await genesOf(SET_VS_REST);
    expect(freshSet.rows).toBe(nnz);
    // A whole is its pass's class sums added (moments-accumulator.ts): the kept one is the 8 categories', a fresh set
    // pass's the set's and the other cells'. The same sums in another order, so equal to the last bits only.
    expectClose(freshSet.genes, keptSet.genes, 1e-12);
  });

  it("are kept per normalization: the stored values' moments are not the normalized ones", async () => {
    await reopen();
    const normalized = await genesOf(vsRest("NK"));
    expect(normalized.rows).toBe(nnz);
    const none = await runMarkers(env, vsRest("NK"), "none");
    expect(none.normalization).toBe("none");
    expect(none.rows).toBe(nnz);
    const noneGenes = await allGenes(env, none.markersId);
    expect(noneGenes[0].meanGroup).not.toBe(normalized.genes.find((g) => g.geneIntegerId === noneGenes[0].geneIntegerId)!.meanGroup);
    // And then kept for "none" too.
    expect((await runMarkers(env, vsRest("B"), "none")).rows).toBe(0);
  });
});
