/**
 * Lance → DuckDB ingestion of the query bench's whole expression table (~59M rows; INGEST_FILTER="cell_integer_id <
 * 170000" for a ~10M-row slice), and its two halves measured apart: the raw Lance scan on this thread, the scan in
 * the worker delivering flat batches here (no DuckDB), the appender alone over batches already in memory, then
 * `ingestLanceScan` on this thread alone and with the worker scanning while this thread appends (double-buffered),
 * and the worker's batches streamed into a DuckDB query through the `slafwb_stream` table function (nothing stored:
 * `count(*)`, then sums of every column, checked against the appended table) with this thread's event-loop stalls.
 * Variants run interleaved for ROUNDS rounds on this noisy machine; best and median are shown. Needs the query
 * bench's cached dataset (run `bench query` once).
 */
import os from "node:os";
import path from "node:path";
import { DuckDBDataChunk, DuckDBInstance } from "@duckdb/node-api";
import duckdb from "@duckdb/node-bindings";
import { SCAN_BATCH_ROWS } from "../../main/services/arrow";
import { DatasetService } from "../../main/services/datasets/service";
import { catalogTable } from "../../main/services/query/catalog";
import { flatBatches, lanceBatches, readAhead, type FlatScanSpec, type ScannedBatch } from "../../main/services/query/flat-scan";
import { appendFlat, createTable, ingestLanceScan, planColumn } from "../../main/services/query/lance-to-duckdb";
import { ScanWorkers, scanWorkerPath } from "../../main/services/query/scan-workers";
import { STREAM_FUNCTION, StreamSources } from "../../main/services/query/stream-function";
import { table } from "./util";

