/** Export (JSON, .npz), explain and side-by-side through the dispatcher, checked against the data itself. */
import fs from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LoaderBatch, LoaderCellExplain, LoaderComparison, LoaderInfo, LoaderOptions } from "../../../shared/ipc/contract";
import type { Services } from "../../../main/services/index";
import { createTokenizer, csrFromCells } from "../../../main/services/loader";
import { testServices } from "../../fixtures/services";
import { tempDir, writePbmcSlaf } from "../../fixtures/slaf-fixture";
import { failure, unwrap } from "../../fixtures/result";
import { loadPbmc } from "../../fixtures/pbmc";
import { readNpz } from "./npz-reader";
import { canonicalOrder, options, pbmcCell, rows, table, values } from "./service-helpers";

let dir: string;
let root: string;
let services: Services;
let datasetId: string;
const call = (ns: string, method: string, arg: unknown) => services.dispatcher.call(ns, method, arg, "page-tools");

beforeAll(async () => {
  dir = await tempDir("slafwb-loader-tools-");
  root = path.join(dir, "pbmc.slaf");
  await writePbmcSlaf(root);
  services = testServices(path.join(dir, "user"));
  datasetId = (unwrap(await call("datasets", "open", { uri: root })) as { datasetId: string }).datasetId;
});

afterAll(async () => {
  await services?.dispose();
  await fs.rm(dir, { recursive: true, force: true });
});

async function start(over: Partial<LoaderOptions>): Promise<LoaderInfo> {
  return unwrap(await call("loader", "start", { datasetId, options: options(over) })) as LoaderInfo;
}

async function batchTable(loaderId: string, index: number) {
  return table((unwrap(await call("loader", "batch", { loaderId, index })) as LoaderBatch).arrow);
}

