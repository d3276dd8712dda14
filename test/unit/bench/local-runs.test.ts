/**
 * Benchmark runs of a local folder through the app's services (real LanceDB, real loader workers): rows and cells
 * equal the table's, Arrow bytes equal the columns' widths times the rows, batch limits hold, repeats give the
 * median and spread, options and sources fail with named errors, cancel keeps and saves what was read, and
 * dataloader previews are held while a run measures.
 */
import fs from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatasetSummary, LoaderInfo } from "../../../shared/ipc/contract";
import type { Services } from "../../../main/services/index";
import { failure, unwrap } from "../../fixtures/result";
import { testServices } from "../../fixtures/services";
import { tempDir, writePbmcSlaf } from "../../fixtures/slaf-fixture";
import { options as loaderOptions } from "../loader/service-helpers";
import { benchOptions, endOf, runBench, tableRows } from "./helpers";

let dir: string;
let root: string;
let services: Services;
let expressionRows: number;

beforeAll(async () => {
  dir = await tempDir("slafwb-bench-local-");
  root = path.join(dir, "pbmc.slaf");
  // Small chunks: the expression table has several fragments, so ranges and scanners cross files.
  await writePbmcSlaf(root, { cellsPerChunk: 50 });
  expressionRows = await tableRows(root, "expression");
  services = testServices(path.join(dir, "user"));
});

afterAll(async () => {
  await services?.dispose();
  await fs.rm(dir, { recursive: true, force: true });
});

describe("scan reader", () => {
  it("reads every row of the table whatever the concurrency; bytes are the columns' widths times the rows", async () => {
    const { run } = await runBench(services, benchOptions({ uris: [root], table: "cells", batchSize: 16 }));
    const cells = run.results[0];
    expect(cells).toMatchObject({ uri: root, source: "local", revision: null, spread: 0 });
    expect(cells.error).toBeUndefined();
    expect(cells.median).toMatchObject({ rows: 160, cells: 160, batches: 10, upstreamRequests: 0, upstreamBytes: 0, cacheHits: 0, rateLimitUsed: null });
    expect(cells.median.bytes).toBeGreaterThan(0);
    expect(cells.median.mibPerSecond).toBeCloseTo(cells.median.bytes / 2 ** 20 / cells.median.seconds, 6);

    for (const concurrency of [1, 3]) {
      const { run: full } = await runBench(services, benchOptions({ uris: [root], table: "expression", batchSize: 1000, concurrency }));
      const m = full.results[0].median;
      // cell_integer_id uint32 + gene_integer_id uint16 + value uint16, none nullable.
      expect(m).toMatchObject({ rows: expressionRows, cells: 160, bytes: expressionRows * 8 });
      expect(m.batches).toBeGreaterThanOrEqual(Math.ceil(expressionRows / 1000));
    }
    const { run: two } = await runBench(
      services,
      benchOptions({ uris: [root], table: "expression", columns: ["gene_integer_id", "value"], batchSize: 5000, concurrency: 2 }),
    );
    expect(two.results[0].median).toMatchObject({ rows: expressionRows, bytes: expressionRows * 4, cells: 0 });
    expect(two.results[0].notes).toContain("cells not counted: the cell_integer_id column was not read");
  });

  it("stops after the batches asked for, and says when the table ran out first", async () => {
    const { run } = await runBench(services, benchOptions({ uris: [root], table: "expression", batchSize: 100, batches: 7, seconds: null }));
    expect(run.results[0].median).toMatchObject({ rows: 700, batches: 7 });
    expect(run.results[0].notes).toBeUndefined();
    const { run: short } = await runBench(services, benchOptions({ uris: [root], table: "cells", batchSize: 256, batches: 20_000, seconds: null, cold: true }));
    expect(short.results[0].median).toMatchObject({ rows: 160, batches: 1 });
    expect(short.results[0].notes).toEqual([
      "a local folder has no gateway cache: cold reads it as it is (the operating system's page cache may still hold its files)",
      "the cells table has 160 rows, fewer than 20,000 batches of 256: it was read once, whole",
    ]);
  });

  it("repeats: every measurement kept, the median's rate in the middle, the spread over the rates", async () => {
    const { run } = await runBench(services, benchOptions({ uris: [root, root], table: "expression", batchSize: 2000, repeat: 3 }));
    expect(run.results).toHaveLength(2);
    for (const s of run.results) {
      expect(s.repeats).toHaveLength(3);
      for (const m of s.repeats) expect(m.rows).toBe(expressionRows);
      const rates = s.repeats.map((m) => m.mibPerSecond).sort((a, b) => a - b);
      expect(s.median.mibPerSecond).toBe(rates[1]);
      expect(s.spread).toBeCloseTo((rates[2] - rates[0]) / rates[1], 9);
    }
  });
});

