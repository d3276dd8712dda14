import { describe, expect, it, vi } from "vitest";
import {
  METHODS,
  EVENT_NAMES,
  allMethods,
  channelOf,
  type Api,
  type Events,
  type MethodName,
  type Namespace,
  type Request,
} from "../../../shared/ipc/contract";
import { decodeFrame, encodeFrame } from "../../../shared/ipc/wire";
import { bindIpc } from "../../../main/electron/ipc";
import { createDispatcher, type Dispatcher } from "../../../main/services/dispatch";

/** One sample request per method: a missing method is a type error here. */
const REQUESTS: { [N in Namespace]: { [M in MethodName<N>]: Request<N, M> } } = {
  app: { info: {}, pickPath: { kind: "directory", title: "Open" } },
  datasets: {
    open: { uri: "/data/pbmc.slaf" },
    openDemo: {},
    close: { datasetId: "ds1" },
    list: {},
    readRows: { datasetId: "ds1", table: "expression", offset: 100_000, limit: 200, columns: ["value"] },
  },
  jobs: { wait: { jobId: "job1" }, cancel: { jobId: "job1" }, list: {} },
  query: {
    start: { datasetId: "ds1", sql: "SELECT cell_type, COUNT(*) FROM cells GROUP BY 1", name: "cell_types", confirmed: false },
    preview: { datasetId: "ds1", sql: "SELECT 1" },
    page: { resultId: "r1", offset: 0, limit: 200 },
    export: { resultId: "r1", format: "parquet", path: "/tmp/out.parquet" },
    release: { resultId: "r1" },
  },
  convert: { inspect: { input: "/data/pbmc3k.h5ad" }, start: { input: "/data/pbmc3k.h5ad", output: "/data/pbmc3k.slaf", force: false } },
  notebooks: {
    read: { path: "/nb.slafnb.md" },
    write: { path: "/nb.slafnb.md", text: "# hi\n", expectedMtimeMs: null },
    watch: { path: "/nb.slafnb.md" },
    unwatch: { path: "/nb.slafnb.md" },
    starter: { datasetId: "ds1" },
  },
  sources: { status: {}, setOffline: { offline: true } },
  settings: { get: {}, set: { hubEndpoint: null, hfToken: "hf_x", s3: { region: "us-east-1", pathStyle: true }, sql: { allowedDirectories: ["/data"] } } },
  cache: {
    usage: {},
    setCap: { capBytes: 50 * 1024 ** 3 },
    pin: { uri: "hf://datasets/acme/atlas/pbmc.slaf@main", tables: ["cells"], columns: ["cell_type"] },
    unpin: { uri: "hf://datasets/acme/atlas/pbmc.slaf", table: "cells" },
    evict: { uri: "s3://bucket/atlas.slaf" },
    clear: {},
  },
  loader: {
    start: {
      datasetId: "ds1",
      options: {
        tokenizer: "scgpt",
        mode: "canonical",
        maxGenes: 1200,
        vocabSize: 50_000,
        nExpressionBins: 51,
        batchSize: 32,
        seed: 7,
        shuffle: true,
        normalizeTotal: 10_000,
        log1p: true,
        geneMediansColumn: null,
        epochs: 2,
        labelColumn: "cell_type",
      },
    },
    batch: { loaderId: "ld1", index: 3, timeoutMs: 5000 },
    play: { loaderId: "ld1", playing: true },
    status: { loaderId: "ld1" },
    cell: { loaderId: "ld1", index: 3, row: 7 },
    compare: { loaderId: "ld1", index: 3 },
    export: { loaderId: "ld1", index: 3, format: "npz", path: "/tmp/batch.npz", overwrite: false },
    stop: { loaderId: "ld1" },
  },
  bench: {
    start: {
      options: {
        uris: ["/data/pbmc.slaf"],
        table: "expression",
        columns: null,
        batchSize: 65_536,
        batches: 10,
        seconds: null,
        cold: false,
        concurrency: 1,
        reader: "scan",
        repeat: 1,
      },
    },
    history: {},
    get: { runId: "run1" },
    remove: { runId: "run1" },
    export: { runId: "run1", format: "csv", path: "/tmp/run.csv" },
  },
  explore: {
    info: { datasetId: "ds1" },
    points: { datasetId: "ds1", column: "X_umap", dims: [0, 1], offset: 0, limit: 65_536 },
    colors: { datasetId: "ds1", column: "seurat_clusters", as: "categorical" },
    searchGenes: { datasetId: "ds1", query: "lyz", limit: 20 },
    gene: { datasetId: "ds1", geneIntegerId: 42, transform: "log1p_cp10k", requestKey: "panel1-a" },
    cancel: { requestKey: "panel1-a" },
    stats: { datasetId: "ds1" },
    defineSet: { datasetId: "ds1", name: "T cells", from: { kind: "ids", ids: new Uint8Array([1, 0, 0, 0, 7, 0, 0, 0]) }, replace: true },
    listSets: { datasetId: "ds1" },
    getSet: { datasetId: "ds1", name: "T cells" },
    renameSet: { datasetId: "ds1", name: "T cells", newName: "CD4 T" },
    deleteSet: { datasetId: "ds1", name: "CD4 T" },
    exportSetCsv: { datasetId: "ds1", name: "T cells", path: "/tmp/t.csv", overwrite: false },
    importSetCsv: { datasetId: "ds1", name: "imported", path: "/tmp/t.csv" },
    qc: { datasetId: "ds1", set: "T cells" },
    qcData: { datasetId: "ds1", set: null },
  },
  markers: {
    start: { datasetId: "ds1", comparison: { kind: "column", column: "cell_type", group: "B", reference: { kind: "rest" } }, normalization: "auto" },
    table: { markersId: "markers1", group: null, filter: { minAbsLogfc: 1, maxPvalAdj: 0.05, direction: "up", search: "cd" }, offset: 0, limit: 100 },
    volcano: { markersId: "markers1", group: "B" },
    topPerGroup: { markersId: "markers1", n: 5 },
    byGroup: { datasetId: "ds1", groupBy: { kind: "sets", sets: ["A", "B"] }, geneIntegerIds: [1, 2], bins: 32 },
    byGroupData: { byGroupId: "bygroup1" },
    release: { id: "markers1" },
  },
};

