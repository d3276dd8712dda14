/**
 * `npm run bench loader`: the dataloader's prefetcher on a 100k-cell resampled PBMC dataset from local disk, side by
 * side in one run: Geneformer (max_genes 2048), scGPT (1200) and raw mode at batch 32, shuffled and not; a plain
 * sequential LanceDB scan of the same rows (the ceiling); SLAF's shuffle entropy of shuffled vs sequential runs
 * and what shuffling costs. SLAF's published anchors and this goals are printed beside the numbers.
 * Each loader run drains the prefetcher flat out for SLAFWB_BENCH_SECONDS (default 10) after its first batch; all
 * runs are repeated SLAFWB_BENCH_ROUNDS times (default 2), interleaved, and the best of each is shown (these 2 cores
 * are shared, so the load average is printed too).
 */
import { execFile } from "node:child_process";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { measurePrefetcher, type Throughput } from "../../main/commands/loader-measure";
import type { OpenDataset } from "../../main/services/datasets/open-dataset";
import { DatasetService } from "../../main/services/datasets/service";
import { EntropyTracker } from "../../main/services/loader/entropy";
import { createPrefetcher } from "../../main/services/loader/prefetch/prefetcher";
import { expressionSource } from "../../main/services/loader/prefetch/source";
import type { ExpressionSource, PrefetchLayout } from "../../main/services/loader/prefetch/types";
import type { TokenizerOptions } from "../../main/services/loader/tokens";
import { loaderWorkerPath } from "../../main/services/resources";
import { PBMC_DIR, PROJECT_ROOT } from "../fixtures/pbmc";
import { table } from "./util";

const N_CELLS = 100_000;
const CACHE = path.join(os.tmpdir(), "slafwb-bench-loader-v1");
const ROOT = path.join(CACHE, `pbmc-${N_CELLS / 1000}k.slaf`);
const BATCH = 32;
const SEED = 42;

/** SLAF 0.5.2 on a 10-core M1 Max (Tahoe 5.48M cells; ../shared/notes/slaf-format.md §6.3), cells/s. */
const ANCHORS = {
  geneformer: [6_999, 7_487],
  scgpt: [5_157, 5_350],
  raw: [22_399, 28_207],
  entropy: [0.88, 0.9],
  entropyCost: 0.032,
} as const;
const GOALS = { tokenized: 15_000, raw: 30_000, entropy: 0.9, shuffleCost: 0.05 };

interface RunSpec {
  name: string;
  kind: "geneformer" | "scgpt" | "raw";
  tokenizer: TokenizerOptions | "raw";
  shuffle: boolean;
}

const RUNS: RunSpec[] = [
  ...(["slafdb-0.5.2", "canonical"] as const).flatMap((mode): RunSpec[] => [
    {
      name: `Geneformer ${mode}, max_genes 2048`,
      kind: "geneformer",
      tokenizer: { tokenizer: "geneformer", mode, maxGenes: 2048, vocabSize: 50_000, nExpressionBins: 10 },
      shuffle: true,
    },
    {
      name: `scGPT ${mode}, max_genes 1200`,
      kind: "scgpt",
      tokenizer: { tokenizer: "scgpt", mode, maxGenes: 1200, vocabSize: 50_000, nExpressionBins: 10 },
      shuffle: true,
    },
  ]),
  { name: "raw, shuffled", kind: "raw", tokenizer: "raw", shuffle: true },
  { name: "raw, sequential (no shuffle)", kind: "raw", tokenizer: "raw", shuffle: false },
];

async function ensureDataset(): Promise<void> {
  if (await fs.stat(path.join(ROOT, "config.json")).catch(() => null)) return;
  await fs.mkdir(CACHE, { recursive: true });
  const temp = path.join(CACHE, `building-${process.pid}.slaf`);
  await fs.rm(temp, { recursive: true, force: true });
  console.log(`Building ${ROOT} (once) with slaf-workbench synth ...`);
  const cli = path.join(PROJECT_ROOT, "dist", "main", "cli.mjs");
  try {
    await promisify(execFile)(process.execPath, [cli, "synth", "--from", PBMC_DIR, "--cells", String(N_CELLS), "--seed", "10", temp]);
    await fs.rename(temp, ROOT);
  } finally {
    await fs.rm(temp, { recursive: true, force: true });
  }
}