describe("dataloader readers", () => {
  it("raw and geneformer read one epoch: every cell once, every expression value", async () => {
    for (const reader of ["raw", "geneformer"] as const) {
      const { run } = await runBench(services, benchOptions({ uris: [root], table: "expression", reader, batchSize: 16, concurrency: 2 }));
      const s = run.results[0];
      expect(s.error).toBeUndefined();
      expect(s.median).toMatchObject({ cells: 160, rows: expressionRows, batches: 10 });
      expect(s.median.bytes).toBeGreaterThan(0);
      expect(s.notes).toEqual(["one epoch of the expression table is 10 batches of 16 cells, and the run ended with it"]);
    }
  });
});

describe("named errors", () => {
  it("refuses options that cannot run, naming the field", async () => {
    const cases: [Partial<Parameters<typeof benchOptions>[0]>, string][] = [
      [{ batches: null, seconds: null }, "options.batches"],
      [{ reader: "raw", table: "cells" }, "options.table"],
      [{ reader: "scgpt", table: "expression", columns: ["value"] }, "options.columns"],
      [{ columns: [] }, "options.columns"],
      [{ columns: ["a", "a"] }, "options.columns"],
      [{ uris: [] }, "options.uris"],
    ];
    for (const [o, field] of cases) {
      const e = failure(await services.api.bench.start({ options: benchOptions({ uris: [root], ...o }) }));
      expect(e, field).toMatchObject({ code: "BENCH_OPTIONS_INVALID", detail: `field: ${field}` });
    }
    // The door checks types and ranges before the service sees the call.
    const bad = await services.dispatcher.call("bench", "start", { options: { ...benchOptions({ uris: [root] }), concurrency: 0 } }, "page");
    expect(failure(bad)).toMatchObject({ code: "INVALID_ARGUMENT" });
  });

  it("a source that fails gets its named error; the others still run", async () => {
    const missing = path.join(dir, "nowhere.slaf");
    const { run } = await runBench(services, benchOptions({ uris: [missing, root], table: "cells", columns: ["cell_type", "no_such_column"] }));
    expect(run.results[0]).toMatchObject({ uri: missing, error: { code: "DATASET_NOT_FOUND" }, repeats: [] });
    expect(run.results[1]).toMatchObject({ uri: root, error: { code: "BENCH_OPTIONS_INVALID" } });
    expect(run.results[1].error?.message).toContain("no_such_column");
    const { run: ok } = await runBench(services, benchOptions({ uris: [missing, root], table: "cells", columns: ["cell_type"] }));
    expect(ok.results[1].median.rows).toBe(160);
    expect(ok.results[1].error).toBeUndefined();
  });
});

describe("cancel", () => {
  it("keeps and saves what was read before the cancel, marked cancelled", async () => {
    const { jobId, runId } = unwrap(
      await services.bench.start({ options: benchOptions({ uris: [root, root], table: "expression", batchSize: 1, seconds: 600, repeat: 2 }) }),
    );
    for (;;) {
      const event = unwrap(await services.api.jobs.wait({ jobId, timeoutMs: 50 }));
      expect(event.state).toBe("running");
      if (event.progress.done > 0) break;
    }
    unwrap(await services.api.jobs.cancel({ jobId }));
    const end = await endOf(services, jobId);
    expect(end).toMatchObject({ state: "cancelled", error: { code: "BENCH_CANCELLED" } });
    const saved = unwrap(await services.api.bench.get({ runId }));
    expect(saved.cancelled).toBe(true);
    expect(saved.results).toHaveLength(1);
    const [m] = saved.results[0].repeats;
    expect(saved.results[0].repeats).toHaveLength(1);
    expect(m.cancelled).toBe(true);
    expect(m.batches).toBeGreaterThan(0);
    expect(m.rows).toBe(m.batches);
    expect(m.rows).toBeLessThan(expressionRows);
    const listed = unwrap(await services.api.bench.history({}));
    expect(listed.find((h) => h.runId === runId)).toMatchObject({ cancelled: true, dataset: "pbmc", table: "expression", reader: "scan" });
  });
});