const EVENTS: Events = {
  job: {
    jobId: "job1",
    kind: "convert",
    state: "running",
    progress: { done: 10, total: 160, unit: "cells", ratePerSecond: 100.5, etaSeconds: 1.5 },
    startedAt: 1,
  },
  "notebook.changed": { path: "/nb.slafnb.md", mtimeMs: 12.5 },
  "app.command": { command: "open-dataset" },
};

const RESPONSES = [
  { ok: true, value: { offset: 0, numRows: 2, totalRows: 2, arrow: new Uint8Array([1, 2, 3, 255, 0]) } },
  { ok: false, error: { code: "QUERY_INVALID", message: "syntax error at or near SELEC", position: { line: 1, column: 1, offset: 0 } } },
  {
    ok: true,
    value: {
      datasetId: "ds1",
      uri: "/d.slaf",
      name: "d",
      source: "local",
      config: { formatVersion: "0.5", nCells: 1, nGenes: 2, expressionCount: 1, sparsity: 0.5, density: 0.5, createdAt: null, raw: { a: [1] } },
      tables: [{ name: "cells", path: "cells.lance", rows: 1, fragments: 1, bytes: 10, columns: [{ name: "x", type: "Utf8", nullable: true }] }],
    },
  },
];

function fakeApi(calls: string[]): Api {
  const api: Record<string, Record<string, (arg: unknown) => Promise<unknown>>> = {};
  for (const { ns, method } of allMethods()) {
    api[ns] ??= {};
    api[ns][method] = async (arg) => {
      calls.push(`${ns}.${method}`);
      return { ok: true, value: arg };
    };
  }
  return api as unknown as Api;
}

function fakeDispatcher(calls: string[]): Dispatcher {
  const never = () => Promise.reject(new Error("not in this test"));
  return createDispatcher({
    api: fakeApi(calls),
    owners: {
      closeDataset: never,
      releaseResult: never,
      unwatch: never,
      settled: never,
      cancelJob: () => undefined,
      stopLoader: never,
      dropCellSet: never,
      releaseMarkers: never,
    },
  });
}

