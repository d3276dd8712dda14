/**
 * The loader service through the real dispatcher, on the PBMC fixture with real LanceDB and the real prefetch
 * workers: batches decode to the cells' real genes and symbols, history, the end, labels and stats.
 */
import fs from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LoaderBatch, LoaderEnd, LoaderInfo, LoaderOptions } from "../../../shared/ipc/contract";
import type { Services } from "../../../main/services/index";
import { createTokenizer, csrFromCells } from "../../../main/services/loader";
import { testServices } from "../../fixtures/services";
import { tempDir, writePbmcSlaf } from "../../fixtures/slaf-fixture";
import { failure, unwrap } from "../../fixtures/result";
import { loadPbmc } from "../../fixtures/pbmc";
import { canonicalOrder, options, pbmcCell, rows, table, values } from "./service-helpers";

let dir: string;
let services: Services;
let datasetId: string;
const PAGE = "page-loader";

const call = (ns: string, method: string, arg: unknown, session = PAGE) => services.dispatcher.call(ns, method, arg, session);

beforeAll(async () => {
  dir = await tempDir("slafwb-loader-svc-");
  const root = path.join(dir, "pbmc.slaf");
  await writePbmcSlaf(root);
  services = testServices(path.join(dir, "user"));
  datasetId = (unwrap(await call("datasets", "open", { uri: root })) as { datasetId: string }).datasetId;
});

afterAll(async () => {
  await services?.dispose();
  await fs.rm(dir, { recursive: true, force: true });
});

async function start(over: Partial<LoaderOptions>, session = PAGE): Promise<LoaderInfo> {
  return unwrap(await call("loader", "start", { datasetId, options: options(over) }, session)) as LoaderInfo;
}

async function batch(loaderId: string, index: number): Promise<LoaderBatch> {
  const b = unwrap(await call("loader", "batch", { loaderId, index })) as LoaderBatch | LoaderEnd;
  if ("end" in b) throw new Error(`batch ${index} is past the end`);
  return b;
}

