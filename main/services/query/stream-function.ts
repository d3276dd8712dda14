/**
 * `slafwb_stream(id)`: a DuckDB table function that feeds a query the batches of a scan worker (scan-stream.ts)
 * instead of a table appended first. A query's fact table becomes a view over it (execute.ts), so rows go from
 * the worker's arrays into DuckDB's chunks (a memcpy per column per 2048 rows) and straight into the query, never
 * stored. DuckDB calls the function from its threads; node-api runs every call on this thread's event loop, which
 * is free between calls. A stream can be read once: a query that reads the view twice fails with
 * STREAM_REREAD_MESSAGE, and the caller appends the table instead.
 */
import { randomInt } from "node:crypto";
import duckdb from "@duckdb/node-bindings";
import {
  BIGINT,
  BOOLEAN,
  DOUBLE,
  DuckDBTableFunction,
  FLOAT,
  INTEGER,
  SMALLINT,
  TINYINT,
  UBIGINT,
  UINTEGER,
  USMALLINT,
  UTINYINT,
  type DuckDBConnection,
  type DuckDBType,
} from "@duckdb/node-api";
import { fail } from "../errors";
import type { ScannedBatch } from "./flat-scan";
import { copyFlatSlice, type ColumnPlan } from "./lance-to-duckdb";

export const STREAM_FUNCTION = "slafwb_stream";
export const STREAM_REREAD_MESSAGE = "slafwb: a streamed table was read twice";

const VECTOR_SIZE = duckdb.vector_size();

const TYPES: Record<string, DuckDBType> = { BOOLEAN, TINYINT, SMALLINT, INTEGER, BIGINT, UTINYINT, USMALLINT, UINTEGER, UBIGINT, FLOAT, DOUBLE };

/** Whether a column can be streamed (fixed-width numbers and booleans). */
export function canStream(p: ColumnPlan): boolean {
  return p.flat !== null && TYPES[p.sqlType] !== undefined;
}

/** One streamed table of a query. */
export interface StreamSource {
  columns: ColumnPlan[];
  /** A scan worker's batches (scan-stream.ts) or held ones (held-columns.ts); null at the end. */
  scan: { next(): ScannedBatch | null };
  /** Rows the query may see (the table's rows: an upper bound), for DuckDB's join planning. */
  cardinality: number;
  onRows(rowsScanned: number): void;
  /** Set once DuckDB started reading it; `reread` when it tried again. */
  started: boolean;
  reread: boolean;
  /** What failed while streaming, to be reported in place of DuckDB's wording. */
  failure: unknown;
}

interface ScanState {
  source: StreamSource;
  batch: ScannedBatch | null;
  offset: number;
}

/** The streams of running queries, by the id their views pass to the function. */
export class StreamSources {
  private readonly sources = new Map<number, StreamSource>();
  /** Streams opened so far (tests and the bench read it). */
  opened = 0;

  /** Registers the function in the database (once per database: DuckDB keeps it in its catalog). */
  registerFunction(conn: DuckDBConnection): void {
    conn.registerTableFunction(
      DuckDBTableFunction.create({
        name: STREAM_FUNCTION,
        parameterTypes: [BIGINT],
        bindFunction: (info) => {
          const id = Number(info.getParameter(0));
          const source = this.sources.get(id);
          if (!source) return info.setError(`slafwb: no stream ${id}`);
          for (const c of source.columns) info.addResultColumn(c.name, TYPES[c.sqlType]);
          info.setCardinality(source.cardinality, false);
          info.setBindData({ id });
        },
        initFunction: (info) => {
          const source = this.sources.get((info.bindData as { id: number }).id);
          if (!source) return info.setError("slafwb: the stream has ended");
          if (source.started) {
            source.reread = true;
            return info.setError(STREAM_REREAD_MESSAGE);
          }
          source.started = true;
          info.setInitData({ source, batch: null, offset: 0 } satisfies ScanState);
          // Both cores: while this thread fills one chunk, DuckDB works on the last (calls still come one at a time).
          info.setMaxThreads(2);
        },
        localInitFunction: (info) => info.setInitData({}),
        mainFunction: (info, output) => {
          const state = info.initData as ScanState;
          try {
            fillChunk(state, output.chunk);
          } catch (e) {
            state.source.failure = e;
            duckdb.data_chunk_set_size(output.chunk, 0);
            info.setError(e instanceof Error ? e.message : String(e));
          }
        },
      }),
    );
  }

  /** Makes a stream readable by `slafwb_stream(id)` until the returned function removes it. */
  add(source: Omit<StreamSource, "started" | "reread" | "failure">): { id: number; source: StreamSource; remove(): void } {
    // Unguessable: the function is in the catalog every query sees, so a user's SQL that names it must not be able to
    // reach (and drain) the stream of another query running at the same time.
    let id = randomInt(1, 2 ** 47);
    while (this.sources.has(id)) id = randomInt(1, 2 ** 47);
    this.opened++;
    const full: StreamSource = { ...source, started: false, reread: false, failure: null };
    this.sources.set(id, full);
    return { id, source: full, remove: () => void this.sources.delete(id) };
  }
}

/** Fills DuckDB's chunk with the next (up to) 2048 rows; an empty chunk ends the scan. */
function fillChunk(state: ScanState, chunk: duckdb.DataChunk): void {
  while (!state.batch || state.offset >= state.batch.rows) {
    const batch = state.source.scan.next();
    if (!batch) return duckdb.data_chunk_set_size(chunk, 0);
    state.source.onRows(batch.scanned);
    state.batch = batch;
    state.offset = 0;
  }
  const { batch, offset } = state;
  if (batch.columns.length !== state.source.columns.length) fail("INTERNAL", "A streamed batch has the wrong columns");
  const n = Math.min(VECTOR_SIZE, batch.rows - offset);
  for (let i = 0; i < batch.columns.length; i++) copyFlatSlice(duckdb.data_chunk_get_vector(chunk, i), batch.columns[i], offset, n);
  duckdb.data_chunk_set_size(chunk, n);
  state.offset += n;
}
