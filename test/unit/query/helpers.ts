/** Test harness for the SQL engine: a PBMC SLAF fixture, the real services, and an independent DuckDB oracle. */
import fs from "node:fs/promises";
import path from "node:path";
import { arrayValue, DuckDBInstance, type DuckDBConnection, type DuckDBValue } from "@duckdb/node-api";
import * as lancedb from "@lancedb/lancedb";
import { expect } from "vitest";
import type { JobEvent, QuerySummary, ScanReport } from "../../../shared/ipc/contract";
import { type arrow } from "../../../main/services/arrow";
import { decodeRows } from "../../../main/commands/query";
import { DatasetService } from "../../../main/services/datasets/service";
import { JobService } from "../../../main/services/jobs/service";
import { QueryService, type QueryServiceOptions } from "../../../main/services/query/service";
import { tempDir, writePbmcSlaf } from "../../fixtures/slaf-fixture";
import { unwrap } from "../../fixtures/result";

export interface Env {
  dir: string;
  root: string;
  datasets: DatasetService;
  jobs: JobService;
  query: QueryService;
  datasetId: string;
  events: JobEvent[];
  onEvent: ((e: JobEvent) => void) | null;
  close(): Promise<void>;
}

export async function writeFixture(opts: { nCells?: number } = {}): Promise<{ dir: string; root: string }> {
  const dir = await tempDir("slafwb-query-");
  const root = path.join(dir, "pbmc.slaf");
  await writePbmcSlaf(root, opts);
  return { dir, root };
}

export async function openEnv(fixture: { dir: string; root: string }, options: Partial<QueryServiceOptions> = {}): Promise<Env> {
  const events: JobEvent[] = [];
  const env = { onEvent: null } as Env;
  const datasets = new DatasetService();
  const jobs = new JobService((e) => {
    events.push(e);
    env.onEvent?.(e);
  });
  const workDir = await fs.mkdtemp(path.join(fixture.dir, "duck-"));
  const query = new QueryService(datasets, jobs, { tempDir: workDir, ...options });
  const ds = await datasets.acquire(fixture.root);
  Object.assign(env, {
    ...fixture,
    datasets,
    jobs,
    query,
    datasetId: ds.summary.datasetId,
    events,
    async close() {
      await query.dispose();
      await datasets.closeAll();
      await fs.rm(workDir, { recursive: true, force: true });
    },
  });
  return env;
}

/** Runs a query to completion; returns the job's final event. */
/** A PBMC fixture, an engine over it and a DuckDB oracle of its full tables, for one test file (vitest hooks). */
export function useQueryEnvironment(
  hooks: { beforeAll: (fn: () => Promise<void>) => void; afterAll: (fn: () => Promise<void>) => void },
  options: Partial<QueryServiceOptions> = {},
) {
  const state = {} as { fixture: { dir: string; root: string }; env: Env; oracle: Oracle };
  hooks.beforeAll(async () => {
    state.fixture = await writeFixture();
    state.env = await openEnv(state.fixture, options);
    state.oracle = await Oracle.load(state.fixture.root);
  });
  hooks.afterAll(async () => {
    state.oracle?.close();
    await state.env?.close();
    if (state.fixture) await fs.rm(state.fixture.dir, { recursive: true, force: true });
  });
  return state;
}

export async function runJob(env: Env, sql: string, extra: { name?: string; confirmed?: boolean } = {}): Promise<JobEvent> {
  const { jobId } = unwrap(await env.query.start({ datasetId: env.datasetId, sql, confirmed: true, ...extra }));
  return unwrap(await env.jobs.wait({ jobId }));
}

export async function run(env: Env, sql: string, extra: { name?: string } = {}): Promise<{ summary: QuerySummary; rows: unknown[][] }> {
  const event = await runJob(env, sql, extra);
  if (event.state !== "done") throw new Error(`${event.state}: ${event.error?.code}: ${event.error?.message}`);
  const summary = event.result as QuerySummary;
  return { summary, rows: await allRows(env, summary) };
}

/** The scan report of one table of a query. */
export function scanOf(summary: QuerySummary, table: string): ScanReport {
  const s = summary.scans.find((x) => x.table === table);
  if (!s) throw new Error(`no scan of ${table}: ${JSON.stringify(summary.scans)}`);
  return s;
}

