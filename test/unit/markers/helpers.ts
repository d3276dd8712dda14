/** Markers tests: runs through the dispatcher, every gene of a comparison, and a float-valued copy of the demo. */
import type { MarkersByGroup, MarkersComparison, MarkersGene, MarkersNormalization, MarkersRun, MarkersTablePage } from "../../../shared/ipc/contract";
import { cellIdsToBytes } from "../../../shared/notebook/cell-sets";
import { arrow } from "../../../main/services/arrow";
import { SlafWriter } from "../../../main/services/convert/slaf-writer";
import { loadPbmc } from "../../fixtures/pbmc";
import { pbmcGenesTable } from "../../fixtures/slaf-fixture";
import type { ExploreEnv } from "../explore/helpers";

type ArrowTable = InstanceType<typeof arrow.Table>;

export async function runMarkers(
  env: ExploreEnv,
  comparison: MarkersComparison,
  normalization?: MarkersNormalization,
  datasetId = env.datasetId,
): Promise<MarkersRun> {
  const { jobId } = await env.ok<{ jobId: string }>("markers", "start", { datasetId, comparison, normalization });
  const e = await env.waitJob(jobId);
  if (e.state !== "done") throw new Error(`markers job ${e.state}: ${e.error?.code} ${e.error?.message}`);
  return e.result as MarkersRun;
}

export async function runByGroup(env: ExploreEnv, req: Record<string, unknown>): Promise<MarkersByGroup> {
  const { jobId } = await env.ok<{ jobId: string }>("markers", "byGroup", { datasetId: env.datasetId, ...req });
  const e = await env.waitJob(jobId);
  if (e.state !== "done") throw new Error(`byGroup job ${e.state}: ${e.error?.code} ${e.error?.message}`);
  return env.ok<MarkersByGroup>("markers", "byGroupData", { byGroupId: (e.result as { byGroupId: string }).byGroupId });
}

/** Every gene of one comparison in rank order, paged as a page reads them. */
export async function allGenes(env: ExploreEnv, markersId: string, group?: string | null): Promise<MarkersGene[]> {
  const out: MarkersGene[] = [];
  for (;;) {
    const page = await env.ok<MarkersTablePage>("markers", "table", { markersId, group, offset: out.length, limit: 1000 });
    out.push(...page.rows);
    if (out.length >= page.total || page.rows.length === 0) return out;
  }
}

export async function defineSet(env: ExploreEnv, name: string, ids: number[], datasetId = env.datasetId): Promise<void> {
  await env.ok("explore", "defineSet", { datasetId, name, from: { kind: "ids", ids: cellIdsToBytes(Int32Array.from(ids)) }, replace: true });
}

/** |a − e| ≤ 1e-6·|e|, or ≤ 1e-12 near 0. */
export function close(a: number, e: number, rel = 1e-6): boolean {
  if (Number.isNaN(e)) return Number.isNaN(a);
  return Math.abs(a - e) <= Math.max(rel * Math.abs(e), 1e-12);
}

/**
 * The demo's first `nCells` cells with Float32 values: log1p(CP10k) of the counts (`"lognorm"`, not counts) or the
 * counts themselves as floats (`"counts"`). cells: cell_id, cell_integer_id, cell_type; genes as the demo.
 */
export async function writeFloatSlaf(root: string, values: "lognorm" | "counts", opts: { nCells?: number; cellsApart?: boolean } = {}): Promise<void> {
  const nCells = opts.nCells ?? 160;
  const pbmc = loadPbmc();
  const writer = await SlafWriter.create(root, { valueType: "float32", nGenes: pbmc.nGenes, nCells });
  const typeColumn = pbmc.obsColumns.indexOf("cell_type");
  const { vectorFromArray, Utf8, Int64, Table } = arrow;
  const starts: bigint[] = [];
  let nnz = 0;
  for (let c = 0; c < nCells; c++) {
    starts.push(BigInt(nnz));
    nnz += pbmc.cells[c].genes.length;
  }
  await writer.writeTable(
    "cells",
    new Table({
      cell_id: vectorFromArray(pbmc.barcodes.slice(0, nCells), new Utf8()),
      cell_integer_id: vectorFromArray(
        Array.from({ length: nCells }, (_, c) => BigInt(c)),
        new Int64(),
      ),
      cell_type: vectorFromArray(
        pbmc.obs.slice(0, nCells).map((r) => String(r[typeColumn])),
        new Utf8(),
      ),
      cell_start_index: vectorFromArray(starts, new Int64()),
    }) as unknown as ArrowTable,
  );
  await writer.writeTable("genes", pbmcGenesTable());
  const cell = new Uint32Array(nnz);
  const gene = new Uint16Array(nnz);
  const value = new Float32Array(nnz);
  let at = 0;
  // cellsApart: every cell's even entries first, then the odd ones, so no cell's rows are together.
  for (const part of opts.cellsApart ? [0, 1] : [null]) {
    for (let c = 0; c < nCells; c++) {
      const src = pbmc.cells[c];
      const total = src.values.reduce((a, b) => a + b, 0);
      src.genes.forEach((g, k) => {
        if (part !== null && k % 2 !== part) return;
        cell[at] = c;
        gene[at] = g;
        value[at] = values === "counts" ? src.values[k] : Math.log1p((src.values[k] / total) * 10_000);
        at++;
      });
    }
  }
  await writer.appendExpression({ cell, gene, value });
  await writer.finish({ nCells, nGenes: pbmc.nGenes });
}
