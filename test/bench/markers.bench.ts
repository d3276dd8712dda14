/**
 * `npm run bench markers` (issue 14): marker genes on a 1M-cell resampled PBMC dataset (the explore benchmark's,
 * ~690M expression rows, built once), one cell type vs the rest and every cell type vs the rest at once. Ours: the
 * markers service (one streaming pass, moments per class and gene). Baseline: what a scanpy user runs — the whole
 * matrix loaded into memory (CSR by cell: int32 indices, float32 data), normalize_total(1e4) + log1p into a new
 * float32 array, then per-class means and variances over it; the last step is the same welch.ts, so only the data
 * path differs. Each side runs in a child process of its own (time from opening the dataset to the ranked genes,
 * peak RSS of that process), and both must rank the same top genes. Then a second comparison on the same open
 * dataset (SECOND vs rest): ours may answer it from the moments the first pass kept, the baseline from the matrix it
 * holds (normalized already: only its moments + test). Goals: ≤ 0.5× the baseline's time, ≤ 0.2× its memory.
 * SLAFWB_BENCH_ROUNDS (default 1) repeats each pair, best time and lowest peak kept.
 */
import { fork } from "node:child_process";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { JobEvent } from "../../shared/ipc/contract";
import type { MarkersComparison } from "../../shared/ipc/types/markers";
import type { Result } from "../../shared/result";
import { DatasetService } from "../../main/services/datasets/service";
import { columnNumbers } from "../../main/services/explore/arrow-read";
import { scanBatches } from "../../main/services/explore/lance-scan";
import { createServices } from "../../main/services/index";
import { compareGenes, rankOrder } from "../../main/services/markers/welch";
import { PBMC_DIR } from "../fixtures/pbmc";
import { synthDataset } from "./synth-dataset";
import { peakRssMb, table } from "./util";

const N_CELLS = 1_000_000;
/** The explore benchmark's dataset (same folder and synth arguments), shared when either made it. */
const ROOT = path.join(os.tmpdir(), "slafwb-bench-explore-v2", `pbmc-${N_CELLS / 1_000_000}m.slaf`);
const COLUMN = "cell_type";
const GROUP = process.env.SLAFWB_BENCH_MARKERS_GROUP ?? "B";
/** The second comparison's group (vs rest). */
const SECOND = process.env.SLAFWB_BENCH_MARKERS_SECOND ?? "NK";
const TOP = 20;
const ROUNDS = Number(process.env.SLAFWB_BENCH_ROUNDS ?? 1);
const GOALS = { time: 0.5, memory: 0.2 };
/** Counts below this get their log1p once per cell (as moments-pass.ts does). */
const SMALL_COUNTS = 64;
/** Set in a child: which side and task it measures. */
const SIDE_ENV = "SLAFWB_BENCH_MARKERS_SIDE";

type Task = "one" | "all";
type Side = "ours" | "baseline";

interface Ranked {
  group: string;
  /** gene_integer_id of the top genes, best first. */
  top: number[];
  scores: number[];
}

interface SideResult {
  ms: number;
  peakRssMb: number;
  rows: number;
  groups: Ranked[];
  /** Baseline phases (ms): load, normalize, moments + test. */
  phases?: { load: number; normalize: number; moments: number };
  /** The second comparison (SECOND vs rest) on the same open dataset: its ms and ranked genes. */
  second: { ms: number; rows: number; group: Ranked };
  /** Ours: ms of the per-cell totals pass (Explore's counting pass) when the service ran one. */
  totalsMs?: number;
  normalization?: string;
}

function ok<T>(r: Result<T>): T {
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
  return r.value;
}

function comparison(task: Task | "second"): MarkersComparison {
  if (task === "all") return { kind: "all", column: COLUMN };
  return { kind: "column", column: COLUMN, group: task === "one" ? GROUP : SECOND, reference: { kind: "rest" } };
}