/** The ceiling: one plain sequential scan of the expression table's three columns in large batches, best of 3. */
async function lanceScan(ds: OpenDataset): Promise<{ seconds: number; rows: number }> {
  const expr = ds.tables.get("expression")!;
  let best = { seconds: Infinity, rows: 0 };
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    let rows = 0;
    const q = expr.query().select(["cell_integer_id", "gene_integer_id", "value"]) as unknown as {
      execute(o: { maxBatchLength: number }): Promise<AsyncIterable<{ numRows: number }>>;
    };
    for await (const b of await q.execute({ maxBatchLength: 65_536 })) rows += b.numRows;
    const seconds = (performance.now() - t0) / 1000;
    if (seconds < best.seconds) best = { seconds, rows };
  }
  return best;
}

interface RunResult {
  spec: RunSpec;
  m: Throughput;
  entropy: { withinL1: number; acrossL1: number; score: number } | null;
  layout: PrefetchLayout;
}

async function runLoader(source: ExpressionSource, nCells: number, spec: RunSpec, seconds: number): Promise<RunResult> {
  const tracker = new EntropyTracker(nCells, BATCH);
  const prefetcher = await createPrefetcher({
    source,
    tokenizer: spec.tokenizer,
    batchSize: BATCH,
    seed: SEED,
    shuffle: spec.shuffle,
    epochs: 10_000,
    workerFile: loaderWorkerPath(),
  });
  try {
    const m = await measurePrefetcher(prefetcher, { seconds, onBatch: (ids) => void tracker.add(ids) });
    return { spec, m, entropy: tracker.summary(), layout: prefetcher.layout };
  } finally {
    await prefetcher.close();
  }
}

const range = (r: readonly [number, number]) => `${r[0].toLocaleString("en-US")}–${r[1].toLocaleString("en-US")}`;
const pct = (x: number) => `${(x * 100).toFixed(1)} %`;

/** Every run `rounds` times, interleaved (ABC ABC) so a burst of load elsewhere hits all of them alike; best of each. */
async function measureAll(ds: OpenDataset, source: ExpressionSource, nCells: number, seconds: number, rounds: number) {
  let scan = { seconds: Infinity, rows: 0 };
  const best = new Map<RunSpec, RunResult>();
  for (let round = 1; round <= rounds; round++) {
    console.log(`round ${round} of ${rounds} (load average ${os.loadavg()[0].toFixed(1)})`);
    const s = await lanceScan(ds);
    if (s.seconds < scan.seconds) scan = s;
    for (const spec of RUNS) {
      process.stdout.write(`  ${spec.name} ...`);
      const r = await runLoader(source, nCells, spec, seconds);
      process.stdout.write(` ${Math.round(r.m.cellsPerSecond).toLocaleString("en-US")} cells/s\n`);
      const prior = best.get(spec);
      if (!prior || r.m.cellsPerSecond > prior.m.cellsPerSecond) best.set(spec, r);
    }
  }
  return { scan, results: RUNS.map((spec) => best.get(spec)!) };
}

