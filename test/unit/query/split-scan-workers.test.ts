/**
 * Scans split in two row ranges read by two real scan workers (the built dist/main/query-scan-worker.mjs): the
 * same rows in the same order as one worker, the same DuckDB tables and query answers (the oracle), partial keys
 * on both sides of the split point, a failing or cancelled part, no second worker free, two scans at once.
 */
import fs from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api";
import type * as lancedb from "@lancedb/lancedb";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { arrow } from "../../../main/services/arrow";
import { openLanceTable } from "../../../main/services/datasets/lance-table";
import { catalogTable, type CatalogColumn } from "../../../main/services/query/catalog";
import type { FlatScanSpec, ScannedBatch } from "../../../main/services/query/flat-scan";
import { bitmapFromIds } from "../../../main/services/query/id-bitmap";
import { ingestLanceScan, type IngestOptions } from "../../../main/services/query/lance-to-duckdb";
import { ScanWorkers, scanWorkerPath } from "../../../main/services/query/scan-workers";
import { canonical, openEnv, run, runJob, useQueryEnvironment, type Env } from "./helpers";

const q = useQueryEnvironment({ beforeAll, afterAll });
const ROWS = 151_815;
const HALF = Math.floor(ROWS / 2);
let workerFile: string;
let tablePath: string;
let version: number;
let db: lancedb.Connection;
let lance: lancedb.Table;
let columns: CatalogColumn[];
let duck: DuckDBInstance;
let conn: DuckDBConnection;

beforeAll(async () => {
  workerFile = scanWorkerPath()!;
  if (!workerFile) throw new Error("dist/main/query-scan-worker.mjs is not built");
  tablePath = path.join(q.fixture.root, "expression.lance");
  ({ db, table: lance } = await openLanceTable(tablePath));
  version = await lance.version();
  columns = catalogTable("expression", await lance.schema()).columns;
  duck = await DuckDBInstance.create(":memory:");
  conn = await duck.connect();
});

afterAll(async () => {
  conn?.closeSync();
  duck?.closeSync();
  lance?.close();
  db?.close();
});

const SPEC: FlatScanSpec = {
  columns: [
    { name: "cell_integer_id", flat: "fixed" },
    { name: "gene_integer_id", flat: "fixed" },
    { name: "value", flat: "fixed" },
  ],
  filter: null,
  rowFilter: null,
  batchRows: 5_000,
  tableRows: ROWS,
};

/** The scan's columns, each as one array in delivery order, and the rows it scanned. */
async function collect(batches: AsyncIterable<ScannedBatch>, each?: () => Promise<void>): Promise<{ scanned: number; batches: number; columns: number[][] }> {
  let scanned = 0;
  let count = 0;
  const out: number[][] = [];
  for await (const b of batches) {
    scanned += b.scanned;
    count++;
    b.columns.forEach((c, i) => (out[i] ??= []).push(...Array.from(c.values as Uint32Array)));
    await each?.();
  }
  return { scanned, batches: count, columns: out };
}

/** Workers that split scans of 1,000 rows or more (the fixture's 151,815 rows are well above). */
function splitting(file = workerFile, max = 2): ScanWorkers {
  return new ScanWorkers(file, { max, splitMinRows: 1_000, maxInFlight: 1 });
}

/** A worker that fails (or never answers) the scan of one part and serves every other request as the real one. */
async function failingWorker(part: "first" | "second", reply: object): Promise<string> {
  const file = path.join(q.fixture.dir, `fail-${part}-${Math.random().toString(36).slice(2)}.mjs`);
  await fs.writeFile(
    file,
    `import { parentPort } from "node:worker_threads";
const on = parentPort.on.bind(parentPort);
parentPort.on = (event, listener) => on(event, event !== "message" ? listener : (m) => {
  const range = m && m.spec && m.spec.range;
  if (range && (range.offset === 0) === ${part === "first"}) {
    setTimeout(() => { m.port.postMessage(${JSON.stringify(reply)}); m.port.close(); }, 30);
    return;
  }
  listener(m);
});
await import(${JSON.stringify(pathToFileURL(workerFile).href)});
`,
  );
  return file;
}

const ended = (w: ScanWorkers) => w.ended.closed + w.ended.terminated;

