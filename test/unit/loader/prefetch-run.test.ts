/**
 * The prefetcher end to end: real LanceDB tables on temp dirs, real worker threads (dist/main/loader-worker.mjs,
 * built by the global setup), on a dataset whose cells span fragment boundaries and which has cells without rows.
 */
import fs from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { DatasetService } from "../../../main/services/datasets/service";
import { createTokenizer, csrFromCells, rawBatch, type TokenizerOptions } from "../../../main/services/loader";
import { createPrefetcher, liveLoaderWorkers } from "../../../main/services/loader/prefetch/prefetcher";
import { expressionSource } from "../../../main/services/loader/prefetch/source";
import type { ExpressionSource, PrefetchBatch, PrefetchOptions, Prefetcher } from "../../../main/services/loader/prefetch/types";
import { loaderWorkerPath } from "../../../main/services/resources";
import { isAppFailure } from "../../../shared/result";
import { tempDir } from "../../fixtures/slaf-fixture";
import { readCellsDirectly, rowFragmentsDirectly, writeSpanningSlaf, type DirectCell } from "./prefetch-fixture";

const N_CELLS = 500;
const EMPTY_EVERY = 23;
const GENEFORMER: TokenizerOptions = { tokenizer: "geneformer", mode: "slafdb-0.5.2", maxGenes: 512, vocabSize: 50_000, nExpressionBins: 10 };

let dir: string;
let root: string;
let datasets: DatasetService;
let source: ExpressionSource;
let direct: Map<number, DirectCell>;
let rowFragment: Int32Array;
let rowCells: number[];

async function openSource(uri: string): Promise<ExpressionSource> {
  return expressionSource(await datasets.acquire(uri));
}

function options(extra: Partial<PrefetchOptions> = {}): PrefetchOptions {
  return {
    source,
    tokenizer: GENEFORMER,
    batchSize: 32,
    seed: 7,
    shuffle: true,
    epochs: 1,
    blockRows: 3000,
    workers: 2,
    workerFile: loaderWorkerPath(),
    ...extra,
  };
}

async function drain(pf: Prefetcher): Promise<PrefetchBatch[]> {
  const out: PrefetchBatch[] = [];
  try {
    for (let b = await pf.next(); b; b = await pf.next()) out.push(b);
  } finally {
    await pf.close();
  }
  return out;
}

async function run(extra: Partial<PrefetchOptions> = {}): Promise<PrefetchBatch[]> {
  return drain(await createPrefetcher(options(extra)));
}

/** The code and message of the AppFailure `p` rejects with (null when it resolves). */
async function failureOf(p: Promise<unknown>): Promise<{ code: string; message: string } | null> {
  return p.then(
    () => null,
    (e: unknown) => (isAppFailure(e) ? { code: e.appError.code, message: e.appError.message } : { code: "NOT_AN_APP_FAILURE", message: String(e) }),
  );
}

const ids = (batches: PrefetchBatch[]) => batches.flatMap((b) => [...b.cellIds]);
const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);

beforeAll(async () => {
  dir = await tempDir("slafwb-prefetch-");
  root = path.join(dir, "spanning.slaf");
  await writeSpanningSlaf(root, { nCells: N_CELLS, fragmentRows: 9_973, emptyEvery: EMPTY_EVERY });
  datasets = new DatasetService();
  source = await openSource(root);
  direct = await readCellsDirectly(root);
  rowFragment = await rowFragmentsDirectly(root);
  rowCells = [...direct.keys()].sort((a, b) => a - b);
});

afterAll(async () => {
  await datasets?.closeAll();
  await fs.rm(dir, { recursive: true, force: true });
});

