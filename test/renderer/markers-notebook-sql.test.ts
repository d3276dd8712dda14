/**
 * The Markers panel's "Send to notebook" SQL run through the app's real SQL engine on the PBMC fixture: the dot
 * plot's means and fractions and the markers table's Welch t and log2FC equal the same numbers computed here
 * densely from the raw counts.
 */
import fs from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { JobEvent, MarkersByGroup, MarkersTablePage, QuerySummary, RowPage } from "../../shared/ipc/contract";
import type { Services } from "../../main/services/index";
import { decodePage } from "../../renderer/api/arrow-rows";
import { geneByCellSql, groupSummarySql, markersTableSql, type SqlContext } from "../../renderer/stores/markers-notebook";
import { loadPbmc } from "../fixtures/pbmc";
import { unwrap } from "../fixtures/result";
import { testServices } from "../fixtures/services";
import { tempDir, writePbmcSlaf } from "../fixtures/slaf-fixture";

const SESSION = "markers-sql";
let dir = "";
let services: Services;
let datasetId = "";

const call = async <T>(ns: string, method: string, arg: unknown): Promise<T> => unwrap((await services.dispatcher.call(ns, method, arg, SESSION)) as never);

async function waitJob(jobId: string): Promise<JobEvent> {
  let e: JobEvent;
  do e = await call<JobEvent>("jobs", "wait", { jobId, timeoutMs: 60_000 });
  while (e.state === "running");
  return e;
}

async function sql(text: string): Promise<Record<string, unknown>[]> {
  const { jobId } = await call<{ jobId: string }>("query", "start", { datasetId, sql: text, confirmed: true });
  const e = await waitJob(jobId);
  if (e.state !== "done") throw new Error(`${e.state}: ${e.error?.code} ${e.error?.message}\n${text}`);
  const summary = e.result as QuerySummary;
  const out: Record<string, unknown>[] = [];
  while (out.length < summary.rowCount) {
    const page = await call<RowPage>("query", "page", { resultId: summary.resultId, offset: out.length, limit: 5000 });
    const t = decodePage(page.arrow);
    for (let i = 0; i < t.numRows; i++) out.push(Object.fromEntries(t.schema.fields.map((f) => [f.name, t.getChild(f.name)!.get(i)])));
  }
  return out;
}

/** Dense log1p(CP10k) of the raw counts: y[cell][gene] for the genes asked. */
function dense(genes: number[]): { y: number[][]; expressed: boolean[][]; types: string[] } {
  const pbmc = loadPbmc();
  const typeCol = pbmc.obsColumns.indexOf("cell_type");
  const y: number[][] = [];
  const expressed: boolean[][] = [];
  for (const cell of pbmc.cells) {
    const total = cell.values.reduce((a, b) => a + b, 0);
    const row = genes.map((g) => {
      const k = cell.genes.indexOf(g);
      return k < 0 ? 0 : Math.log1p((cell.values[k] / total) * 1e4);
    });
    y.push(row);
    expressed.push(genes.map((g) => cell.genes.includes(g)));
  }
  return { y, expressed, types: pbmc.obs.map((r) => String(r[typeCol])) };
}

const ctx: SqlContext = { numericColumns: ["nCount_RNA"], symbolColumn: "gene", normalization: "log1p_cp10k" };

beforeAll(async () => {
  dir = await tempDir("slafwb-markers-sql-");
  const root = path.join(dir, "pbmc.slaf");
  await writePbmcSlaf(root);
  services = testServices(path.join(dir, "user-data"));
  datasetId = (await call<{ datasetId: string }>("datasets", "open", { uri: root })).datasetId;
});