describe("export", () => {
  let info: LoaderInfo;
  beforeAll(async () => {
    info = await start({ tokenizer: "scgpt", mode: "canonical", maxGenes: 50, batchSize: 6, nExpressionBins: 51, seed: 2 });
  });
  afterAll(async () => void (await call("loader", "stop", { loaderId: info.loaderId })));

  it("JSON is the CLI's one-batch document of the batch the preview shows", async () => {
    const t = await batchTable(info.loaderId, 1);
    const file = path.join(dir, "batch1.json");
    const out = unwrap(await call("loader", "export", { loaderId: info.loaderId, index: 1, format: "json", path: file })) as { path: string; bytes: number };
    expect(out).toEqual({ path: file, bytes: (await fs.stat(file)).size });
    const doc = JSON.parse(await fs.readFile(file, "utf8"));
    expect(Object.keys(doc)).toEqual(["cell_ids", "input_ids", "attention_mask", "values"]);
    expect(doc.cell_ids).toEqual(values(t, "cell_integer_id"));
    expect(doc.input_ids).toEqual(rows(t, "input_ids"));
    expect(doc.values).toEqual(rows(t, "value_tokens"));
    expect(doc.attention_mask).toEqual(rows(t, "attention_mask").map((r) => r.map((m) => m === 1)));
    // The genes are the cells' 50 highest-expressed, from the data.
    doc.cell_ids.forEach((id: number, r: number) =>
      expect(doc.input_ids[r]).toEqual([
        1,
        ...canonicalOrder(pbmcCell(id))
          .slice(0, 50)
          .map((g) => g + 4),
        2,
      ]),
    );
  });

  it(".npz round-trips: int64 ids and value tokens, bool mask", async () => {
    const t = await batchTable(info.loaderId, 0);
    const file = path.join(dir, "batch0.npz");
    unwrap(await call("loader", "export", { loaderId: info.loaderId, index: 0, format: "npz", path: file }));
    const arrays = readNpz(new Uint8Array(await fs.readFile(file)));
    expect(arrays.get("cell_ids")).toMatchObject({ dtype: "<i8", shape: [6], values: values(t, "cell_integer_id") });
    expect(arrays.get("input_ids")).toMatchObject({ dtype: "<i8", shape: [6, 52], values: rows(t, "input_ids").flat() });
    expect(arrays.get("values")).toMatchObject({ dtype: "<i8", shape: [6, 52], values: rows(t, "value_tokens").flat() });
    expect(arrays.get("attention_mask")).toMatchObject({ dtype: "|b1", shape: [6, 52] });
  });

  it("never replaces a file unasked, never writes inside a dataset, needs an existing folder", async () => {
    const file = path.join(dir, "again.json");
    unwrap(await call("loader", "export", { loaderId: info.loaderId, index: 0, format: "json", path: file }));
    expect(failure(await call("loader", "export", { loaderId: info.loaderId, index: 0, format: "json", path: file })).code).toBe("EXPORT_TARGET_EXISTS");
    unwrap(await call("loader", "export", { loaderId: info.loaderId, index: 1, format: "json", path: file, overwrite: true }));
    expect(JSON.parse(await fs.readFile(file, "utf8")).cell_ids).toEqual(values(await batchTable(info.loaderId, 1), "cell_integer_id"));
    expect(failure(await call("loader", "export", { loaderId: info.loaderId, index: 0, format: "npz", path: path.join(root, "x.npz") })).code).toBe(
      "WRITE_INSIDE_DATASET",
    );
    expect(failure(await call("loader", "export", { loaderId: info.loaderId, index: 0, format: "npz", path: path.join(dir, "no", "x.npz") })).code).toBe(
      "INVALID_ARGUMENT",
    );
    expect(failure(await call("loader", "export", { loaderId: info.loaderId, index: 99, format: "npz", path: path.join(dir, "end.npz") })).message).toMatch(
      /no batch 99/,
    );
    expect((await fs.readdir(dir)).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });

  it("raw batches export as cell ids and COO rows", async () => {
    const raw = await start({ tokenizer: "raw", batchSize: 3 });
    try {
      const file = path.join(dir, "raw.json");
      unwrap(await call("loader", "export", { loaderId: raw.loaderId, index: 0, format: "json", path: file }));
      const doc = JSON.parse(await fs.readFile(file, "utf8"));
      expect(Object.keys(doc)).toEqual(["cell_ids", "x"]);
      expect(doc.x.gene_integer_id).toEqual(doc.cell_ids.flatMap((id: number) => pbmcCell(id).genes));
      expect(doc.x.value).toEqual(doc.cell_ids.flatMap((id: number) => pbmcCell(id).values));
    } finally {
      await call("loader", "stop", { loaderId: raw.loaderId });
    }
  });
});

describe("explain a cell", () => {
  it("canonical: the full ranked list with its symbols and values; kept flags match the batch row", async () => {
    const pbmc = loadPbmc();
    const info = await start({ tokenizer: "geneformer", mode: "canonical", maxGenes: 40, batchSize: 4, labelColumn: "cell_type" });
    try {
      const t = await batchTable(info.loaderId, 2);
      for (let row = 0; row < 4; row++) {
        const ex = unwrap(await call("loader", "cell", { loaderId: info.loaderId, index: 2, row })) as LoaderCellExplain;
        const id = values(t, "cell_integer_id")[row] as number;
        const cell = pbmcCell(id);
        const order = canonicalOrder(cell);
        expect(ex).toMatchObject({ cellId: id, nGenes: order.length, kept: 38, sepKept: true, label: values(t, "label")[row] });
        const e = table(ex.arrow);
        expect(values(e, "gene_integer_id")).toEqual(order);
        expect(values(e, "rank")).toEqual(order.map((_, k) => k + 1));
        expect(values(e, "symbol")).toEqual(order.map((g) => pbmc.genes[g]));
        expect(values(e, "value")).toEqual(order.map((g) => cell.values[cell.genes.indexOf(g)]));
        expect(values(e, "bin").every((b) => b === null)).toBe(true);
        const kept = values(e, "kept") as boolean[];
        const keptGenes = order.filter((_, k) => kept[k]);
        expect(keptGenes.map((g) => g + 4)).toEqual(rows(t, "input_ids")[row].filter((x) => x >= 4));
      }
      expect(failure(await call("loader", "cell", { loaderId: info.loaderId, index: 2, row: 4 })).message).toMatch(/outside batch 2/);
    } finally {
      await call("loader", "stop", { loaderId: info.loaderId });
    }
  });

  it("slafdb-0.5.2 scGPT: SLAF's dense-rank filter, storage order, dense ranks, bins = the counts", async () => {
    const info = await start({ tokenizer: "scgpt", mode: "slafdb-0.5.2", maxGenes: 30, batchSize: 2 });
    try {
      const t = await batchTable(info.loaderId, 0);
      const ex = unwrap(await call("loader", "cell", { loaderId: info.loaderId, index: 0, row: 1 })) as LoaderCellExplain;
      const cell = pbmcCell(values(t, "cell_integer_id")[1] as number);
      // SLAF's window keeps genes whose dense descending rank is at most max_genes, in storage order.
      const distinct = [...new Set(cell.values)].sort((a, b) => b - a);
      expect(distinct.length).toBeGreaterThan(30);
      const keep = cell.genes.map((_, k) => k).filter((k) => distinct.indexOf(cell.values[k]) + 1 <= 30);
      const e = table(ex.arrow);
      expect(values(e, "gene_integer_id")).toEqual(keep.map((k) => cell.genes[k]));
      expect(values(e, "bin")).toEqual(keep.map((k) => cell.values[k]));
      expect(values(e, "rank")).toEqual(keep.map((k) => distinct.indexOf(cell.values[k]) + 1));
      expect(ex).toMatchObject({ nGenes: keep.length, kept: 30, sepKept: true });
      const kept = values(e, "kept") as boolean[];
      expect(kept.filter(Boolean)).toHaveLength(30);
      expect(rows(t, "input_ids")[1].slice(1, 31)).toEqual(keep.slice(0, 30).map((k) => cell.genes[k] + 4));
      expect(rows(t, "value_tokens")[1].slice(1, 31)).toEqual(keep.slice(0, 30).map((k) => 50_000 + cell.values[k]));
    } finally {
      await call("loader", "stop", { loaderId: info.loaderId });
    }
  });
});

describe("side by side", () => {
  it("the same cells in both modes; differing positions are exactly where the input ids differ", async () => {
    const info = await start({ tokenizer: "geneformer", mode: "slafdb-0.5.2", maxGenes: 64, batchSize: 5, seed: 4 });
    try {
      const shown = await batchTable(info.loaderId, 0);
      const cmp = unwrap(await call("loader", "compare", { loaderId: info.loaderId, index: 0 })) as LoaderComparison;
      const slafdb = table(cmp.slafdb);
      const canonical = table(cmp.canonical);
      const ids = values(shown, "cell_integer_id") as number[];
      expect(values(slafdb, "cell_integer_id")).toEqual(ids);
      expect(values(canonical, "cell_integer_id")).toEqual(ids);
      expect(rows(slafdb, "input_ids")).toEqual(rows(shown, "input_ids"));
      const csr = csrFromCells(
        ids.map((id) => ({ cellId: id, ...pbmcCell(id) })),
        "integer",
      );
      const canon = createTokenizer({ tokenizer: "geneformer", mode: "canonical", maxGenes: 64, vocabSize: 50_000, nExpressionBins: 10 }).tokenize(csr);
      expect(rows(canonical, "input_ids").flat()).toEqual(Array.from(canon.inputIds));
      const a = rows(slafdb, "input_ids");
      const b = rows(canonical, "input_ids");
      expect(cmp.differing).toEqual(a.map((r, i) => r.flatMap((x, p) => (x !== b[i][p] ? [p] : []))));
      // Every PBMC cell is longer than max_genes: SLAF 0.5.2 loses SEP at the last position, canonical keeps it.
      for (let r = 0; r < ids.length; r++) {
        expect(a[r][63]).toBeGreaterThanOrEqual(4);
        expect(b[r][63]).toBe(2);
        expect(cmp.differing[r]).toContain(63);
      }
      expect(values(slafdb, "sep_kept")).toEqual([false, false, false, false, false]);
      // Every gene either mode put in a row is named: canonical's top genes are mostly not in slafdb-0.5.2's rows.
      const inRows = new Set([...a.flat(), ...b.flat()].filter((t) => t >= 4).map((t) => t - 4));
      const genes = table(cmp.genes);
      expect(values(genes, "gene_integer_id")).toEqual([...inRows].sort((x, y) => x - y));
      expect(values(genes, "symbol")).toEqual([...inRows].sort((x, y) => x - y).map((g) => loadPbmc().genes[g]));
      const shownGenes = new Set(a.flat().filter((t) => t >= 4));
      expect(b.flat().some((t) => t >= 4 && !shownGenes.has(t))).toBe(true);
    } finally {
      await call("loader", "stop", { loaderId: info.loaderId });
    }
  });

  it("raw mode has nothing to compare: LOADER_OPTIONS_INVALID naming the tokenizer", async () => {
    const info = await start({ tokenizer: "raw", batchSize: 2 });
    try {
      const e = failure(await call("loader", "compare", { loaderId: info.loaderId, index: 0 }));
      expect(e.code).toBe("LOADER_OPTIONS_INVALID");
      expect(e.message).toMatch(/^Option tokenizer: /);
    } finally {
      await call("loader", "stop", { loaderId: info.loaderId });
    }
  });
});