async function ours(task: Task): Promise<Omit<SideResult, "peakRssMb">> {
  const userDataDir = await fs.mkdtemp(path.join(os.tmpdir(), "slafwb-bench-markers-"));
  let totalsMs: number | undefined;
  const services = createServices({
    info: { version: "bench", mode: "browser", initialDatasetUri: null, openDemoAtStart: false, userDataDir, platform: process.platform },
    emit: (name, payload) => {
      const e = payload as JobEvent;
      if (name === "job" && e.kind === "explore" && e.state === "done" && e.endedAt) totalsMs = e.endedAt - e.startedAt;
    },
  });
  try {
    const t0 = performance.now();
    const ds = await services.datasets.acquire(ROOT);
    const markers = services.api.markers;
    const rank = async (cmp: MarkersComparison) => {
      const { jobId } = ok(await markers.start({ datasetId: ds.summary.datasetId, comparison: cmp }));
      const event = ok(await services.jobs.wait({ jobId }));
      if (event.state !== "done" || event.kind !== "markers" || event.result?.task !== "rank")
        throw new Error(`markers job ${event.state}: ${event.error?.message}`);
      const run = event.result;
      const groups: Ranked[] = [];
      for (const g of run.groups) {
        const page = ok(await markers.table({ markersId: run.markersId, ...(cmp.kind === "all" ? { group: g.group } : {}), limit: TOP }));
        groups.push({ group: String(g.group), top: page.rows.map((r) => r.geneIntegerId), scores: page.rows.map((r) => r.score) });
      }
      return { run, groups };
    };
    const first = await rank(comparison(task));
    const ms = performance.now() - t0;
    const t1 = performance.now();
    const second = await rank(comparison("second"));
    return {
      ms,
      rows: first.run.rows,
      groups: first.groups,
      second: { ms: performance.now() - t1, rows: second.run.rows, group: second.groups[0] },
      normalization: first.run.normalization,
      totalsMs,
    };
  } finally {
    await services.dispose();
    await fs.rm(userDataDir, { recursive: true, force: true });
  }
}

/** Each cell's category of COLUMN (-1: none) and the categories. */
async function cellCategories(cells: Parameters<typeof scanBatches>[0], nCells: number): Promise<{ codes: Int32Array; names: string[] }> {
  const codes = new Int32Array(nCells).fill(-1);
  const names: string[] = [];
  const index = new Map<string, number>();
  for await (const b of scanBatches(cells, ["cell_integer_id", COLUMN])) {
    const ids = columnNumbers(b.getChild("cell_integer_id")!);
    const values = b.getChild(COLUMN)!;
    for (let i = 0; i < b.numRows; i++) {
      const v = String(values.get(i));
      let k = index.get(v);
      if (k === undefined) index.set(v, (k = names.push(v) - 1));
      codes[ids[i]] = k;
    }
  }
  return { codes, names };
}

/** Classes 0 (the group) and 1 (every other cell). */
function vsRestClasses(codes: Int32Array, names: string[], group: string): { classes: Int32Array; names: string[] } {
  const code = names.indexOf(group);
  return { classes: Int32Array.from(codes, (k) => (k === code ? 0 : 1)), names: [group, "rest"] };
}