export async function run(): Promise<void> {
  const seconds = Number(process.env.SLAFWB_BENCH_SECONDS ?? 10);
  const rounds = Math.max(1, Number(process.env.SLAFWB_BENCH_ROUNDS ?? 2));
  await ensureDataset();
  const service = new DatasetService();
  try {
    const ds = await service.acquire(ROOT);
    const source = await expressionSource(ds);
    const nCells = ds.summary.tables.find((t) => t.name === "cells")?.rows ?? N_CELLS;
    const { scan, results } = await measureAll(ds, source, nCells, seconds, rounds);
    const ceilingCells = nCells / scan.seconds;
    const l = results[0].layout;
    console.log(
      `\n${ROOT}: ${nCells.toLocaleString("en-US")} cells, ${source.rows.toLocaleString("en-US")} expression rows, ${l.nFragments} fragments -> ${l.nRanges} ranges, ${l.nScanners} scanners, ${l.workers} workers, ${os.availableParallelism()} cores; batch ${BATCH}, seed ${SEED}, ${seconds} s per loader run after its first batch, best of ${rounds}; load average now ${os
        .loadavg()
        .map((x) => x.toFixed(1))
        .join(" ")}\n`,
    );
    const rows: (string | number)[][] = [
      ["LanceDB sequential scan, 3 columns (ceiling)", Math.round(ceilingCells), "-", "-", scan.rows / scan.seconds / 1e6, "-", 1, "-", "-"],
    ];
    for (const r of results) {
      const anchor = ANCHORS[r.spec.kind];
      rows.push([
        r.spec.name,
        Math.round(r.m.cellsPerSecond),
        r.m.tokensPerSecond > 0 ? `${(r.m.tokensPerSecond / 1e6).toFixed(2)} M` : "-",
        r.m.batches,
        r.m.values / r.m.seconds / 1e6,
        r.entropy ? r.entropy.score.toFixed(3) : "-",
        r.m.cellsPerSecond / ceilingCells,
        range(anchor),
        r.m.cellsPerSecond / anchor[1],
      ]);
    }
    table(["run", "cells/s", "tokens/s", "batches", "Mvalues/s", "entropy", "vs ceiling", "SLAF 0.5.2 cells/s", "vs SLAF best"], rows);

    const rawShuffled = results.find((r) => r.spec.kind === "raw" && r.spec.shuffle)!;
    const rawSequential = results.find((r) => r.spec.kind === "raw" && !r.spec.shuffle)!;
    const cost = 1 - rawShuffled.m.cellsPerSecond / rawSequential.m.cellsPerSecond;
    console.log("\nShuffle quality (SLAF's normalized entropy: mean L1 of cell ids within and across batches, 0 = sequential, 1 = random):");
    table(
      ["loader", "within L1", "across L1", "score", "cells/s"],
      [rawSequential, rawShuffled].map((r) => [
        r.spec.name,
        r.entropy?.withinL1 ?? "-",
        r.entropy?.acrossL1 ?? "-",
        r.entropy ? r.entropy.score.toFixed(3) : "-",
        Math.round(r.m.cellsPerSecond),
      ]),
    );
    console.log("\nGoals (these 2 cores) and SLAF 0.5.2's anchors (10-core M1 Max):");
    const met = (ok: boolean) => (ok ? "yes" : "NO");
    const entropy = rawShuffled.entropy?.score ?? 0;
    const goalRow = (r: RunResult, goal: number): (string | number)[] => [
      `${r.spec.name}: cells/s`,
      Math.round(r.m.cellsPerSecond),
      `≥ ${goal.toLocaleString("en-US")}`,
      met(r.m.cellsPerSecond >= goal),
      range(ANCHORS[r.spec.kind]),
    ];
    table(
      ["what", "measured", "goal", "met", "SLAF 0.5.2"],
      [
        ...results.filter((r) => r.spec.kind !== "raw").map((r) => goalRow(r, GOALS.tokenized)),
        goalRow(rawShuffled, GOALS.raw),
        [
          "shuffle entropy (raw, shuffled)",
          entropy.toFixed(3),
          `≥ ${GOALS.entropy}`,
          met(entropy >= GOALS.entropy),
          `MoS ${ANCHORS.entropy[0]}–${ANCHORS.entropy[1]}`,
        ],
        ["shuffling's throughput cost (raw)", pct(cost), `≤ ${pct(GOALS.shuffleCost)}`, met(cost <= GOALS.shuffleCost), `−${pct(ANCHORS.entropyCost)}`],
      ],
    );
    const ended = results.filter((r) => r.m.ended);
    if (ended.length) console.log(`\nNote: ${ended.map((r) => r.spec.name).join(", ")} ended before the time was up.`);
  } finally {
    await service.closeAll();
  }
}