describe("a scan split between two workers", () => {
  it("delivers the rows of one worker's scan in table order, with and without the id filter", async () => {
    const workers = splitting();
    const one = new ScanWorkers(workerFile, { max: 1 });
    try {
      const cells = bitmapFromIds("cell_integer_id", [3, 17, 18, 90, 141, 150], 3, 150);
      for (const spec of [SPEC, { ...SPEC, rowFilter: { columns: ["cell_integer_id"], bitmaps: [cells] } }]) {
        const before = workers.splits;
        const split = await collect(workers.scan(tablePath, version, spec, new AbortController().signal));
        const whole = await collect(one.scan(tablePath, version, spec, new AbortController().signal));
        expect(workers.splits).toBe(before + 1);
        expect(split.scanned).toBe(ROWS);
        expect(whole.scanned).toBe(ROWS);
        expect(split.columns).toEqual(whole.columns);
        expect(split.columns[0].length).toBeGreaterThan(0);
      }
      // A row count that is short (the table grew since) still reads every row: part 2 reads to the end.
      const short = await collect(workers.scan(tablePath, version, { ...SPEC, tableRows: ROWS - 10_000 }, new AbortController().signal));
      expect(short.scanned).toBe(ROWS);
      expect(short.columns).toEqual((await collect(one.scan(tablePath, version, SPEC, new AbortController().signal))).columns);
      // A scan with a Lance filter is never split (Lance's offset would count filtered rows).
      const before = workers.splits;
      await collect(workers.scan(tablePath, version, { ...SPEC, filter: "`value` > 3" }, new AbortController().signal));
      expect(workers.splits).toBe(before);
    } finally {
      await workers.close();
      await one.close();
    }
  });

  it("fills the same DuckDB tables as one worker: rows in order, partial aggregates, counts and progress", async () => {
    const workers = splitting();
    const one = new ScanWorkers(workerFile, { max: 1 });
    const scanned = columns.filter((c) => c.name !== "gene_integer_id");
    const key = scanned.findIndex((c) => c.name === "cell_integer_id");
    const value = scanned.findIndex((c) => c.name === "value");
    const partials = [
      { name: "cell_integer_id", type: scanned[key].type },
      { name: "n", type: new arrow.Float64() },
      { name: "s", type: new arrow.Float64() },
      { name: "c", type: new arrow.Float64() },
      { name: "lo", type: scanned[value].type },
      { name: "hi", type: scanned[value].type },
    ];
    const cells = bitmapFromIds("cell_integer_id", [0, 5, 77, 78, 79, 80, 81, 120, 159], 0, 159);
    const ingest = async (w: ScanWorkers, table: string, opts: Partial<IngestOptions>) => {
      let progress = 0;
      const signal = new AbortController().signal;
      const result = await ingestLanceScan(conn, "main", table, lance, opts.aggregate ? scanned : columns, null, {
        signal,
        onRows: (n) => (progress += n),
        flatSource: (s) => w.scan(tablePath, version, s, signal),
        ...opts,
      });
      return { ...result, progress };
    };
    const rowsOf = async (sql: string) => (await conn.runAndReadAll(sql)).getRowsJS();
    try {
      const shapes: [string, Partial<IngestOptions>][] = [
        ["rows", {}],
        ["rows, id filter", { rowFilter: { columns: ["cell_integer_id"], bitmaps: [cells] } }],
        ["partials per cell", { aggregate: { spec: { key, columns: [value], span: 160 }, columns: partials } }],
        [
          "partials per cell, id filter",
          { aggregate: { spec: { key, columns: [value], span: 160 }, columns: partials }, rowFilter: { columns: ["cell_integer_id"], bitmaps: [cells] } },
        ],
      ];
      for (const [name, opts] of shapes) {
        const before = workers.splits;
        const split = await ingest(workers, "split", opts);
        const whole = await ingest(one, "whole", opts);
        expect(workers.splits, name).toBe(before + 1);
        expect(split.progress, name).toBe(ROWS);
        expect(whole.progress, name).toBe(ROWS);
        expect({ rows: split.rows, bytes: split.bytes }, name).toEqual({ rows: whole.rows, bytes: whole.bytes });
        if (!opts.aggregate) {
          expect(split.appended, name).toBe(whole.appended);
          // Row order included (rowid is the insertion position).
          expect(await rowsOf("SELECT rowid, * FROM split ORDER BY rowid"), name).toEqual(await rowsOf("SELECT rowid, * FROM whole ORDER BY rowid"));
          continue;
        }
        const combined = (t: string) => `SELECT cell_integer_id, SUM(n), SUM(s), SUM(c), MIN(lo), MAX(hi) FROM ${t} GROUP BY 1 ORDER BY 1`;
        expect(await rowsOf(combined("split")), name).toEqual(await rowsOf(combined("whole")));
        // The fixture's split point falls inside a cell: that cell has a partial row from each part.
        const [spanning] = (
          await collect(one.scan(tablePath, version, { ...SPEC, range: { offset: HALF - 1, limit: 2 }, tableRows: null }, new AbortController().signal))
        ).columns;
        expect(spanning[0], "the fixture's rows either side of the split point are one cell's").toBe(spanning[1]);
        const twice = await rowsOf(`SELECT COUNT(*) FROM split WHERE cell_integer_id = ${spanning[0]}`);
        const once = await rowsOf(`SELECT COUNT(*) FROM whole WHERE cell_integer_id = ${spanning[0]}`);
        if (opts.rowFilter) {
          expect(Number(twice[0][0])).toBe(Number(once[0][0]) === 0 ? 0 : 2);
        } else {
          expect(Number(twice[0][0])).toBe(2);
          expect(Number(once[0][0])).toBe(1);
          expect(split.appended).toBe(whole.appended + 1);
        }
      }
    } finally {
      await workers.close();
      await one.close();
    }
  });

  for (const part of ["first", "second"] as const) {
    it(`fails with the ${part} part's error, the same named error as one worker's, and stops the other part`, async () => {
      const file = await failingWorker(part, { t: "error", message: "injected", appError: { code: "TABLE_CORRUPT", message: "Table expression is damaged" } });
      const workers = splitting(file);
      try {
        let consumed = 0;
        const slow = () => new Promise<void>((r) => setTimeout(r, 8)).then(() => void consumed++);
        await expect(collect(workers.scan(tablePath, version, { ...SPEC, batchRows: 1_000 }, new AbortController().signal), slow)).rejects.toMatchObject({
          appError: { code: "TABLE_CORRUPT", message: "Table expression is damaged" },
        });
        expect(workers.splits).toBe(1);
        if (part === "second") {
          // Part 1 was still being taken (76 batches, 8 ms each) when part 2 failed: it was cancelled, and its
          // worker, stopped in the middle of a scan, is ended rather than handed out again.
          expect(consumed).toBeLessThan(Math.ceil(HALF / 1_000));
          await vi.waitFor(() => expect(ended(workers)).toBe(1));
        } else {
          // Nothing of part 2 is passed on before part 1's end; part 2 may have finished reading ahead meanwhile.
          expect(consumed).toBe(0);
          expect(ended(workers)).toBeLessThanOrEqual(1);
        }
        // The next scan (unsplit: no row count) is served.
        expect((await collect(workers.scan(tablePath, version, { ...SPEC, tableRows: null }, new AbortController().signal))).scanned).toBe(ROWS);
      } finally {
        await workers.close();
        await fs.rm(file);
      }
    });
  }

  it("stops both parts when cancelled mid-scan and serves the next scan", async () => {
    const workers = splitting();
    try {
      const controller = new AbortController();
      let batches = 0;
      const scanning = collect(workers.scan(tablePath, version, { ...SPEC, batchRows: 1_000 }, controller.signal), async () => {
        if (++batches === 3) controller.abort();
      });
      await expect(scanning).rejects.toMatchObject({ appError: { code: "QUERY_CANCELLED" } });
      expect(batches).toBe(3);
      expect(workers.splits).toBe(1);
      // Part 1 was stopped in the middle of its scan (part 2 may have finished reading ahead).
      await vi.waitFor(() => expect(ended(workers)).toBeGreaterThanOrEqual(1));
      const next = await collect(workers.scan(tablePath, version, SPEC, new AbortController().signal));
      expect(next.scanned).toBe(ROWS);
      expect(workers.splits).toBe(2);
    } finally {
      await workers.close();
    }
  });

  it("reads in one part when no second worker is free right now", async () => {
    const workers = splitting();
    try {
      // A scan paused after its first batch holds one of the two workers.
      const held = workers.scan(tablePath, version, { ...SPEC, tableRows: null }, new AbortController().signal);
      expect((await held.next()).done).toBe(false);
      const alone = await collect(workers.scan(tablePath, version, SPEC, new AbortController().signal));
      expect(alone.scanned).toBe(ROWS);
      expect(workers.splits).toBe(0);
      await held.return(undefined);
      const single = splitting(workerFile, 1);
      try {
        expect((await collect(single.scan(tablePath, version, SPEC, new AbortController().signal))).scanned).toBe(ROWS);
        expect(single.splits).toBe(0);
      } finally {
        await single.close();
      }
    } finally {
      await workers.close();
    }
  });

  it("never deadlocks two scans at once: the second reads in one part or waits for a worker it does not hold", async () => {
    const workers = splitting();
    try {
      const signal = new AbortController().signal;
      const slow = () => new Promise<void>((r) => setTimeout(r, 1));
      for (let round = 0; round < 3; round++) {
        // The first scan holds both workers (split); the others start meanwhile and wait for one or read alone.
        const first = workers.scan(tablePath, version, { ...SPEC, batchRows: 2_000 }, signal);
        const head = await first.next();
        const rest = { [Symbol.asyncIterator]: () => first };
        const [a, b, c] = await Promise.all([
          collect(rest, slow),
          collect(workers.scan(tablePath, version, { ...SPEC, batchRows: 3_000 }, signal)),
          collect(workers.scan(tablePath, version, { ...SPEC, aggregate: { key: 0, columns: [2], span: 160 } }, signal)),
        ]);
        const headRows = (head.value as ScannedBatch).columns.map((col) => Array.from(col.values as Uint32Array));
        expect([a.scanned + (head.value as ScannedBatch).scanned, b.scanned, c.scanned]).toEqual([ROWS, ROWS, ROWS]);
        expect(headRows.map((col, i) => [...col, ...a.columns[i]])).toEqual(b.columns);
      }
      expect(workers.splits).toBeGreaterThanOrEqual(3);
    } finally {
      await workers.close();
    }
  });
});