/** Runs a query, checks its rows equal the oracle's, and returns its summary. */
export async function sameAsOracle(env: Env, oracle: Oracle, sql: string): Promise<QuerySummary> {
  const { summary, rows } = await run(env, sql);
  expect(canonical(rows), sql).toEqual(canonical(await oracle.rows(sql)));
  return summary;
}

export async function allRows(env: Env, summary: QuerySummary): Promise<unknown[][]> {
  const rows: unknown[][] = [];
  // A page may hold fewer rows than asked (wide rows): continue from what came.
  for (let offset = 0; offset < summary.rowCount;) {
    const page = unwrap(await env.query.page({ resultId: summary.resultId, offset, limit: 5000 }));
    if (page.numRows === 0) throw new Error(`empty page at ${offset} of ${summary.rowCount}`);
    rows.push(...decodeRows(page.arrow));
    offset += page.numRows;
  }
  return rows;
}

/** The oracle: every table loaded whole, row by row, into a separate DuckDB; the same SQL run there. */
export class Oracle {
  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly conn: DuckDBConnection,
  ) {}

  static async load(root: string): Promise<Oracle> {
    const instance = await DuckDBInstance.create(":memory:");
    const conn = await instance.connect();
    const db = await lancedb.connect(root);
    for (const name of await db.tableNames()) {
      const table = await db.openTable(name);
      const data = await table.toArrow();
      const fields = data.schema.fields;
      await conn.run(`CREATE TABLE "${name}" (${fields.map((f) => `"${f.name}" ${oracleType(f.type)}`).join(", ")})`);
      const appender = await conn.createAppender(name);
      const cols = fields.map((f) => data.getChild(f.name)!);
      for (let r = 0; r < data.numRows; r++) {
        cols.forEach((c, i) => {
          const v = c.get(r);
          if (v === null) appender.appendNull();
          else appender.appendValue(oracleValue(v, fields[i].type), appender.columnType(i));
        });
        appender.endRow();
      }
      appender.closeSync();
      table.close();
    }
    db.close();
    return new Oracle(instance, conn);
  }

  async rows(sql: string): Promise<unknown[][]> {
    const reader = await this.conn.runAndReadAll(sql);
    return reader.getRowsJS().map((r) => r.map(plainJs));
  }

  /** Rows as objects keyed by column name. */
  async rowObjects(sql: string): Promise<Record<string, unknown>[]> {
    return (await this.conn.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[];
  }

  close(): void {
    this.conn.closeSync();
    this.instance.closeSync();
  }
}

function oracleType(t: InstanceType<typeof arrow.DataType>): string {
  const s = String(t);
  const map: Record<string, string> = {
    Int8: "TINYINT",
    Int16: "SMALLINT",
    Int32: "INTEGER",
    Int64: "BIGINT",
    Uint8: "UTINYINT",
    Uint16: "USMALLINT",
    Uint32: "UINTEGER",
    Uint64: "UBIGINT",
    Float32: "FLOAT",
    Float64: "DOUBLE",
    Utf8: "VARCHAR",
    Bool: "BOOLEAN",
  };
  if (map[s]) return map[s];
  const fsl = /^FixedSizeList\[(\d+)\]<Float32>$/.exec(s);
  if (fsl) return `FLOAT[${fsl[1]}]`;
  throw new Error(`oracle: no DuckDB type for ${s}`);
}

function oracleValue(v: unknown, t: InstanceType<typeof arrow.DataType>): DuckDBValue {
  if (String(t).startsWith("FixedSizeList")) return arrayValue(Array.from((v as { toArray(): Float32Array }).toArray()));
  return v as DuckDBValue;
}

function plainJs(v: unknown): unknown {
  if (typeof v === "bigint") return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (Array.isArray(v)) return v.map(plainJs);
  return v;
}

/** Rows as comparable strings: numbers to 9 significant digits (sums may differ in the last bits), sorted. */
export function canonical(rows: unknown[][], sort = true): string[] {
  const norm = (v: unknown): unknown => {
    if (typeof v === "bigint") return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
    if (typeof v === "number") return Number.isInteger(v) ? v : Number(v.toPrecision(9));
    if (Array.isArray(v)) return v.map(norm);
    if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, norm(x)]));
    return v;
  };
  const out = rows.map((r) => JSON.stringify(r.map(norm)));
  return sort ? out.sort() : out;
}
