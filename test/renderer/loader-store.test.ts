import {
  Bool,
  Field,
  FixedSizeList,
  Float32,
  Int32,
  Table,
  Uint16,
  Uint8,
  Utf8,
  makeData,
  makeVector,
  tableToIPC,
  vectorFromArray,
  type DataType,
  type Vector,
} from "apache-arrow";
import { describe, expect, it } from "vitest";
import { type LoaderBatch, type LoaderBatchStats, type LoaderInfo, type LoaderOptions, type LoaderStatus } from "../../shared/ipc/contract";
import { err, ok } from "../../shared/result";
import { cutPosition, decodeBatch, geneAcrossBatch, geneSymbols, type RawBatchView, type TokenBatchView } from "../../renderer/stores/loader-batch";
import { compareGrid, symbolLookup, tokenGrid } from "../../renderer/stores/loader-grid";
import { Loader, defaultLabelColumn, medianCandidates } from "../../renderer/stores/loader.svelte";
import { FakeMain, settle } from "./fake-main";

function col(type: DataType, data: ArrayLike<number>): Vector {
  return makeVector(makeData({ type, length: data.length, nullCount: 0, data } as never));
}

function rowsOf(type: DataType, data: ArrayLike<number>, width: number): Vector {
  const child = makeData({ type, length: data.length, nullCount: 0, data } as never);
  return makeVector(makeData({ type: new FixedSizeList(width, new Field("item", type, true)), length: data.length / width, nullCount: 0, child }));
}

function bools(flags: number[]): Vector {
  return vectorFromArray(
    flags.map((f) => f === 1),
    new Bool(),
  );
}

const ipc = (columns: Record<string, Vector>): Uint8Array => tableToIPC(new Table(columns), "stream");

/** Two cells, sequence 6: [CLS g10 g11 g12 SEP PAD] (truncated at 3 of 5 genes) and [CLS g11 SEP PAD PAD PAD]. */
function tokensArrow(cellIds: [number, number], scgpt = false, changeAt: number | null = null): Uint8Array {
  const ids = [1, 14, 15, 16, 2, 0, 1, 15, 2, 0, 0, 0];
  if (changeAt !== null) ids[changeAt] = 17;
  const N = NaN;
  const columns: Record<string, Vector> = {
    cell_integer_id: col(new Int32(), Int32Array.from(cellIds)),
    label: vectorFromArray(["B", null], new Utf8()),
    n_genes: col(new Int32(), Int32Array.of(5, 1)),
    truncated: bools([1, 0]),
    sep_kept: bools([1, 1]),
    fragment: col(new Int32(), Int32Array.of(0, 1)),
    input_ids: rowsOf(new Int32(), Int32Array.from(ids), 6),
    attention_mask: rowsOf(
      new Uint8(),
      Uint8Array.from(ids, (t) => (t === 0 ? 0 : 1)),
      6,
    ),
    values: rowsOf(new Float32(), Float32Array.of(N, 9, 7, 3, N, N, N, 2.5, N, N, N, N), 6),
  };
  if (scgpt) columns.value_tokens = rowsOf(new Int32(), Int32Array.of(0, 109, 107, 103, 0, 0, 0, 102, 0, 0, 0, 0), 6);
  return ipc(columns);
}

const genesArrow = ipc({ gene_integer_id: col(new Int32(), Int32Array.of(10, 11, 12)), symbol: vectorFromArray(["CD74", "LYZ", "MS4A1"], new Utf8()) });

function stats(over: Partial<LoaderBatchStats> = {}): LoaderBatchStats {
  return {
    cells: 2,
    tokens: 8,
    lengths: [5, 1],
    truncated: 1,
    sepLost: 0,
    distinctGenes: 3,
    outOfVocab: 0,
    topTokens: [],
    composition: null,
    fragments: [1, 1],
    withinL1: 1,
    acrossL1: null,
    ...over,
  };
}