describe("a Geneformer preview on PBMC", () => {
  let info: LoaderInfo;
  beforeAll(async () => {
    info = await start({ tokenizer: "geneformer", mode: "canonical", maxGenes: 64, batchSize: 16, seed: 3, labelColumn: "cell_type" });
  });
  afterAll(async () => {
    await call("loader", "stop", { loaderId: info.loaderId });
  });

  it("describes the run", () => {
    expect(info).toMatchObject({ datasetId, seqLength: 64, nCells: 160, nRows: loadPbmc().nnz, batchesPerEpoch: 10, revision: null });
    expect(info.labelColumns).toContain("cell_type");
    expect(info.labelColumns).not.toContain("cell_id");
    expect(info.labelColumns).not.toContain("nCount_RNA");
  });

  it("batches decode to the cells' real genes in rank order, with their symbols and labels", async () => {
    const pbmc = loadPbmc();
    const b = await batch(info.loaderId, 0);
    expect(b).toMatchObject({ index: 0, epoch: 0, indexInEpoch: 0, kind: "tokens" });
    const t = table(b.arrow);
    expect(t.schema.fields.map((f) => f.name)).toEqual([
      "cell_integer_id",
      "label",
      "n_genes",
      "truncated",
      "sep_kept",
      "fragment",
      "input_ids",
      "attention_mask",
      "values",
    ]);
    expect(t.numRows).toBe(16);
    const ids = values(t, "cell_integer_id") as number[];
    expect(new Set(ids).size).toBe(16);
    const symbols = new Map(
      (() => {
        const g = table(b.genes);
        return (values(g, "gene_integer_id") as number[]).map((id, i) => [id, values(g, "symbol")[i] as string]);
      })(),
    );
    const inputIds = rows(t, "input_ids");
    const vals = rows(t, "values");
    ids.forEach((id, r) => {
      const cell = pbmcCell(id);
      const order = canonicalOrder(cell);
      // CLS, the 62 highest-expressed genes, SEP: derived from the data, not from the tokenizer.
      expect(inputIds[r]).toEqual([1, ...order.slice(0, 62).map((g) => g + 4), 2]);
      expect(values(t, "label")[r]).toBe(pbmc.obs[id][pbmc.obsColumns.indexOf("cell_type")]);
      expect(values(t, "n_genes")[r]).toBe(cell.genes.length);
      expect(values(t, "truncated")[r]).toBe(true);
      expect(values(t, "sep_kept")[r]).toBe(true);
      for (const g of order.slice(0, 62)) expect(symbols.get(g)).toBe(pbmc.genes[g]);
      expect(Number.isNaN(vals[r][0])).toBe(true);
      expect(vals[r][1]).toBe(cell.values[cell.genes.indexOf(order[0])]);
    });
    expect(b.stats).toMatchObject({ cells: 16, tokens: 16 * 64, truncated: 16, sepLost: 0, outOfVocab: 0 });
    expect(b.stats.composition?.column).toBe("cell_type");
    expect(b.stats.composition?.counts.reduce((s, c) => s + c.cells, 0)).toBe(16);
    expect(b.stats.topTokens[0].name).toBe(pbmc.genes[b.stats.topTokens[0].geneId as number]);
    expect(b.stats.fragments.reduce((s, n) => s + n, 0)).toBe(16);
    expect(b.stats.acrossL1).toBeNull();
  });

  it("steps forward and back from the history, with the same bytes", async () => {
    const first = await batch(info.loaderId, 0);
    const second = await batch(info.loaderId, 1);
    expect(second.stats.acrossL1).not.toBeNull();
    const ids1 = values(table(second.arrow), "cell_integer_id");
    expect(ids1).not.toEqual(values(table(first.arrow), "cell_integer_id"));
    const again = await batch(info.loaderId, 0);
    expect(Buffer.from(again.arrow).equals(Buffer.from(first.arrow))).toBe(true);
  });

  it("every cell once over the epoch, then LoaderEnd past the end", async () => {
    const seen: number[] = [];
    for (let i = 0; i < 10; i++) seen.push(...(values(table((await batch(info.loaderId, i)).arrow), "cell_integer_id") as number[]));
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 160 }, (_, i) => i));
    expect(unwrap(await call("loader", "batch", { loaderId: info.loaderId, index: 10 }))).toEqual({ end: true, batches: 10 });
    expect(unwrap(await call("loader", "batch", { loaderId: info.loaderId, index: 500 }))).toEqual({ end: true, batches: 10 });
    const status = unwrap(await call("loader", "status", { loaderId: info.loaderId })) as { state: string; batchesProduced: number; cellsProduced: number };
    expect(status).toMatchObject({ state: "ended", batchesProduced: 10, cellsProduced: 160 });
  });
});

