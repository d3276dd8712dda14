/**
 * Lance → DuckDB ingestion of the query bench's expression table (a ~10M-row cell_integer_id slice by default;
 * INGEST_FILTER="" for all ~59M rows): the raw Lance scan, the previous path (a per-flush-committing appender
 * fed one batch at a time), each of its two changes alone, and `ingestLanceScan` as it is now. Variants run
 * interleaved for ROUNDS rounds on this noisy machine; best and median are shown. Needs the query bench's
 * cached dataset (run `bench query` once).
 */
import os from "node:os";
import path from "node:path";
import duckdb from "@duckdb/node-bindings";
import { DuckDBDataChunk, DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api";
import type * as lancedb from "@lancedb/lancedb";
import { type arrow, SCAN_BATCH_ROWS } from "../../main/services/arrow";
import { DatasetService } from "../../main/services/datasets/service";
import { catalogTable } from "../../main/services/query/catalog";
import { createTable, ingestLanceScan, readAhead } from "../../main/services/query/lance-to-duckdb";
import { table } from "./util";

type RecordBatch = InstanceType<typeof arrow.RecordBatch>;
const ROOT = path.join(os.tmpdir(), "slafwb-bench-query-v1", "pbmc-1m.slaf");
const FILTER = process.env.INGEST_FILTER ?? "cell_integer_id < 170000";
const ROUNDS = Number(process.env.ROUNDS ?? 5);

function scan(lance: lancedb.Table, cols: string[]): AsyncGenerator<RecordBatch> {
  let q = lance.query().select(cols);
  if (FILTER) q = q.where(FILTER);
  return (q as unknown as { execute(o: { maxBatchLength: number }): AsyncGenerator<RecordBatch> }).execute({ maxBatchLength: SCAN_BATCH_ROWS });
}

/** The previous loop, fixed-width columns only (all the expression table has). */
async function appendLoop(conn: DuckDBConnection, batches: AsyncIterable<RecordBatch>, cols: string[]): Promise<void> {
  const appender = await conn.createAppender("t", "main");
  const chunk = DuckDBDataChunk.create(cols.map((_, i) => appender.columnType(i)));
  const vectors = cols.map((_, i) => duckdb.data_chunk_get_vector(chunk.chunk, i));
  const size = duckdb.vector_size();
  try {
    for await (const b of batches) {
      const datas = cols.map((c) => b.getChild(c)!.data[0]);
      for (let off = 0; off < b.numRows; off += size) {
        const n = Math.min(size, b.numRows - off);
        duckdb.data_chunk_reset(chunk.chunk);
        datas.forEach((d, i) => {
          const v = d.values as unknown as Uint8Array;
          const w = v.BYTES_PER_ELEMENT;
          duckdb.copy_data_to_vector(vectors[i], 0, v.buffer as ArrayBuffer, v.byteOffset + (d.offset + off) * w, n * w);
        });
        duckdb.data_chunk_set_size(chunk.chunk, n);
        appender.appendDataChunk(chunk);
      }
    }
  } finally {
    appender.closeSync();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function run(): Promise<void> {
  const datasets = new DatasetService();
  const ds = await datasets.acquire(ROOT);
  const lance = ds.tables.get("expression")!;
  const cat = catalogTable("expression", await lance.schema());
  const cols = cat.columns.map((c) => c.name);
  const inst = await DuckDBInstance.create(":memory:");
  const conn = await inst.connect();
  const signal = new AbortController().signal;
  // Order-sensitive: rowid is the insertion position.
  const digest = async () =>
    (await conn.runAndReadAll(`SELECT count(*)::DOUBLE, sum(hash(rowid, ${cols.join(", ")}) % 1000003)::DOUBLE FROM main.t`)).getRows()[0].join("/");
  const previous = async (txn: boolean, ahead: boolean) => {
    await createTable(conn, "main", "t", cat.columns);
    if (txn) await conn.run("BEGIN TRANSACTION");
    await appendLoop(conn, ahead ? readAhead(scan(lance, cols)) : scan(lance, cols), cols);
    if (txn) await conn.run("COMMIT");
  };
  const variants: [string, () => Promise<void>][] = [
    [
      "raw Lance scan (no DuckDB)",
      async () => {
        for await (const b of scan(lance, cols)) void b;
      },
    ],
    ["previous: appender, commit per flush", () => previous(false, false)],
    ["previous + one transaction", () => previous(true, false)],
    ["previous + read-ahead", () => previous(false, true)],
    ["previous + both", () => previous(true, true)],
    ["ingestLanceScan (transaction + read-ahead)", async () => void (await ingestLanceScan(conn, "main", "t", lance, cat.columns, FILTER || null, { signal }))],
  ];
  const ms = variants.map(() => [] as number[]);
  const digests = new Set<string>();
  let rows = 0;
  for (let r = 0; r < ROUNDS; r++) {
    for (const [i, [name, fn]] of variants.entries()) {
      const t0 = performance.now();
      await fn();
      ms[i].push(performance.now() - t0);
      if (i > 0) {
        const d = await digest();
        digests.add(d);
        rows = Number(d.split("/")[0]);
      }
      if (r === 0) console.log(`${name}: ${ms[i][0].toFixed(0)} ms`);
    }
  }
  const base = variants.findIndex(([n]) => n.startsWith("previous:"));
  table(
    ["path", "best ms", "median ms", "Mrows/s (best)", "ns/row (best)", "previous/this (best)", "previous/this (median)"],
    variants.map(([name], i) => {
      const best = Math.min(...ms[i]);
      return [name, best, median(ms[i]), rows / best / 1e3, (best * 1e6) / rows, Math.min(...ms[base]) / best, median(ms[base]) / median(ms[i])];
    }),
  );
  console.log(
    `${rows.toLocaleString("en-US")} rows (filter: ${FILTER || "none"}), ${ROUNDS} rounds; identical tables (order included): ${digests.size === 1 ? "yes" : "NO"}`,
  );
  conn.closeSync();
  inst.closeSync();
  await datasets.closeAll();
}