describe("loader batch decoding", () => {
  it("reads a tokenized batch into flat typed arrays, row-major", () => {
    const b = decodeBatch("tokens", tokensArrow([7, 3], true)) as TokenBatchView;
    expect(b.kind).toBe("tokens");
    expect([b.rows, b.seqLength]).toEqual([2, 6]);
    expect([...b.cellIds]).toEqual([7, 3]);
    expect(b.labels).toEqual(["B", null]);
    expect([...b.inputIds]).toEqual([1, 14, 15, 16, 2, 0, 1, 15, 2, 0, 0, 0]);
    expect([...b.attention]).toEqual([1, 1, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0]);
    expect([...b.truncated]).toEqual([1, 0]);
    expect(b.values[1]).toBe(9);
    expect(Number.isNaN(b.values[0])).toBe(true);
    expect(b.valueTokens?.[3]).toBe(103);
    expect(cutPosition(b, 0)).toBe(4);
  });

  it("follows a gene across the batch and builds grid cells with symbol, bin and specials", () => {
    const b = decodeBatch("tokens", tokensArrow([7, 3], true)) as TokenBatchView;
    const across = geneAcrossBatch(b, 11);
    expect([...across.positions]).toEqual([2, 1]);
    expect(across.present).toBe(2);
    expect(geneAcrossBatch(b, 12).present).toBe(1);
    const grid = tokenGrid(b, 100, symbolLookup(geneSymbols(genesArrow)));
    expect(grid.cell(0, 1)).toMatchObject({ text: "CD74", sub: "bin 9", kind: "gene", geneId: 10, masked: false });
    expect(grid.cell(0, 1).title).toContain("value 9");
    expect(grid.cell(0, 0)).toMatchObject({ text: "CLS", kind: "cls", geneId: null });
    expect(grid.cell(0, 5)).toMatchObject({ text: "PAD", kind: "pad", masked: true });
    expect(grid.cut(0)).toBe(4);
    expect(grid.cut(1)).toBeNull();
    expect(grid.label(0)).toMatchObject({ id: "7", label: "B", truncated: true });
  });

  it("interleaves both modes side by side and marks the differing positions", () => {
    const a = decodeBatch("tokens", tokensArrow([7, 3])) as TokenBatchView;
    const c = decodeBatch("tokens", tokensArrow([7, 3], false, 2)) as TokenBatchView;
    const grid = compareGrid(a, c, [new Set([2]), new Set()], 100, symbolLookup(geneSymbols(genesArrow)));
    expect(grid.rows).toBe(4);
    expect(grid.label(0).tag).toBe("0.5.2");
    expect(grid.label(1).tag).toBe("canon");
    expect(grid.cell(0, 2).text).toBe("LYZ");
    expect(grid.cell(1, 2).text).toBe("gene 13");
    expect([grid.differs(0, 2), grid.differs(1, 2), grid.differs(1, 1), grid.differs(2, 2)]).toEqual([true, true, false, false]);
    expect(grid.batchRow(3)).toBe(1);
  });

  it("groups raw COO rows per cell even when a cell's rows are not together", () => {
    const arrow = ipc({
      cell_integer_id: col(new Int32(), Int32Array.of(5, 5, 2, 5)),
      gene_integer_id: col(new Int32(), Int32Array.of(10, 12, 11, 11)),
      value: col(new Uint16(), Uint16Array.of(3, 1, 4, 2)),
    });
    const r = decodeBatch("raw", arrow) as RawBatchView;
    expect([...r.cellIds]).toEqual([5, 2]);
    expect([...r.starts]).toEqual([0, 3, 4]);
    expect([...r.geneIds]).toEqual([10, 12, 11, 11]);
    expect([...r.values]).toEqual([3, 1, 2, 4]);
    expect(r.width).toBe(3);
  });

  it("picks a cell-type-like label column", () => {
    expect(defaultLabelColumn(["orig.ident", "seurat_clusters", "cell_type"])).toBe("cell_type");
    expect(defaultLabelColumn(["donor", "leiden"])).toBe("leiden");
    expect(defaultLabelColumn(["n_genes"])).toBeNull();
  });
});