describe("contract", () => {
  it("lists every method once", () => {
    const names = allMethods().map((m) => `${m.ns}.${m.method}`);
    expect(new Set(names).size).toBe(names.length);
    expect(Object.keys(METHODS).sort()).toEqual(Object.keys(REQUESTS).sort());
    for (const ns of Object.keys(REQUESTS) as Namespace[]) expect([...METHODS[ns]].sort()).toEqual(Object.keys(REQUESTS[ns]).sort());
    expect([...EVENT_NAMES].sort()).toEqual(Object.keys(EVENTS).sort());
  });

  it("dispatches every method to its service with the argument its schema accepts", async () => {
    const calls: string[] = [];
    const dispatcher = fakeDispatcher(calls);
    expect(
      dispatcher
        .channels()
        .map((c) => c.channel)
        .sort(),
    ).toEqual(
      allMethods()
        .map((m) => channelOf(m.ns, m.method))
        .sort(),
    );
    for (const { ns, method } of allMethods()) {
      const arg = (REQUESTS[ns] as Record<string, unknown>)[method];
      // A page can only give back what it holds; the sample ids are not held, so those calls stop at the door.
      if (["datasets.close", "query.release", "notebooks.unwatch", "loader.stop"].includes(`${ns}.${method}`)) continue;
      const r = await dispatcher.call(ns, method, arg, "s1");
      expect(r).toMatchObject({ ok: true });
      expect((r as { value: unknown }).value).toEqual(ns === "jobs" && method === "wait" ? { ...(arg as object), timeoutMs: 20_000 } : arg);
    }
    expect(calls).toEqual(
      allMethods()
        .map((m) => `${m.ns}.${m.method}`)
        .filter((m) => !["datasets.close", "query.release", "notebooks.unwatch", "loader.stop"].includes(m)),
    );
  });

  it("binds every method in the Electron IPC binding and refuses untrusted senders", async () => {
    const handlers = new Map<string, (event: unknown, arg: unknown) => unknown>();
    const ipcMain = {
      handle: (ch: string, fn: (event: unknown, arg: unknown) => unknown) => void handlers.set(ch, fn),
      removeHandler: (ch: string) => void handlers.delete(ch),
    };
    let trusted = true;
    const unbind = bindIpc(ipcMain as never, fakeDispatcher([]), () => trusted);
    expect([...handlers.keys()].sort()).toEqual(
      allMethods()
        .map((m) => channelOf(m.ns, m.method))
        .sort(),
    );
    const sender = { id: 7, on: vi.fn(), once: vi.fn() };
    expect(await handlers.get(channelOf("datasets", "open"))!({ sender }, { uri: "/x" })).toEqual({ ok: true, value: { uri: "/x" } });
    expect(await handlers.get(channelOf("datasets", "open"))!({ sender }, { uri: 5 })).toMatchObject({ ok: false, error: { code: "INVALID_ARGUMENT" } });
    trusted = false;
    expect(await handlers.get(channelOf("datasets", "open"))!({ sender }, { uri: "/x" })).toMatchObject({ ok: false, error: { code: "INVALID_ARGUMENT" } });
    unbind();
    expect(handlers.size).toBe(0);
  });

  it("builds the preload bridge from the same list", async () => {
    let exposed: Record<string, Record<string, (arg: unknown) => Promise<unknown>>> = {};
    const invoke = vi.fn(async (channel: string, arg: unknown) => ({ ok: true, value: { channel, arg } }));
    vi.doMock("electron", () => ({
      contextBridge: { exposeInMainWorld: (_key: string, api: typeof exposed) => (exposed = api) },
      ipcRenderer: { invoke, on: vi.fn() },
    }));
    await import("../../../preload/index");
    for (const { ns, method } of allMethods()) {
      expect(typeof exposed[ns][method]).toBe("function");
      expect(await exposed[ns][method]({ n: 1 })).toEqual({ ok: true, value: { channel: channelOf(ns, method), arg: { n: 1 } } });
    }
    expect(typeof (exposed as unknown as { on: unknown }).on).toBe("function");
    vi.doUnmock("electron");
  });

  it("sample payloads survive structuredClone (Electron IPC) and the WebSocket framing", () => {
    const samples: unknown[] = [...Object.values(REQUESTS).flatMap((m) => Object.values(m)), ...Object.values(EVENTS), ...RESPONSES];
    for (const s of samples) {
      expect(structuredClone(s)).toEqual(s);
      expect(decodeFrame(encodeFrame(s))).toEqual(s);
    }
    const bytes = decodeFrame(encodeFrame({ a: new Uint8Array([9, 8]), b: [new Uint8Array(0), new Uint8Array([7])] })) as { a: Uint8Array; b: Uint8Array[] };
    expect(bytes.a).toBeInstanceOf(Uint8Array);
    expect([...bytes.a, ...bytes.b[1]]).toEqual([9, 8, 7]);
  });
});