describe("scGPT and raw", () => {
  it("scGPT rows carry value tokens equal to the tokenizer's over the same cells", async () => {
    const info = await start({ tokenizer: "scgpt", mode: "slafdb-0.5.2", maxGenes: 100, batchSize: 8, seed: 9, vocabSize: 9000 });
    try {
      expect(info.seqLength).toBe(102);
      const t = table((await batch(info.loaderId, 0)).arrow);
      expect(t.schema.fields.map((f) => f.name)).toContain("value_tokens");
      const ids = values(t, "cell_integer_id") as number[];
      const tok = createTokenizer({ tokenizer: "scgpt", mode: "slafdb-0.5.2", maxGenes: 100, vocabSize: 9000, nExpressionBins: 10 });
      const expected = tok.tokenize(
        csrFromCells(
          ids.map((id) => ({ cellId: id, ...pbmcCell(id) })),
          "integer",
        ),
      );
      expect(rows(t, "input_ids").flat()).toEqual(Array.from(expected.inputIds));
      expect(rows(t, "value_tokens").flat()).toEqual(Array.from(expected.valueTokens!));
      // slafdb-0.5.2: genes in storage order, and value token = vocab_size + the raw count.
      const first = pbmcCell(ids[0]);
      expect(rows(t, "input_ids")[0].slice(1, 4)).toEqual(first.genes.slice(0, 3).map((g) => g + 4));
      expect(rows(t, "value_tokens")[0].slice(1, 4)).toEqual(first.values.slice(0, 3).map((v) => 9000 + v));
    } finally {
      await call("loader", "stop", { loaderId: info.loaderId });
    }
  });

  it("raw batches are the cells' COO rows with stored values", async () => {
    const info = await start({ tokenizer: "raw", batchSize: 5, seed: 1 });
    try {
      expect(info.seqLength).toBe(0);
      const b = await batch(info.loaderId, 0);
      expect(b.kind).toBe("raw");
      const t = table(b.arrow);
      const cellsOf = values(t, "cell_integer_id") as number[];
      const genes = values(t, "gene_integer_id") as number[];
      const vals = values(t, "value") as number[];
      const ids = [...new Set(cellsOf)];
      expect(ids).toHaveLength(5);
      for (const id of ids) {
        const rowsOf = cellsOf.map((c, i) => (c === id ? i : -1)).filter((i) => i >= 0);
        expect(rowsOf.map((i) => genes[i])).toEqual(pbmcCell(id).genes);
        expect(rowsOf.map((i) => vals[i])).toEqual(pbmcCell(id).values);
      }
      expect(b.stats.lengths).toEqual(ids.map((id) => pbmcCell(id).genes.length));
      expect(b.stats.tokens).toBe(cellsOf.length);
    } finally {
      await call("loader", "stop", { loaderId: info.loaderId });
    }
  });
});

describe("stop and pages", () => {
  it("stop: the preview is gone (LOADER_NOT_FOUND), and another page cannot stop a preview it did not start", async () => {
    const info = await start({ batchSize: 8 });
    expect(failure(await call("loader", "stop", { loaderId: info.loaderId }, "other-page")).code).toBe("LOADER_NOT_FOUND");
    expect(unwrap(await call("loader", "status", { loaderId: info.loaderId }))).toMatchObject({ loaderId: info.loaderId });
    unwrap(await call("loader", "stop", { loaderId: info.loaderId }));
    for (const [method, arg] of [
      ["status", {}],
      ["batch", { index: 0 }],
      ["play", { playing: true }],
      ["stop", {}],
    ] as const) {
      expect(failure(await call("loader", method, { loaderId: info.loaderId, ...arg })).code).toBe("LOADER_NOT_FOUND");
    }
  });

  it("a page that goes stops its previews; a page that closes the dataset stops its previews on it", async () => {
    const root = path.join(dir, "pbmc.slaf");
    const gone = "page-gone";
    const { datasetId: ds } = unwrap(await call("datasets", "open", { uri: root }, gone)) as { datasetId: string };
    const a = unwrap(await call("loader", "start", { datasetId: ds, options: options({ batchSize: 8 }) }, gone)) as LoaderInfo;
    await services.dispatcher.endSession(gone);
    expect(failure(await call("loader", "status", { loaderId: a.loaderId })).code).toBe("LOADER_NOT_FOUND");

    const closer = "page-closer";
    unwrap(await call("datasets", "open", { uri: root }, closer));
    const b = unwrap(await call("loader", "start", { datasetId: ds, options: options({ batchSize: 8 }) }, closer)) as LoaderInfo;
    unwrap(await call("datasets", "close", { datasetId: ds }, closer));
    await expect.poll(async () => (await call("loader", "status", { loaderId: b.loaderId })).ok).toBe(false);
    // The first page's dataset is still open and usable.
    expect(unwrap(await call("datasets", "list", {}))).toHaveLength(1);
    await services.dispatcher.endSession(closer);
  });

  it("stopping the services stops the workers", async () => {
    const { liveLoaderWorkers } = await import("../../../main/services/loader/prefetch/prefetcher");
    const info = await start({ batchSize: 8 });
    await batch(info.loaderId, 0);
    expect(liveLoaderWorkers()).toBeGreaterThan(0);
    unwrap(await call("loader", "stop", { loaderId: info.loaderId }));
    await expect.poll(() => liveLoaderWorkers()).toBe(0);
  });
});