async function baseline(task: Task): Promise<Omit<SideResult, "peakRssMb">> {
  const datasets = new DatasetService();
  try {
    const t0 = performance.now();
    const ds = await datasets.acquire(ROOT);
    const cellsTable = ds.tables.get("cells")!;
    const exprTable = ds.tables.get("expression")!;
    const nCells = await cellsTable.countRows();
    const nGenes = await ds.tables.get("genes")!.countRows();
    const categories = await cellCategories(cellsTable, nCells);
    const { classes, names } =
      task === "one" ? vsRestClasses(categories.codes, categories.names, GROUP) : { classes: categories.codes, names: categories.names };

    // The whole matrix in memory, CSR by cell (as scipy holds adata.X).
    const nnz = await exprTable.countRows();
    if (nnz >= 2 ** 31) throw new Error("more than 2^31 values: int32 indptr would overflow");
    const indptr = new Int32Array(nCells + 1);
    const indices = new Int32Array(nnz);
    const data = new Float32Array(nnz);
    let at = 0;
    let last = -1;
    for await (const b of scanBatches(exprTable, ["cell_integer_id", "gene_integer_id", "value"])) {
      const c = columnNumbers(b.getChild("cell_integer_id")!);
      indices.set(columnNumbers(b.getChild("gene_integer_id")!), at);
      data.set(columnNumbers(b.getChild("value")!), at);
      for (let i = 0; i < b.numRows; i++) {
        if (c[i] < last) throw new Error("expression is not stored by cell");
        while (last < c[i]) indptr[++last] = at + i;
      }
      at += b.numRows;
    }
    while (last < nCells) indptr[++last] = at;
    const loaded = performance.now();

    // normalize_total(target_sum=1e4) into a copy, then log1p in place (scanpy's two steps, one loop here). Each
    // value's arithmetic is ours (moments-pass.ts: log1p(x / d), small whole counts once per cell, as numpy's
    // vectorized log1p is far cheaper per value than Math.log1p), so only the data path differs.
    const X = new Float32Array(nnz);
    const small = new Float64Array(SMALL_COUNTS);
    const stamp = new Int32Array(SMALL_COUNTS).fill(-1);
    for (let c = 0; c < nCells; c++) {
      let total = 0;
      for (let k = indptr[c]; k < indptr[c + 1]; k++) total += data[k];
      const d = total / 10_000;
      if (!(d > 0)) continue;
      for (let k = indptr[c]; k < indptr[c + 1]; k++) {
        const x = data[k];
        if (x < SMALL_COUNTS && (x | 0) === x) {
          if (stamp[x] !== c) {
            stamp[x] = c;
            small[x] = Math.log1p(x / d);
          }
          X[k] = small[x];
        } else X[k] = Math.log1p(x / d);
      }
    }
    const normalized = performance.now();

    const first = momentsAndTest(X, indptr, indices, nCells, nGenes, classes, names, task === "one" ? 1 : names.length);
    const done = performance.now();
    // The second comparison: the matrix is loaded and normalized already.
    const vsSecond = vsRestClasses(categories.codes, categories.names, SECOND);
    const [second] = momentsAndTest(X, indptr, indices, nCells, nGenes, vsSecond.classes, vsSecond.names, 1);
    return {
      ms: done - t0,
      rows: nnz,
      groups: first,
      second: { ms: performance.now() - done, rows: 0, group: second },
      phases: { load: loaded - t0, normalize: normalized - loaded, moments: done - normalized },
    };
  } finally {
    await datasets.closeAll();
  }
}

/** Per class and gene: Σy, Σy², cells with y > 0 over the in-memory matrix; the first `ranked` classes vs the rest (every cell minus the class). */
function momentsAndTest(
  X: Float32Array,
  indptr: Int32Array,
  indices: Int32Array,
  nCells: number,
  nGenes: number,
  classes: Int32Array,
  names: string[],
  ranked: number,
): Ranked[] {
  const K = names.length;
  const sum = new Float64Array(K * nGenes);
  const sumSq = new Float64Array(K * nGenes);
  const expressing = new Int32Array(K * nGenes);
  const cellsOf = new Float64Array(K);
  for (let c = 0; c < nCells; c++) {
    const k = classes[c];
    if (k < 0) continue;
    cellsOf[k]++;
    const base = k * nGenes;
    for (let j = indptr[c]; j < indptr[c + 1]; j++) {
      const y = X[j];
      const at2 = base + indices[j];
      sum[at2] += y;
      sumSq[at2] += y * y;
      if (y > 0) expressing[at2]++;
    }
  }
  const all = { n: 0, sum: new Float64Array(nGenes), sumSq: new Float64Array(nGenes), expressing: new Float64Array(nGenes) };
  for (let k = 0; k < K; k++) {
    all.n += cellsOf[k];
    for (let g = 0; g < nGenes; g++) {
      all.sum[g] += sum[k * nGenes + g];
      all.sumSq[g] += sumSq[k * nGenes + g];
      all.expressing[g] += expressing[k * nGenes + g];
    }
  }
  const ids = Int32Array.from({ length: nGenes }, (_, g) => g);
  const groups: Ranked[] = [];
  for (let k = 0; k < ranked; k++) {
    const slice = (a: Float64Array | Int32Array) => a.subarray(k * nGenes, (k + 1) * nGenes);
    const group = { n: cellsOf[k], sum: slice(sum), sumSq: slice(sumSq), expressing: slice(expressing) };
    const rest = {
      n: all.n - group.n,
      sum: all.sum.map((v, g) => v - group.sum[g]),
      sumSq: all.sumSq.map((v, g) => v - group.sumSq[g]),
      expressing: all.expressing.map((v, g) => v - group.expressing[g]),
    };
    const stats = compareGenes(group, rest, nGenes);
    const order = rankOrder(stats.score, ids).subarray(0, TOP);
    groups.push({ group: names[k], top: Array.from(order), scores: Array.from(order, (g) => stats.score[g]) });
  }
  return groups;
}