/** A loader in main as far as the store sees it: batches by index from a list, a history window, calls recorded. */
function fakeLoader(nBatches: number) {
  const main = new FakeMain();
  const calls: string[] = [];
  let playing = false;
  let started: LoaderOptions | null = null;
  const exports = new Set<string>();
  const info = (options: LoaderOptions): LoaderInfo => ({
    loaderId: "loader-1",
    datasetId: "ds-1",
    uri: "/data/pbmc.slaf",
    revision: null,
    options,
    seqLength: 6,
    nCells: nBatches * 2,
    nRows: 100,
    nFragments: 2,
    nRanges: 2,
    nScanners: 2,
    workers: 1,
    labelColumns: ["cell_type"],
    medianColumns: ["gene_median"],
    batchesPerEpoch: nBatches,
  });
  const batch = (index: number): LoaderBatch => ({
    index,
    epoch: 0,
    indexInEpoch: index,
    kind: "tokens",
    arrow: tokensArrow([index * 2, index * 2 + 1]),
    genes: genesArrow,
    stats: stats(),
  });
  const status = (): LoaderStatus => ({
    loaderId: "loader-1",
    state: "running",
    playing,
    epoch: 0,
    batchesProduced: 3,
    cellsProduced: 6,
    tokensProduced: 24,
    cellsPerSecond: playing ? 1000 : null,
    tokensPerSecond: playing ? 4000 : null,
    queueBatches: 1,
    queueBytes: 10,
    queueBudgetBytes: 100,
    history: [1, playing ? nBatches - 1 : 2],
    entropy: null,
    fragmentHeatmap: { firstBatch: 0, rows: [] },
  });
  const c = main.client;
  c.loader.start = async ({ options }) => {
    calls.push("start");
    started = options;
    return ok(info(options));
  };
  c.loader.batch = async ({ index }) => {
    calls.push(`batch ${index}`);
    if (index >= nBatches) return ok({ end: true, batches: nBatches });
    if (index < 1 && calls.filter((x) => x.startsWith("batch")).length > 1) return err("LOADER_HISTORY_EVICTED", "gone");
    return ok(batch(index));
  };
  c.loader.status = async () => ok(status());
  c.loader.play = async ({ playing: p }) => {
    calls.push(p ? "play" : "pause");
    playing = p;
    return ok(status());
  };
  c.loader.stop = async () => {
    calls.push("stop");
    return ok(null);
  };
  // Canonical puts gene 13 (NKG7) where slafdb-0.5.2 has gene 11: a gene the shown batch does not hold.
  c.loader.compare = async ({ index }) =>
    ok({
      index,
      slafdb: tokensArrow([index * 2, index * 2 + 1]),
      canonical: tokensArrow([index * 2, index * 2 + 1], false, 2),
      genes: ipc({ gene_integer_id: col(new Int32(), Int32Array.of(10, 11, 12, 13)), symbol: vectorFromArray(["CD74", "LYZ", "MS4A1", "NKG7"], new Utf8()) }),
      differing: [[2], []],
    });
  c.loader.export = async ({ path, overwrite }) => {
    calls.push(`export ${path}${overwrite ? " overwrite" : ""}`);
    if (exports.has(path) && !overwrite) return err("EXPORT_TARGET_EXISTS", `${path} exists`, { path });
    exports.add(path);
    return ok({ path, bytes: 2048 });
  };
  return { client: c, calls, started: () => started };
}