afterAll(async () => {
  await services?.dispatcher.endSession(SESSION);
  await services?.dispose();
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

describe("markers notebook SQL through the SQL engine", () => {
  it("dot plot: mean of log1p(CP10k) and fraction expressing per cell type, every cell counted", async () => {
    const pbmc = loadPbmc();
    const picks = ["LYZ", "CD3D", "MS4A1"].map((s) => pbmc.genes.indexOf(s));
    expect(picks.every((g) => g >= 0)).toBe(true);
    const rows = await sql(
      groupSummarySql(
        ctx,
        { kind: "column", column: "cell_type" },
        picks.map((g) => ({ geneIntegerId: g, symbol: pbmc.genes[g] })),
      ),
    );
    const d = dense(picks);
    const types = [...new Set(d.types)];
    expect(rows).toHaveLength(types.length * picks.length);
    for (const r of rows) {
      const gi = picks.findIndex((g) => pbmc.genes[g] === r.gene);
      const members = d.types.flatMap((t, c) => (t === r.cell_type ? [c] : []));
      expect(Number(r.n_cells)).toBe(members.length);
      const mean = members.reduce((a, c) => a + d.y[c][gi], 0) / members.length;
      const frac = members.filter((c) => d.expressed[c][gi]).length / members.length;
      expect(Number(r.mean)).toBeCloseTo(mean, 9);
      expect(Number(r.frac_expressing)).toBeCloseTo(frac, 12);
    }
    // The same numbers as the service's byGroup, which the panel draws.
    const { jobId } = await call<{ jobId: string }>("markers", "byGroup", {
      datasetId,
      groupBy: { kind: "column", column: "cell_type" },
      geneIntegerIds: picks,
    });
    const done = await waitJob(jobId);
    expect(done.state).toBe("done");
    const byGroupId = (done.result as { byGroupId: string }).byGroupId;
    const served = await call<MarkersByGroup>("markers", "byGroupData", { byGroupId });
    expect(served.normalization).toBe("log1p_cp10k");
    expect(served.groups.length * served.genes.length).toBe(rows.length);
    served.genes.forEach((g, gi) =>
      served.groups.forEach((grp, k) => {
        const row = rows.find((r) => r.gene === g.symbol && r.cell_type === grp.group)!;
        expect(Number(row.n_cells)).toBe(grp.cells);
        expect(Number(row.mean)).toBeCloseTo(served.values[gi][k].mean, 6);
        expect(Number(row.frac_expressing)).toBeCloseTo(served.values[gi][k].fracExpressing, 12);
      }),
    );
    // The groups differ (the plot is not flat), and z-scores per gene sum to 0 with a population SD of 1.
    const lyz = rows.filter((r) => r.gene === "LYZ").map((r) => Number(r.mean_z));
    expect(new Set(rows.filter((r) => r.gene === "LYZ").map((r) => Number(r.mean))).size).toBeGreaterThan(1);
    expect(lyz.reduce((a, z) => a + z, 0)).toBeCloseTo(0, 9);
    expect(lyz.reduce((a, z) => a + z * z, 0) / lyz.length).toBeCloseTo(1, 9);
  });

  it("violin SQL: one row per cell with the gene's value, 0 where nothing is stored", async () => {
    const pbmc = loadPbmc();
    const g = pbmc.genes.indexOf("LYZ");
    const rows = await sql(geneByCellSql(ctx, { kind: "column", column: "cell_type" }, { geneIntegerId: g, symbol: "LYZ" }));
    const d = dense([g]);
    expect(rows).toHaveLength(pbmc.nCells);
    const sum = rows.reduce((a, r) => a + Number(r.LYZ), 0);
    expect(sum).toBeCloseTo(
      d.y.reduce((a, r) => a + r[0], 0),
      6,
    );
    expect(rows.filter((r) => Number(r.LYZ) === 0).length).toBe(d.expressed.filter((e) => !e[0]).length);
  });

  it("markers table: Welch t and log2FC of a cell type vs the rest and vs another type, as scanpy defines them", async () => {
    const pbmc = loadPbmc();
    const all = pbmc.genes.map((_, g) => g);
    const d = dense(all);
    for (const reference of [{ kind: "rest" } as const, { kind: "group", name: "CD14+ Mono" } as const]) {
      const rows = await sql(markersTableSql(ctx, { kind: "column", column: "cell_type", group: "B", reference }, 50));
      expect(rows).toHaveLength(50);
      const g = d.types.flatMap((t, c) => (t === "B" ? [c] : []));
      const r = d.types.flatMap((t, c) => (t !== "B" && (reference.kind === "rest" || t === reference.name) ? [c] : []));
      const stat = (cells: number[], gi: number) => {
        const n = cells.length;
        const m = cells.reduce((a, c) => a + d.y[c][gi], 0) / n;
        const m2 = cells.reduce((a, c) => a + d.y[c][gi] ** 2, 0) / n;
        return { n, m, v: ((m2 - m * m) * n) / (n - 1) };
      };
      const expected = all
        .map((gi) => {
          const a = stat(g, gi);
          const b = stat(r, gi);
          const t = (a.m - b.m) / Math.sqrt(a.v / a.n + b.v / b.n);
          return { gi, score: Number.isFinite(t) ? t : 0, lfc: Math.log2((Math.expm1(a.m) + 1e-9) / (Math.expm1(b.m) + 1e-9)) };
        })
        .sort((x, y) => y.score - x.score || x.gi - y.gi);
      rows.forEach((row, i) => {
        expect(Number(row.rank)).toBe(i + 1);
        expect(row.gene_id).toBe(pbmc.genes[expected[i].gi]);
        expect(Number(row.score)).toBeCloseTo(expected[i].score, 6);
        expect(Number(row.logfoldchange)).toBeCloseTo(expected[i].lfc, 6);
      });
      expect(Number(rows[0].score)).toBeGreaterThan(Number(rows[1].score));
      // And the service's ranking, which the panel's table shows.
      const { jobId } = await call<{ jobId: string }>("markers", "start", {
        datasetId,
        comparison: { kind: "column", column: "cell_type", group: "B", reference },
      });
      const done = await waitJob(jobId);
      expect(done.state).toBe("done");
      const markersId = (done.result as { markersId: string }).markersId;
      const page = await call<MarkersTablePage>("markers", "table", { markersId, filter: { direction: "both" }, limit: 50 });
      expect(page.rows.map((g) => g.geneId)).toEqual(rows.map((row) => row.gene_id));
      page.rows.forEach((g, i) => {
        expect(Number(rows[i].score)).toBeCloseTo(g.score, 6);
        expect(Number(rows[i].logfoldchange)).toBeCloseTo(g.logfoldchange, 5);
        expect(Number(rows[i].pct_group)).toBeCloseTo(g.pctGroup, 12);
        expect(Number(rows[i].pct_reference)).toBeCloseTo(g.pctReference, 12);
      });
    }
  });
});
