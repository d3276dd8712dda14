/**
 * The scan worker (the built dist/main/query-scan-worker.mjs, in a real worker thread): the same batches as a scan
 * on this thread, in order, with the id filter; double-buffered; cancellable; a worker that dies fails its scan.
 */
import fs from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openLanceTable } from "../../../main/services/datasets/lance-table";
import { flatBatches, lanceBatches, type FlatScanSpec, type ScannedBatch } from "../../../main/services/query/flat-scan";
import { bitmapFromIds } from "../../../main/services/query/id-bitmap";
import { ScanWorkers, scanWorkerPath } from "../../../main/services/query/scan-workers";
import { failure } from "../../fixtures/result";
import { canonical, openEnv, run, runJob, useQueryEnvironment } from "./helpers";

const q = useQueryEnvironment({ beforeAll, afterAll });
let workers: ScanWorkers;
let tablePath: string;
let version: number;

beforeAll(async () => {
  const file = scanWorkerPath();
  if (!file) throw new Error("dist/main/query-scan-worker.mjs is not built");
  workers = new ScanWorkers(file, { max: 1, maxInFlight: 1 });
  tablePath = path.join(q.fixture.root, "expression.lance");
  const { db, table } = await openLanceTable(tablePath);
  version = await table.version();
  table.close();
  db.close();
});

afterAll(async () => {
  await workers?.close();
});

const COLUMNS: FlatScanSpec["columns"] = [
  { name: "cell_integer_id", flat: "fixed" },
  { name: "gene_integer_id", flat: "fixed" },
  { name: "value", flat: "fixed" },
];

/** Batches as plain arrays, to compare scans. */
async function collect(batches: AsyncIterable<ScannedBatch>): Promise<{ scanned: number; rows: number[][] }> {
  let scanned = 0;
  const rows: number[][] = [];
  for await (const b of batches) {
    scanned += b.scanned;
    rows.push(...b.columns.map((c) => Array.from(c.values as Uint32Array)));
  }
  return { scanned, rows };
}

async function here(spec: FlatScanSpec) {
  const { db, table } = await openLanceTable(tablePath);
  try {
    return await collect(flatBatches(lanceBatches(table, spec), spec, false));
  } finally {
    table.close();
    db.close();
  }
}

describe("the scan worker", () => {
  it("delivers what a scan on this thread does, batch by batch, with and without filters", async () => {
    const cells = bitmapFromIds("cell_integer_id", [3, 17, 18, 90, 141], 3, 141);
    const specs: FlatScanSpec[] = [
      { columns: COLUMNS, filter: null, rowFilter: null, batchRows: 20_000 },
      { columns: COLUMNS, filter: "`value` > 3", rowFilter: { columns: ["cell_integer_id"], bitmaps: [cells] }, batchRows: 7_000 },
    ];
    for (const spec of specs) {
      const there = await collect(workers.scan(tablePath, version, spec, new AbortController().signal));
      const mine = await here(spec);
      expect(there.scanned).toBe(mine.scanned);
      expect(there.rows).toEqual(mine.rows);
      expect(there.rows.flat().length).toBeGreaterThan(0);
    }
  });

  it("stops when cancelled and serves the next scan", async () => {
    const controller = new AbortController();
    const spec: FlatScanSpec = { columns: COLUMNS, filter: null, rowFilter: null, batchRows: 1_000 };
    let batches = 0;
    const scanning = (async () => {
      for await (const _ of workers.scan(tablePath, version, spec, controller.signal)) {
        void _;
        if (++batches === 3) controller.abort();
      }
    })();
    await expect(scanning).rejects.toMatchObject({ appError: { code: "QUERY_CANCELLED" } });
    expect(batches).toBe(3);
    const next = await collect(workers.scan(tablePath, version, { ...spec, batchRows: 50_000 }, new AbortController().signal));
    expect(next.scanned).toBe(151_815);
  });

  it("fails the scan with a named error when the worker dies", async () => {
    const file = path.join(q.fixture.dir, "dying-worker.mjs");
    await fs.writeFile(file, "process.exit(3);\n");
    const dying = new ScanWorkers(file);
    try {
      const spec: FlatScanSpec = { columns: COLUMNS, filter: null, rowFilter: null, batchRows: 1_000 };
      await expect(collect(dying.scan(tablePath, version, spec, new AbortController().signal))).rejects.toMatchObject({
        appError: { code: "INTERNAL", message: "The query scan worker stopped unexpectedly (exit code 3)" },
      });
    } finally {
      await dying.close();
      await fs.rm(file);
    }
  });

  it("answers queries as the engine without workers does", async () => {
    const plain = await openEnv(q.fixture, { scanWorker: null, idSetLimits: { inList: 4, ranges: 2 } });
    const threaded = await openEnv(q.fixture, { idSetLimits: { inList: 4, ranges: 2 } });
    try {
      for (const sql of [
        "SELECT COUNT(*), SUM(value), MIN(gene_integer_id) FROM expression",
        "SELECT c.cell_type, SUM(e.value) FROM expression e JOIN cells c ON e.cell_integer_id = c.cell_integer_id WHERE c.cell_type = 'NK' GROUP BY 1",
        "SELECT e.* FROM expression e WHERE e.value > 40 ORDER BY ALL",
      ]) {
        const a = await run(plain, sql);
        const b = await run(threaded, sql);
        expect(canonical(b.rows), sql).toEqual(canonical(a.rows));
        expect(canonical(b.rows), sql).toEqual(canonical(await q.oracle.rows(sql)));
        expect(b.summary.scans.find((s) => s.table === "expression")).toMatchObject({
          rowsScanned: a.summary.scans.find((s) => s.table === "expression")!.rowsScanned,
          rowsAppended: a.summary.scans.find((s) => s.table === "expression")!.rowsAppended,
        });
      }
      // A worker that cannot start fails the query with a named error, never a crash.
      const broken = await openEnv(q.fixture, { scanWorker: path.join(q.fixture.dir, "no-such-worker.mjs") });
      try {
        const end = await runJob(broken, "SELECT COUNT(*) FROM expression");
        expect(end.state).toBe("failed");
        expect(end.error?.code).toBe("INTERNAL");
        expect(failure(await broken.query.page({ resultId: "r1", offset: 0, limit: 1 })).code).toBe("RESULT_NOT_FOUND");
      } finally {
        await broken.close();
      }
    } finally {
      await plain.close();
      await threaded.close();
    }
  });
});