describe("history and export", () => {
  it("lists newest first, gets, removes, and skips a damaged file", async () => {
    const a = await runBench(services, benchOptions({ uris: [root], table: "cells" }));
    const b = await runBench(services, benchOptions({ uris: [root], table: "cells", cold: true }));
    const historyDir = path.join(dir, "user", "bench-history");
    await fs.writeFile(path.join(historyDir, "run-damaged.json"), '{"runId": "run-damaged", "results": [');
    await fs.writeFile(path.join(historyDir, "notes.txt"), "not a run");
    const listed = unwrap(await services.api.bench.history({}));
    const ids = listed.map((h) => h.runId);
    expect(ids.indexOf(b.runId)).toBeLessThan(ids.indexOf(a.runId));
    expect(ids).not.toContain("run-damaged");
    expect(listed.find((h) => h.runId === b.runId)).toMatchObject({ cold: true, sources: [{ uri: root, source: "local" }] });
    expect(unwrap(await services.api.bench.get({ runId: a.runId }))).toEqual(a.run);
    expect(failure(await services.api.bench.get({ runId: "run-damaged" }))).toMatchObject({
      code: "BENCH_RUN_NOT_FOUND",
      message: expect.stringContaining("damaged"),
    });
    unwrap(await services.api.bench.remove({ runId: "run-damaged" }));
    unwrap(await services.api.bench.remove({ runId: a.runId }));
    expect(failure(await services.api.bench.get({ runId: a.runId }))).toMatchObject({ code: "BENCH_RUN_NOT_FOUND" });
    expect(failure(await services.api.bench.remove({ runId: a.runId }))).toMatchObject({ code: "BENCH_RUN_NOT_FOUND" });
    expect(failure(await services.dispatcher.call("bench", "get", { runId: "../../settings" }, "page"))).toMatchObject({ code: "INVALID_ARGUMENT" });
    expect(unwrap(await services.api.bench.history({})).map((h) => h.runId)).not.toContain(a.runId);
  });

  it("exports CSV (one row per source and repeat) and the CLI's JSON, asks before replacing, never inside a dataset", async () => {
    const { run, runId } = await runBench(services, benchOptions({ uris: [root, path.join(dir, "gone.slaf"), root], table: "cells", repeat: 2 }));
    const csvPath = path.join(dir, "run.csv");
    unwrap(await services.api.bench.export({ runId, format: "csv", path: csvPath }));
    const [header, ...lines] = (await fs.readFile(csvPath, "utf8")).trimEnd().split("\n");
    const columns = header.split(",");
    const rows = lines.map((l) => Object.fromEntries(parseCsvLine(l).map((v, i) => [columns[i], v])));
    expect(rows).toHaveLength(5);
    const measured = run.results.flatMap((s) => s.repeats.map((m, i) => ({ s, m, i })));
    const failedRow = rows.find((r) => r.uri.endsWith("gone.slaf"))!;
    expect(failedRow.error).toMatch(/^DATASET_NOT_FOUND: /);
    expect(failedRow.rows).toBe("");
    for (const { s, m, i } of measured) {
      const row = rows.find((r) => r.uri === s.uri && r.repeat === String(i + 1) && r.rows !== "" && Number(r.seconds) === m.seconds)!;
      expect(row).toBeDefined();
      expect(Number(row.rows)).toBe(m.rows);
      expect(Number(row.bytes)).toBe(m.bytes);
      expect(Number(row.mib_per_s)).toBe(m.mibPerSecond);
      expect(Number(row.ttfb_ms)).toBe(m.ttfbMs);
      expect(row).toMatchObject({ run_id: runId, dataset: "pbmc", source: "local", table: "cells", reader: "scan", cold: "false" });
    }

    const jsonPath = path.join(dir, "run.json");
    unwrap(await services.api.bench.export({ runId, format: "json", path: jsonPath }));
    const doc = JSON.parse(await fs.readFile(jsonPath, "utf8")) as { runs: Record<string, unknown>[]; run_id: string };
    expect(doc.run_id).toBe(runId);
    expect(doc.runs).toHaveLength(3);
    doc.runs.forEach((r, k) => {
      const s = run.results[k];
      expect(r).toMatchObject({
        uri: s.uri,
        source: "local",
        table: "cells",
        rows: s.median.rows,
        bytes: s.median.bytes,
        seconds: s.median.seconds,
        mib_per_s: s.median.mibPerSecond,
        rows_per_s: s.median.rowsPerSecond,
        ttfb_ms: s.median.ttfbMs,
        upstream_requests: 0,
        cache_hits: 0,
      });
    });
    expect(doc.runs[1].error).toMatchObject({ code: "DATASET_NOT_FOUND" });

    expect(failure(await services.api.bench.export({ runId, format: "json", path: jsonPath }))).toMatchObject({ code: "EXPORT_TARGET_EXISTS", path: jsonPath });
    unwrap(await services.api.bench.export({ runId, format: "csv", path: jsonPath, overwrite: true }));
    expect((await fs.readFile(jsonPath, "utf8")).startsWith("run_id,")).toBe(true);
    expect(failure(await services.api.bench.export({ runId, format: "csv", path: path.join(root, "run.csv") }))).toMatchObject({
      code: "WRITE_INSIDE_DATASET",
    });
    expect(failure(await services.api.bench.export({ runId: "run-none", format: "csv", path: path.join(dir, "x.csv") }))).toMatchObject({
      code: "BENCH_RUN_NOT_FOUND",
    });
    const names = await fs.readdir(dir);
    expect(names.filter((n) => n.endsWith(".tmp"))).toEqual([]);
  });
});