describe("the prefetcher over real worker threads", () => {
  it("emits every cell with rows exactly once per epoch, whole, equal to a direct read, also across fragment boundaries", async () => {
    const starts = source.cellStartIndex as Float64Array;
    const spanning = rowCells.filter((c) => rowFragment[starts[c]] !== rowFragment[starts[c + 1] - 1]);
    expect(spanning.length).toBeGreaterThan(20);
    expect(rowCells.length).toBe(N_CELLS - Math.floor(N_CELLS / EMPTY_EVERY));

    const pf = await createPrefetcher(options({ keepCsr: true }));
    expect(pf.layout).toMatchObject({ nCells: N_CELLS, cellsPerEpoch: rowCells.length, nRows: source.rows, workers: 2 });
    expect(pf.layout.nFragments).toBe(rowFragment[rowFragment.length - 1] + 1);
    const batches = await drain(pf);

    expect(batches.map((b) => b.index)).toEqual(Array.from({ length: pf.layout.batchesPerEpoch }, (_, i) => i));
    expect(batches.slice(0, -1).every((b) => b.cellIds.length === 32 && !b.lastInEpoch)).toBe(true);
    expect(batches[batches.length - 1]).toMatchObject({ lastInEpoch: true, epoch: 0 });
    expect(batches[batches.length - 1].cellIds.length).toBe(rowCells.length - 32 * (batches.length - 1));
    expect(sorted(ids(batches))).toEqual(rowCells);

    const tokenizer = createTokenizer(GENEFORMER);
    for (const b of batches) {
      const csr = b.csr!;
      const expected = [...b.cellIds].map((c) => ({ cellId: c, ...(direct.get(c) as DirectCell) }));
      b.cellIds.forEach((c, i) => {
        const want = direct.get(c) as DirectCell;
        expect([...csr.genes.subarray(csr.offsets[i], csr.offsets[i + 1])], `genes of cell ${c}`).toEqual(want.genes);
        expect([...csr.values.subarray(csr.offsets[i], csr.offsets[i + 1])], `values of cell ${c}`).toEqual(want.values);
        expect(b.fragments[i], `fragment of cell ${c}`).toBe(rowFragment[starts[c]]);
      });
      const tokens = tokenizer.tokenize(csrFromCells(expected, "integer"));
      expect(b.tokens!.inputIds).toEqual(tokens.inputIds);
      expect(b.tokens!.attentionMask).toEqual(tokens.attentionMask);
      expect(b.tokens!.values).toEqual(tokens.values);
      expect(b.tokens!.facts).toEqual(tokens.facts);
      expect(b.tokens!.cellIds).toEqual(b.cellIds);
      expect(b.raw).toBeNull();
    }
    expect(await failureOf(pf.next())).toMatchObject({ code: "LOADER_CANCELLED" }); // drained, then closed
  });

  it("ends with null, and gives the same batches for the same seed whatever the workers and the queue budget", async () => {
    const pf = await createPrefetcher(options({ workers: 1, queueBudgetBytes: 1 }));
    const small: PrefetchBatch[] = [];
    for (let b = await pf.next(); b; b = await pf.next()) {
      small.push(b);
      expect(pf.stats().queueBudgetBytes).toBe(1);
    }
    await expect(pf.next()).resolves.toBeNull();
    await pf.close();
    const wide = await run({ workers: 3 });
    expect(ids(small)).toEqual(ids(wide));
    small.forEach((b, i) => expect(b.tokens!.inputIds).toEqual(wide[i].tokens!.inputIds));

    const other = await run({ seed: 8 });
    expect(ids(other)).not.toEqual(ids(wide));
    expect(sorted(ids(other))).toEqual(rowCells);
  });

  it("runs several epochs, each complete and in its own order", async () => {
    const pf = await createPrefetcher(options({ epochs: 2, tokenizer: "raw" }));
    const per = pf.layout.batchesPerEpoch;
    const batches = await drain(pf);
    expect(batches.length).toBe(2 * per);
    expect(batches.map((b) => [b.index, b.epoch, b.indexInEpoch])).toEqual(Array.from({ length: 2 * per }, (_, i) => [i, Math.floor(i / per), i % per]));
    expect(batches.filter((b) => b.lastInEpoch).map((b) => b.index)).toEqual([per - 1, 2 * per - 1]);
    const e0 = ids(batches.slice(0, per));
    const e1 = ids(batches.slice(per));
    expect(sorted(e0)).toEqual(rowCells);
    expect(sorted(e1)).toEqual(rowCells);
    expect(e1).not.toEqual(e0);
    expect(ids(await run({ tokenizer: "raw" }))).toEqual(e0);
  });

  it("yields raw COO and scGPT batches equal to the tokenizers over a direct read", async () => {
    for (const b of await run({ tokenizer: "raw", batchSize: 50, keepCsr: true })) {
      expect(b.tokens).toBeNull();
      const raw = b.raw!;
      expect(raw).toEqual(rawBatch(b.csr!));
      expect(raw.cellIds).toEqual(b.cellIds);
      const want = [...b.cellIds].map((c) => direct.get(c) as DirectCell);
      expect([...raw.rowCellIds]).toEqual([...b.cellIds].flatMap((c, i) => want[i].genes.map(() => c)));
      expect([...raw.geneIds]).toEqual(want.flatMap((w) => w.genes));
      expect([...raw.values]).toEqual(want.flatMap((w) => w.values));
      expect(raw.values).toBeInstanceOf(Uint16Array);
    }
    const scgpt: TokenizerOptions = { tokenizer: "scgpt", mode: "canonical", maxGenes: 300, vocabSize: 50_000, nExpressionBins: 51 };
    const tokenizer = createTokenizer(scgpt);
    for (const b of await run({ tokenizer: scgpt, seed: 99 })) {
      const t = tokenizer.tokenize(
        csrFromCells(
          [...b.cellIds].map((c) => ({ cellId: c, ...(direct.get(c) as DirectCell) })),
          "integer",
        ),
      );
      expect(b.tokens!.inputIds).toEqual(t.inputIds);
      expect(b.tokens!.valueTokens).toEqual(t.valueTokens);
    }
  });

  it("reads in storage order without shuffle", async () => {
    expect(ids(await run({ shuffle: false, tokenizer: "raw" }))).toEqual(rowCells);
  });

  it("close() mid-run ends the workers, frees the queue and rejects pending next() with LOADER_CANCELLED", async () => {
    const pf = await createPrefetcher(options({ blockRows: 500 }));
    await pf.next();
    expect(liveLoaderWorkers()).toBe(2);
    const pending = Promise.allSettled(Array.from({ length: 40 }, () => pf.next()));
    await pf.close();
    const settled = await pending;
    const rejected = settled.filter((s) => s.status === "rejected");
    expect(rejected.length).toBeGreaterThan(0);
    for (const s of rejected) expect(isAppFailure((s as PromiseRejectedResult).reason, "LOADER_CANCELLED")).toBe(true);
    expect(liveLoaderWorkers()).toBe(0);
    expect(pf.stats()).toMatchObject({ queueBatches: 0, queueBytes: 0 });
    expect(await failureOf(pf.next())).toMatchObject({ code: "LOADER_CANCELLED" });
    await pf.close();
  });

  it("stops on its signal the same way", async () => {
    const controller = new AbortController();
    const pf = await createPrefetcher(options({ blockRows: 500, signal: controller.signal }));
    const pending = Array.from({ length: 40 }, () => pf.next());
    controller.abort();
    const settled = await Promise.allSettled(pending);
    expect(settled.some((s) => s.status === "rejected" && isAppFailure(s.reason, "LOADER_CANCELLED"))).toBe(true);
    await vi.waitFor(() => expect(liveLoaderWorkers()).toBe(0));
    const aborted = new AbortController();
    aborted.abort();
    expect(await failureOf(createPrefetcher(options({ signal: aborted.signal })))).toMatchObject({ code: "LOADER_CANCELLED" });
  });

  it("refuses bad options by name", async () => {
    expect(await failureOf(createPrefetcher(options({ tokenizer: undefined as never })))).toMatchObject({
      code: "LOADER_OPTIONS_INVALID",
      message: expect.stringContaining("tokenizer"),
    });
    expect(await failureOf(createPrefetcher(options({ batchSize: 0 })))).toMatchObject({
      code: "LOADER_OPTIONS_INVALID",
      message: expect.stringContaining("batch_size"),
    });
    expect(await failureOf(createPrefetcher(options({ nScanners: 101 })))).toMatchObject({
      code: "LOADER_OPTIONS_INVALID",
      message: expect.stringContaining("n_scanners"),
    });
    expect(await failureOf(createPrefetcher(options({ tokenizer: { ...GENEFORMER, maxGenes: 0 } })))).toMatchObject({
      code: "LOADER_OPTIONS_INVALID",
      message: expect.stringContaining("max_genes"),
    });
  });
});

