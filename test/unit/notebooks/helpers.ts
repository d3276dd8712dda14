/** Test helpers: collect pushed events, and run SQL cells in DuckDB over a dataset's real rows. */
import { DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api";
import type { EventName, Events } from "../../../shared/ipc/contract";
import type { OpenDataset } from "../../../main/services/datasets/open-dataset";
import type { EmitEvent } from "../../../main/services/events";

export interface Recorded {
  name: EventName;
  payload: Events[EventName];
}

export function recorder(): { emit: EmitEvent; events: Recorded[]; waitFor(pred: (e: Recorded) => boolean, ms?: number): Promise<Recorded> } {
  const events: Recorded[] = [];
  const waiters: { pred: (e: Recorded) => boolean; resolve: (e: Recorded) => void }[] = [];
  const emit: EmitEvent = (name, payload) => {
    const e = { name, payload } as Recorded;
    events.push(e);
    for (const w of waiters.splice(0)) {
      if (w.pred(e)) w.resolve(e);
      else waiters.push(w);
    }
  };
  return {
    emit,
    events,
    waitFor(pred, ms = 5000) {
      const found = events.find(pred);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no matching event within ${ms} ms; got ${JSON.stringify(events)}`)), ms);
        waiters.push({
          pred,
          resolve: (e) => {
            clearTimeout(timer);
            resolve(e);
          },
        });
      });
    },
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

const DUCK_TYPES: Record<string, string> = {
  Utf8: "VARCHAR",
  LargeUtf8: "VARCHAR",
  Bool: "BOOLEAN",
  Float32: "FLOAT",
  Float64: "DOUBLE",
  Int8: "TINYINT",
  Int16: "SMALLINT",
  Int32: "INTEGER",
  Int64: "BIGINT",
  Uint8: "UTINYINT",
  Uint16: "USMALLINT",
  Uint32: "UINTEGER",
  Uint64: "UBIGINT",
};

function duckType(arrowType: string): string {
  const pair = /^FixedSizeList\[(\d+)\]<(Float32|Float64)>$/.exec(arrowType);
  if (pair) return `${DUCK_TYPES[pair[2]]}[${pair[1]}]`;
  const t = DUCK_TYPES[arrowType];
  if (!t) throw new Error(`no DuckDB type for ${arrowType}`);
  return t;
}

/**
 * An in-memory DuckDB holding copies of the dataset's tables, with the same column names and types (a stand-in
 * for the query engine, which is built elsewhere): enough to prove the starter's SQL binds and runs.
 */
export async function duckdbCopy(ds: OpenDataset): Promise<{ conn: DuckDBConnection; close(): void }> {
  const instance = await DuckDBInstance.create(":memory:");
  const conn = await instance.connect();
  for (const info of ds.summary.tables) {
    const lance = ds.tables.get(info.name)!;
    const data = await lance.query().toArrow();
    const cols = info.columns.map((c) => ({ name: c.name, type: duckType(c.type) }));
    await conn.run(`CREATE TABLE "${info.name}" (${cols.map((c) => `"${c.name}" ${c.type}`).join(", ")})`);
    const appender = await conn.createAppender(info.name);
    const vectors = cols.map((c) => data.getChild(c.name)!);
    for (let row = 0; row < data.numRows; row++) {
      cols.forEach((c, k) => {
        const v = vectors[k].get(row) as unknown;
        if (v === null || v === undefined) appender.appendNull();
        else if (c.type.endsWith("]")) appender.appendValue(`[${Array.from((v as { toArray(): ArrayLike<number> }).toArray()).join(", ")}]`);
        else if (c.type === "VARCHAR") appender.appendVarchar(String(v));
        else if (c.type === "BOOLEAN") appender.appendBoolean(Boolean(v));
        else if (c.type === "FLOAT" || c.type === "DOUBLE") appender.appendDouble(Number(v));
        else if (c.type === "BIGINT") appender.appendBigInt(BigInt(v as number));
        else if (c.type === "UBIGINT") appender.appendUBigInt(BigInt(v as number));
        else appender.appendBigInt(BigInt(v as number));
      });
      appender.endRow();
    }
    appender.closeSync();
  }
  return {
    conn,
    close() {
      conn.closeSync();
      instance.closeSync();
    },
  };
}