describe("dataloader previews", () => {
  it("are held while a run measures and go on after it", async () => {
    const ds = unwrap(await services.api.datasets.open({ uri: root })) as DatasetSummary;
    const info = unwrap(
      await services.api.loader.start({ datasetId: ds.datasetId, options: loaderOptions({ tokenizer: "raw", batchSize: 8, epochs: 10_000 }) }),
    ) as LoaderInfo;
    const produced = async () => unwrap(await services.api.loader.status({ loaderId: info.loaderId })).batchesProduced;
    /** The count once it has not moved for a while (steps already handed out finish first). */
    const settled = async (): Promise<number> => {
      let last = await produced();
      for (;;) {
        await new Promise((r) => setTimeout(r, 2500));
        const now = await produced();
        if (now === last) return now;
        last = now;
      }
    };
    try {
      unwrap(await services.api.loader.play({ loaderId: info.loaderId, playing: true }));
      const resume = services.loader.pauseAll();
      const held = await settled();
      await new Promise((r) => setTimeout(r, 2500));
      expect(await produced()).toBe(held);
      // A run holds them too, and lets go at its end.
      await runBench(services, benchOptions({ uris: [root], table: "cells" }));
      expect(await produced()).toBe(held);
      resume();
      while ((await produced()) === held) await new Promise((r) => setTimeout(r, 100));
      expect(unwrap(await services.api.loader.status({ loaderId: info.loaderId })).state).toBe("running");
    } finally {
      await services.api.loader.stop({ loaderId: info.loaderId });
      await services.api.datasets.close({ datasetId: ds.datasetId });
    }
  });
});

/** One CSV line (the export's quoting: fields with commas, quotes or newlines in double quotes). */
function parseCsvLine(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i <= line.length) {
    if (line[i] === '"') {
      let v = "";
      i++;
      for (;;) {
        if (line[i] === '"' && line[i + 1] === '"') {
          v += '"';
          i += 2;
        } else if (line[i] === '"') {
          i++;
          break;
        } else v += line[i++];
      }
      out.push(v);
      i++;
    } else {
      const end = line.indexOf(",", i);
      out.push(line.slice(i, end < 0 ? line.length : end));
      i = end < 0 ? line.length + 1 : end + 1;
    }
  }
  return out;
}