describe("Loader store", () => {
  const columns = [
    { name: "cell_type", type: "Utf8", kind: "string" as const, nullable: true },
    { name: "cell_start_index", type: "Int64", kind: "int" as const, nullable: false },
  ];

  it("starts with the form's options, shows batch 0, steps forward and back, and stops", async () => {
    const f = fakeLoader(3);
    const loader = new Loader(
      f.client,
      async () => null,
      async () => false,
      5,
    );
    await loader.attach("ds-1", columns);
    expect(loader.options.labelColumn).toBe("cell_type");
    loader.setTokenizer("scgpt");
    expect(loader.options.maxGenes).toBe(1024);
    loader.options.normalizeTotal = 10_000;
    loader.setMode("slafdb-0.5.2");
    expect(loader.options.normalizeTotal).toBeNull();
    loader.setMode("canonical");
    loader.options.log1p = true;
    loader.setTokenizer("raw");
    expect([loader.options.log1p, loader.options.maxGenes]).toEqual([false, 1024]);
    loader.setTokenizer("scgpt");
    loader.setMode("slafdb-0.5.2");
    expect(await loader.start()).toBe(true);
    expect(f.started()).toMatchObject({ tokenizer: "scgpt", mode: "slafdb-0.5.2", maxGenes: 1024, labelColumn: "cell_type" });
    expect(loader.shown?.index).toBe(0);
    expect([...(loader.shown?.view as TokenBatchView).cellIds]).toEqual([0, 1]);
    await loader.next();
    await loader.next();
    expect(loader.shown?.index).toBe(2);
    await loader.next();
    expect(loader.end).toEqual({ end: true, batches: 3 });
    expect(loader.shown?.index).toBe(2);
    expect(loader.canNext).toBe(false);
    await loader.prev();
    expect([...(loader.shown?.view as TokenBatchView).cellIds]).toEqual([2, 3]);
    // Batch 0 has left main's history (status says [1, 2]): Prev is refused here, not sent.
    expect(loader.canPrev).toBe(false);
    expect(loader.snippet).toContain("SLAFDataLoader");
    loader.options.seed = 7;
    expect(loader.optionsChanged).toBe(true);
    await loader.stop();
    expect(f.calls.at(-1)).toBe("stop");
    expect(loader.shown).toBeNull();
    expect(loader.running).toBe(false);
  });

  it("plays: polls status while watched and follows the newest batch; pause stops following", async () => {
    const f = fakeLoader(6);
    const loader = new Loader(
      f.client,
      async () => null,
      async () => false,
      5,
    );
    await loader.attach("ds-1", columns);
    await loader.start();
    const unwatch = loader.watch();
    await loader.play();
    expect(loader.playing).toBe(true);
    for (let i = 0; i < 50 && loader.shown?.index !== 5; i++) await new Promise((r) => setTimeout(r, 5));
    expect(loader.shown?.index).toBe(5);
    expect(loader.status?.cellsPerSecond).toBe(1000);
    await loader.pause();
    expect(loader.playing).toBe(false);
    unwatch();
    await loader.stop();
    await settle();
  });

  it("exports the shown batch to the path asked for, and asks before replacing a file", async () => {
    const f = fakeLoader(2);
    const asked: string[] = [];
    let answer = false;
    const loader = new Loader(
      f.client,
      async (_kind, _title, initial) => `/tmp/out/${initial}`,
      async (q) => {
        asked.push(q.title);
        return answer;
      },
      5,
    );
    await loader.attach("ds-1", columns);
    await loader.start();
    expect(await loader.exportBatch("json")).toBe(true);
    expect(f.calls).toContain("export /tmp/out/geneformer-batch-1.json");
    expect(loader.notice).toContain("/tmp/out/geneformer-batch-1.json");
    expect(await loader.exportBatch("json")).toBe(false);
    expect(asked).toEqual(["Replace geneformer-batch-1.json?"]);
    answer = true;
    expect(await loader.exportBatch("json")).toBe(true);
    expect(f.calls.at(-1)).toBe("export /tmp/out/geneformer-batch-1.json overwrite");
    await loader.stop();
  });

  it("shows main's named error when a start is refused", async () => {
    const f = fakeLoader(2);
    f.client.loader.start = async () => err("LOADER_OPTIONS_INVALID", "max_genes must be at least 3 for Geneformer");
    const loader = new Loader(
      f.client,
      async () => null,
      async () => false,
      5,
    );
    await loader.attach("ds-1", columns);
    expect(await loader.start()).toBe(false);
    expect(loader.error?.code).toBe("LOADER_OPTIONS_INVALID");
    expect(loader.running).toBe(false);
  });

  it("gene medians: offered from the genes table's numeric columns, canonical Geneformer only, sent with start", async () => {
    const genes = [
      { name: "gene_id", type: "Utf8", kind: "string" as const, nullable: false },
      { name: "gene_integer_id", type: "Int64", kind: "int" as const, nullable: false },
      { name: "gene_median", type: "Float64", kind: "float" as const, nullable: true },
      { name: "n_cells", type: "Int32", kind: "int" as const, nullable: true },
      { name: "highly_variable", type: "Bool", kind: "bool" as const, nullable: true },
    ];
    expect(medianCandidates(genes)).toEqual(["gene_median", "n_cells"]);
    // Without gene_integer_id there is nothing to index medians by.
    expect(medianCandidates(genes.filter((c) => c.name !== "gene_integer_id"))).toEqual([]);
    const f = fakeLoader(2);
    const loader = new Loader(
      f.client,
      async () => null,
      async () => false,
      5,
    );
    await loader.attach("ds-1", columns, genes);
    expect(loader.medianColumns).toEqual(["gene_median", "n_cells"]);
    expect(loader.options.geneMediansColumn).toBeNull();
    loader.options.geneMediansColumn = "gene_median";
    loader.setTokenizer("scgpt");
    expect(loader.options.geneMediansColumn).toBeNull();
    loader.setTokenizer("geneformer");
    loader.options.geneMediansColumn = "gene_median";
    loader.setMode("slafdb-0.5.2");
    expect(loader.options.geneMediansColumn).toBeNull();
    loader.setMode("canonical");
    loader.options.geneMediansColumn = "gene_median";
    expect(await loader.start()).toBe(true);
    expect(f.started()).toMatchObject({ tokenizer: "geneformer", mode: "canonical", geneMediansColumn: "gene_median" });
    // Once started, main's own list.
    expect(loader.medianColumns).toEqual(["gene_median"]);
    expect(loader.snippet).toContain("gene_medians=gene_median");
    // Another dataset starts without one.
    await loader.attach("ds-2", columns, []);
    expect(loader.options.geneMediansColumn).toBeNull();
    expect(loader.medianColumns).toEqual([]);
  });

  it("side by side names a gene only the other mode put in a row (not 'gene N')", async () => {
    const f = fakeLoader(2);
    const loader = new Loader(
      f.client,
      async () => null,
      async () => false,
      5,
    );
    await loader.attach("ds-1", columns);
    await loader.start();
    expect(loader.symbolOf(13)).toBe("gene 13");
    await loader.setCompare(true);
    const cmp = loader.comparison!;
    expect(cmp.differingTokens).toBe(1);
    const grid = compareGrid(cmp.slafdb, cmp.canonical, cmp.differing, 100, symbolLookup(cmp.symbols));
    expect(grid.cell(0, 2).text).toBe("LYZ");
    expect(grid.cell(1, 2).text).toBe("NKG7");
    expect(loader.symbolOf(13)).toBe("NKG7");
    expect(loader.symbolOf(10)).toBe("CD74");
    await loader.setCompare(false);
    expect(loader.symbolOf(13)).toBe("gene 13");
    await loader.stop();
  });

  it("says which batch is shown and the newest when main is ahead (stepped back, or playing)", async () => {
    const f = fakeLoader(4);
    const loader = new Loader(
      f.client,
      async () => null,
      async () => false,
      5,
    );
    await loader.attach("ds-1", columns);
    await loader.start();
    await loader.next();
    await loader.next();
    // The fake's status says 3 batches were produced: batch 3 (index 2) is the newest, in step.
    expect(loader.shown?.index).toBe(2);
    expect(loader.lag).toBeNull();
    await loader.prev();
    expect(loader.lag).toEqual({ shown: 2, latest: 3 });
    await loader.stop();
    expect(loader.lag).toBeNull();
  });
});