const ROOT = path.join(os.tmpdir(), "slafwb-bench-query-v1", "pbmc-1m.slaf");
const FILTER = process.env.INGEST_FILTER || null;
const ROUNDS = Number(process.env.ROUNDS ?? 3);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function run(): Promise<void> {
  const datasets = new DatasetService();
  const ds = await datasets.acquire(ROOT);
  const lance = ds.tables.get("expression")!;
  const cat = catalogTable("expression", await lance.schema());
  const cols = cat.columns.map((c) => c.name);
  const spec: FlatScanSpec = {
    columns: cat.columns.map((c) => ({ name: c.name, flat: planColumn(c).flat! })),
    filter: FILTER,
    rowFilter: null,
    batchRows: SCAN_BATCH_ROWS,
  };
  const workerFile = scanWorkerPath();
  if (!workerFile) throw new Error("dist/main/query-scan-worker.mjs is not built (npm run build:main)");
  const workers = new ScanWorkers(workerFile);
  const tablePath = path.join(ROOT, "expression.lance");
  const version = await lance.version();
  const inst = await DuckDBInstance.create(":memory:");
  const conn = await inst.connect();
  const signal = new AbortController().signal;
  // Order-sensitive: rowid is the insertion position.
  const streams = new StreamSources();
  streams.registerFunction(conn);
  let streamWaits = 0;
  let maxLoopGap = 0;
  /** Runs `sql` over a fresh stream of the whole table (`$t` stands for it); returns the rows as text. */
  const streamed = async (sql: string): Promise<string> => {
    const scan = await workers.stream(tablePath, version, spec, signal);
    if (!scan) throw new Error("no scan worker free");
    const { id, remove } = streams.add({ columns: cat.columns.map(planColumn), scan, cardinality: rows, onRows: () => undefined });
    let last = performance.now();
    const tick = setInterval(() => {
      const now = performance.now();
      maxLoopGap = Math.max(maxLoopGap, now - last);
      last = now;
    }, 5);
    try {
      return (await conn.runAndReadAll(sql.replace("$t", `${STREAM_FUNCTION}(${id})`))).getRows()[0].join("/");
    } finally {
      clearInterval(tick);
      streamWaits += scan.waits;
      remove();
      scan.close();
    }
  };
  const sums = `count(*)::DOUBLE, ${cols.map((c) => `sum(${c})::DOUBLE`).join(", ")}`;
  const sumsSeen = new Set<string>();
  const digest = async () =>
    (await conn.runAndReadAll(`SELECT count(*)::DOUBLE, sum(hash(rowid, ${cols.join(", ")}) % 1000003)::DOUBLE FROM main.t`)).getRows()[0].join("/");

  // The append half needs the batches in memory first (own copies: Lance's buffers are not kept across batches).
  const inMemory: ScannedBatch[] = [];
  for await (const b of flatBatches(readAhead(lanceBatches(lance, spec)), spec, true)) inMemory.push(b);
  const rows = inMemory.reduce((s, b) => s + b.rows, 0);

  const variants: [string, boolean, () => Promise<void>][] = [
    [
      "raw Lance scan, this thread (no DuckDB)",
      false,
      async () => {
        for await (const b of lanceBatches(lance, spec)) void b;
      },
    ],
    [
      "scan half: worker scan → this thread (no DuckDB)",
      false,
      async () => {
        for await (const b of workers.scan(tablePath, version, spec, signal)) void b;
      },
    ],
    [
      "append half: appender over batches in memory",
      true,
      async () => {
        await createTable(conn, "main", "t", cat.columns);
        await conn.run("BEGIN TRANSACTION");
        const appender = await conn.createAppender("t", "main");
        const chunk = DuckDBDataChunk.create(cols.map((_, i) => appender.columnType(i)));
        const vectors = cols.map((_, i) => duckdb.data_chunk_get_vector(chunk.chunk, i));
        for (const b of inMemory) appendFlat(appender, chunk, vectors, b);
        appender.closeSync();
        await conn.run("COMMIT");
      },
    ],
    ["ingestLanceScan, this thread only", true, async () => void (await ingestLanceScan(conn, "main", "t", lance, cat.columns, FILTER, { signal }))],
    [
      "ingestLanceScan, worker scans while this thread appends",
      true,
      async () =>
        void (await ingestLanceScan(conn, "main", "t", lance, cat.columns, FILTER, {
          signal,
          flatSource: (s) => workers.scan(tablePath, version, s, signal),
        })),
    ],
    ["stream into a query: SELECT count(*) (nothing stored)", false, async () => void (await streamed("SELECT count(*) FROM $t"))],
    ["stream into a query: count and sum of every column", false, async () => void sumsSeen.add(await streamed(`SELECT ${sums} FROM $t`))],
  ];
  const ms = variants.map(() => [] as number[]);
  const digests = new Set<string>();
  for (let r = 0; r < ROUNDS; r++) {
    for (const [i, [name, appends, fn]] of variants.entries()) {
      const t0 = performance.now();
      await fn();
      ms[i].push(performance.now() - t0);
      if (appends) digests.add(await digest());
      if (r === 0) console.log(`${name}: ${ms[i][0].toFixed(0)} ms`);
    }
  }
  const raw = 0;
  table(
    ["path", "best ms", "median ms", "Mrows/s (best)", "ns/row (best)", "this/raw scan (best)", "this/raw scan (median)"],
    variants.map(([name], i) => {
      const best = Math.min(...ms[i]);
      return [name, best, median(ms[i]), rows / best / 1e3, (best * 1e6) / rows, best / Math.min(...ms[raw]), median(ms[i]) / median(ms[raw])];
    }),
  );
  sumsSeen.add((await conn.runAndReadAll(`SELECT ${sums} FROM main.t`)).getRows()[0].join("/"));
  console.log(
    `${rows.toLocaleString("en-US")} rows (filter: ${FILTER ?? "none"}), ${ROUNDS} rounds; identical tables (order included): ${digests.size === 1 ? "yes" : "NO"}; streamed sums equal the table's: ${sumsSeen.size === 1 ? "yes" : "NO"}`,
  );
  console.log(`streams: ${streamWaits} blocking waits for the worker in all rounds; longest event-loop stall during a stream: ${maxLoopGap.toFixed(0)} ms`);
  await workers.close();
  conn.closeSync();
  inst.closeSync();
  await datasets.closeAll();
}