/** One side in a child process of its own (this bundle again, told which side by the environment). */
function measure(side: Side, task: Task): Promise<SideResult> {
  return new Promise((resolve, reject) => {
    const child = fork(process.argv[1], ["markers"], {
      env: { ...process.env, [SIDE_ENV]: JSON.stringify({ side, task }) },
      stdio: ["ignore", "ignore", "inherit", "ipc"],
    });
    let result: SideResult | null = null;
    child.on("message", (m) => (result = m as SideResult));
    child.on("error", reject);
    child.on("exit", (code, signal) => (result ? resolve(result) : reject(new Error(`${side} (${task}) exited ${code ?? signal} without a result`))));
  });
}

async function child(spec: string): Promise<void> {
  const { side, task } = JSON.parse(spec) as { side: Side; task: Task };
  const r = side === "ours" ? await ours(task) : await baseline(task);
  const message: SideResult = { ...r, peakRssMb: peakRssMb() };
  await new Promise<void>((resolve, reject) => process.send!(message, (e: Error | null) => (e ? reject(e) : resolve())));
}

/** Differences between the two sides' top genes, as lines to print (none when they agree). */
function mismatches(a: { groups: Ranked[] }, b: { groups: Ranked[] }): string[] {
  const out: string[] = [];
  for (const g of a.groups) {
    const other = b.groups.find((x) => x.group === g.group);
    if (!other) out.push(`${g.group}: missing from the baseline`);
    else if (g.top.join() !== other.top.join()) out.push(`${g.group}: ours ${g.top.join(" ")}\n${" ".repeat(g.group.length)}  base ${other.top.join(" ")}`);
  }
  if (a.groups.length !== b.groups.length) out.push(`groups: ours ${a.groups.length}, baseline ${b.groups.length}`);
  return out;
}

/** Largest relative difference between the two sides' scores of the same top genes. */
function scoreDiff(a: { groups: Ranked[] }, b: { groups: Ranked[] }): number {
  let worst = 0;
  for (const g of a.groups) {
    const other = b.groups.find((x) => x.group === g.group);
    g.top.forEach((id, i) => {
      const j = other?.top.indexOf(id) ?? -1;
      if (j >= 0) worst = Math.max(worst, Math.abs(g.scores[i] - other!.scores[j]) / Math.max(1e-12, Math.abs(other!.scores[j])));
    });
  }
  return worst;
}