describe("the prefetcher on bad data", () => {
  it("a damaged expression data file is TABLE_CORRUPT from next(), and the workers end", async () => {
    const copy = path.join(dir, "damaged.slaf");
    await fs.cp(root, copy, { recursive: true });
    const data = path.join(copy, "expression.lance", "data");
    for (const name of await fs.readdir(data)) {
      const file = path.join(data, name);
      await fs.truncate(file, Math.floor((await fs.stat(file)).size / 2));
    }
    const pf = await createPrefetcher(options({ source: await openSource(copy) }));
    const drained = (async () => {
      while (await pf.next());
    })();
    expect(await failureOf(drained)).toMatchObject({ code: "TABLE_CORRUPT", message: expect.stringContaining('Table "expression"') });
    await vi.waitFor(() => expect(liveLoaderWorkers()).toBe(0));
    expect(await failureOf(pf.next())).toMatchObject({ code: "TABLE_CORRUPT" });
    await pf.close();
  });

  it("a dataset without expression rows ends at once, without workers", async () => {
    const empty = path.join(dir, "empty.slaf");
    await writeSpanningSlaf(empty, { nCells: 10, fragmentRows: 100, emptyEvery: 1 });
    const pf = await createPrefetcher(options({ source: await openSource(empty) }));
    expect(pf.layout).toMatchObject({ nCells: 10, cellsPerEpoch: 0, nRows: 0, batchesPerEpoch: 0, workers: 0 });
    expect(liveLoaderWorkers()).toBe(0);
    await expect(pf.next()).resolves.toBeNull();
    await pf.close();
  });

  it("rows that are not where cell_start_index says are LOADER_DATASET_UNSUPPORTED naming the cell", async () => {
    const shifted = path.join(dir, "shifted.slaf");
    await writeSpanningSlaf(shifted, { nCells: 200, fragmentRows: 20_000, cellStartIndex: "shifted", shiftCell: 100 });
    const src = await openSource(shifted);
    expect(src.cellStartIndexNote).toBeUndefined(); // still non-decreasing, so it is trusted until the rows disagree
    const error = await failureOf(drain(await createPrefetcher(options({ source: src, shuffle: false }))));
    expect(error).toMatchObject({ code: "LOADER_DATASET_UNSUPPORTED", message: expect.stringMatching(/holds cell 100, but cell_start_index places cell 99 /) });
  });
});
