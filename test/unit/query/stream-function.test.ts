/**
 * The `slafwb_stream` table function alone (no worker): batches of flat columns, nulls and booleans included, come
 * out of DuckDB as they went in, in order, across 2048-row chunks and batch boundaries; a failure while streaming
 * is DuckDB's error with the stream's message, and a second read of the same stream is refused by name.
 */
import { DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ScannedBatch } from "../../../main/services/query/flat-scan";
import type { ColumnPlan } from "../../../main/services/query/lance-to-duckdb";
import type { StreamedScan } from "../../../main/services/query/scan-stream";
import { STREAM_FUNCTION, STREAM_REREAD_MESSAGE, StreamSources } from "../../../main/services/query/stream-function";

let instance: DuckDBInstance;
let conn: DuckDBConnection;
const sources = new StreamSources();

beforeAll(async () => {
  instance = await DuckDBInstance.create(":memory:");
  conn = await instance.connect();
  sources.registerFunction(conn);
});

afterAll(() => {
  conn.closeSync();
  instance.closeSync();
});

const COLUMNS: ColumnPlan[] = [
  { name: "id", sqlType: "UINTEGER", copier: "fixed", bytesPerValue: 4, listSize: 0, flat: "fixed" },
  { name: "x", sqlType: "DOUBLE", copier: "fixed", bytesPerValue: 8, listSize: 0, flat: "fixed" },
  { name: "ok", sqlType: "BOOLEAN", copier: "bool", bytesPerValue: 0, listSize: 0, flat: "bool" },
];

/** Rows start..start+n: x null when id % 7 == 3, ok = id % 3 == 0. */
function batch(start: number, n: number): ScannedBatch {
  const id = Uint32Array.from({ length: n }, (_, i) => start + i);
  const x = Float64Array.from(id, (v) => v / 4);
  const validity = new Uint8Array(Math.ceil(n / 8));
  id.forEach((v, i) => v % 7 !== 3 && (validity[i >> 3] |= 1 << (i & 7)));
  const ok = Uint8Array.from(id, (v) => Number(v % 3 === 0));
  return {
    rows: n,
    scanned: n,
    bytes: n * 13,
    columns: [
      { values: id, validity: null },
      { values: x, validity },
      { values: ok, validity: null },
    ],
  };
}

/** A stand-in for the worker's stream: these batches, then the end (or a failure). */
function fakeScan(batches: ScannedBatch[], failure?: Error): StreamedScan {
  let k = 0;
  return {
    next: () => {
      if (k < batches.length) return batches[k++];
      if (failure) throw failure;
      return null;
    },
  } as unknown as StreamedScan;
}

function stream(batches: ScannedBatch[], failure?: Error) {
  let rows = 0;
  const s = sources.add({ columns: COLUMNS, scan: fakeScan(batches, failure), cardinality: 1000, onRows: (n) => (rows += n) });
  return { ...s, sql: `${STREAM_FUNCTION}(${s.id})`, rows: () => rows };
}

describe("the slafwb_stream table function", () => {
  it("gives back every row, nulls and booleans included, in order across chunks and batches", async () => {
    const sizes = [5000, 0, 2048, 1, 7000];
    let start = 0;
    const batches = sizes.map((n) => {
      const b = batch(start, n);
      start += n;
      return b;
    });
    const s = stream(batches);
    try {
      const rows = (await conn.runAndReadAll(`SELECT id, x, ok FROM ${s.sql}`)).getRowsJS();
      expect(rows.length).toBe(start);
      rows.forEach((r, i) => expect(r).toEqual([i, i % 7 === 3 ? null : i / 4, i % 3 === 0]));
      expect(s.rows()).toBe(start);
    } finally {
      s.remove();
    }
  });

  it("fails the query with the stream's message, and refuses a second read of one stream", async () => {
    const failing = stream([batch(0, 3000)], new Error("the scan broke"));
    try {
      await expect(conn.run(`SELECT count(*) FROM ${failing.sql}`)).rejects.toThrow(/the scan broke/);
      expect(failing.source.failure).toBeInstanceOf(Error);
    } finally {
      failing.remove();
    }
    const twice = stream([batch(0, 10)]);
    try {
      await expect(conn.run(`SELECT count(*) FROM ${twice.sql} a, ${twice.sql} b`)).rejects.toThrow(STREAM_REREAD_MESSAGE);
      expect(twice.source.reread).toBe(true);
    } finally {
      twice.remove();
    }
    await expect(conn.run(`SELECT count(*) FROM ${STREAM_FUNCTION}(999999)`)).rejects.toThrow(/no stream 999999/);
  });

  it("gives streams ids a user's SQL cannot guess (the function is in every query's catalog)", async () => {
    const open = Array.from({ length: 50 }, () => stream([batch(0, 10)]));
    try {
      const ids = open.map((s) => s.id);
      expect(new Set(ids).size).toBe(ids.length);
      // Not a counter: none of the small numbers a guess would start with.
      expect(ids.every((id) => id > 2 ** 20)).toBe(true);
      for (const guess of [1, 2, 3]) await expect(conn.run(`SELECT count(*) FROM ${STREAM_FUNCTION}(${guess})`)).rejects.toThrow(/no stream/);
    } finally {
      for (const s of open) s.remove();
    }
  });
});