const s = (ms: number) => (ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`);
const mb = (v: number) => `${Math.round(v).toLocaleString("en-US")} MB`;

export async function run(): Promise<void> {
  const spec = process.env[SIDE_ENV];
  if (spec) return child(spec);
  await synthDataset(ROOT, { from: path.join(PBMC_DIR, "pbmc3k.h5ad"), cells: N_CELLS, seed: 10 });
  const load = () =>
    os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(" ");
  console.log(`${ROOT}: ${COLUMN} = ${GROUP} vs rest, and every ${COLUMN} vs rest; load average at start ${load()}, ${os.cpus().length} cores`);
  const rows: string[][] = [];
  const problems: string[] = [];
  const breakdown: string[][] = [];
  for (const task of ["one", "all"] as Task[]) {
    const pairs: { ours: SideResult; base: SideResult }[] = [];
    for (let i = 0; i < ROUNDS; i++) pairs.push({ base: await measure("baseline", task), ours: await measure("ours", task) });
    const best = (side: "ours" | "base", key: "ms" | "peakRssMb") => Math.min(...pairs.map((p) => p[side][key]));
    const { ours: o, base: b } = pairs[0];
    const wrong = mismatches(o, b);
    problems.push(...wrong.map((w) => `${task}: ${w}`));
    const time = best("ours", "ms") / best("base", "ms");
    const memory = best("ours", "peakRssMb") / best("base", "peakRssMb");
    rows.push([
      task === "one" ? `${GROUP} vs rest` : `all ${o.groups.length} groups vs rest`,
      s(best("ours", "ms")),
      s(best("base", "ms")),
      `${time.toFixed(2)}× ${time <= GOALS.time ? "ok" : "MISSED"}`,
      mb(best("ours", "peakRssMb")),
      mb(best("base", "peakRssMb")),
      `${memory.toFixed(3)}× ${memory <= GOALS.memory ? "ok" : "MISSED"}`,
      wrong.length ? "NO" : `yes (scores within ${scoreDiff(o, b).toExponential(1)})`,
    ]);
    const second = (side: "ours" | "base") => Math.min(...pairs.map((p) => p[side].second.ms));
    const [o2, b2] = [{ groups: [o.second.group] }, { groups: [b.second.group] }];
    const wrong2 = mismatches(o2, b2);
    problems.push(...wrong2.map((w) => `${task}, then ${SECOND}: ${w}`));
    const time2 = second("ours") / second("base");
    rows.push([
      `  then ${SECOND} vs rest, same dataset`,
      s(second("ours")),
      `${s(second("base"))} (in memory)`,
      `${time2.toFixed(2)}× ${time2 <= GOALS.time ? "ok" : "MISSED"}`,
      "(same process)",
      "",
      "",
      wrong2.length ? "NO" : `yes (scores within ${scoreDiff(o2, b2).toExponential(1)})`,
    ]);
    const p = b.phases!;
    breakdown.push([
      task,
      s(p.load),
      s(p.normalize),
      s(p.moments),
      o.totalsMs === undefined ? "none" : s(o.totalsMs),
      s(o.ms - (o.totalsMs ?? 0)),
      `${o.rows.toLocaleString("en-US")} (${o.normalization})`,
      o.second.rows.toLocaleString("en-US"),
    ]);
  }
  console.log(`\nRounds: ${ROUNDS}; load average at end ${load()}\n`);
  table(
    [
      "comparison",
      "ours",
      "baseline",
      `time ours/baseline (goal ≤ ${GOALS.time})`,
      "ours peak RSS",
      "baseline peak RSS",
      `memory ours/baseline (goal ≤ ${GOALS.memory})`,
      `same top ${TOP}`,
    ],
    rows,
  );
  console.log("");
  table(
    [
      "phases (round 1)",
      "baseline: load matrix",
      "normalize + log1p",
      "moments + t-test",
      "ours: cell totals pass",
      "open + moments pass + test",
      "ours: rows read (normalization)",
      `then ${SECOND}: rows read`,
    ],
    breakdown,
  );
  if (problems.length) {
    console.log(`\n!!! MISMATCH: the two sides rank different top ${TOP} genes (gene_integer_id) !!!\n${problems.join("\n")}`);
    throw new Error("markers benchmark: ours and the baseline disagree on the top genes");
  }
}