describe("queries over split scans", () => {
  let env: Env;
  let plain: Env;
  beforeAll(async () => {
    env = await openEnv(q.fixture, { idSetLimits: { inList: 4, ranges: 2 } });
    env.query.engine.scanWorkers()!.splitMinRows = 1_000;
    plain = await openEnv(q.fixture, { scanWorker: null, idSetLimits: { inList: 4, ranges: 2 } });
  });
  afterAll(async () => {
    await env?.close();
    await plain?.close();
  });

  it("answer as DuckDB over the whole tables and as the engine without workers, with the same scan counts", async () => {
    for (const sql of [
      "SELECT c.cell_type, SUM(e.value) AS total, AVG(e.value), COUNT(*), MIN(e.value), MAX(e.value) FROM expression e JOIN cells c ON e.cell_integer_id = c.cell_integer_id GROUP BY 1",
      "SELECT g.gene_id, SUM(e.value), COUNT(*) FROM expression e JOIN genes g ON e.gene_integer_id = g.gene_integer_id GROUP BY 1",
      "SELECT c.cell_type, SUM(e.value) FROM expression e JOIN cells c ON e.cell_integer_id = c.cell_integer_id WHERE c.cell_type = 'NK' GROUP BY 1",
      "SELECT COUNT(*), SUM(value), MIN(gene_integer_id) FROM expression",
      "SELECT e.cell_integer_id, e.gene_integer_id, e.value FROM expression e JOIN cells c ON e.cell_integer_id = c.cell_integer_id WHERE c.cell_type = 'B' ORDER BY ALL",
    ]) {
      const workers = env.query.engine.scanWorkers()!;
      const before = workers.splits;
      const a = await run(plain, sql);
      const b = await run(env, sql);
      expect(workers.splits, sql).toBe(before + 1);
      expect(canonical(b.rows), sql).toEqual(canonical(await q.oracle.rows(sql)));
      expect(canonical(b.rows), sql).toEqual(canonical(a.rows));
      const scan = (s: typeof a.summary) => s.scans.find((x) => x.table === "expression")!;
      expect(scan(b.summary).rowsScanned, sql).toBe(scan(a.summary).rowsScanned);
      if (!scan(b.summary).aggregated) expect(scan(b.summary).rowsAppended, sql).toBe(scan(a.summary).rowsAppended);
    }
  });

  it("run two at once", async () => {
    const sql = [
      "SELECT c.cell_type, SUM(e.value) FROM expression e JOIN cells c ON e.cell_integer_id = c.cell_integer_id GROUP BY 1",
      "SELECT e.gene_integer_id, COUNT(*) FROM expression e JOIN cells c ON e.cell_integer_id = c.cell_integer_id WHERE c.cell_type = 'NK' GROUP BY 1",
    ];
    const results = await Promise.all([run(env, sql[0]), run(env, sql[1]), run(env, sql[0])]);
    for (const [i, r] of results.entries()) expect(canonical(r.rows)).toEqual(canonical(await q.oracle.rows(sql[i % 2])));
  });

  it("fail with the named error of a part that cannot be read", async () => {
    const file = await failingWorker("second", { t: "error", message: "LanceError(IO): failed to fill whole buffer" });
    const broken = await openEnv(q.fixture, { scanWorker: file });
    broken.query.engine.scanWorkers()!.splitMinRows = 1_000;
    try {
      const end = await runJob(broken, "SELECT c.cell_type, SUM(e.value) FROM expression e JOIN cells c ON e.cell_integer_id = c.cell_integer_id GROUP BY 1");
      expect(end.state).toBe("failed");
      expect(end.error?.code).toBe("TABLE_CORRUPT");
      expect(end.error?.message).toMatch(/^Table "expression"/);
    } finally {
      await broken.close();
      await fs.rm(file);
    }
  });
});
