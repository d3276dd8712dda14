/**
 * The dataset's cell sets as SQL sees them: `cell_sets(set_name VARCHAR, cell_integer_id BIGINT)`, a view in the
 * query engine's results schema over a members table (set_id, cell_integer_id: memcpy-appended Int32 columns) and
 * a names table (set_id, set_name). A set appears when its name row is inserted, after its members, and
 * disappears when that row is deleted, so a query never sees half a set. Changes run one after another.
 */
import duckdb from "@duckdb/node-bindings";
import { DuckDBDataChunk, type DuckDBConnection } from "@duckdb/node-api";
import type { ColumnInfo } from "../../../shared/ipc/contract";
import { RESULTS_SCHEMA, type SqlEngine } from "../query/engine";
import type { ExtraRelation } from "../query/service";
import { qualifiedName, stringLiteral } from "../sql-text";

export const CELL_SETS_TABLE = "cell_sets";

const COLUMNS: ColumnInfo[] = [
  { name: "set_name", type: "Utf8", kind: "string", nullable: false },
  { name: "cell_integer_id", type: "Int64", kind: "int", nullable: false },
];

export class CellSetsTable {
  private queue: Promise<unknown> = Promise.resolve();
  private created = false;
  private rows = 0;
  readonly members: string;
  readonly names: string;
  readonly view: string;

  constructor(
    private readonly engine: SqlEngine,
    datasetId: string,
  ) {
    this.members = `explore_set_members_${datasetId}`;
    this.names = `explore_set_names_${datasetId}`;
    this.view = `cell_sets_${datasetId}`;
  }

  /** The relation the query engine reads as `cell_sets`, once every change so far is in. */
  async relation(): Promise<ExtraRelation> {
    await this.run(async () => undefined);
    return { name: CELL_SETS_TABLE, table: this.view, columns: COLUMNS, rowCount: this.rows };
  }

  add(setId: number, name: string, ids: Int32Array): Promise<void> {
    return this.run(async (conn) => {
      await appendMembers(conn, this.members, setId, ids);
      await conn.run(`INSERT INTO ${this.q(this.names)} VALUES (${setId}, ${stringLiteral(name)})`);
      this.rows += ids.length;
    });
  }

  /** `oldId`'s name row goes and `newId`'s comes in one transaction (a replaced set never disappears). */
  replace(oldId: number, oldSize: number, setId: number, name: string, ids: Int32Array): Promise<void> {
    return this.run(async (conn) => {
      await appendMembers(conn, this.members, setId, ids);
      await conn.run(
        `BEGIN TRANSACTION; DELETE FROM ${this.q(this.names)} WHERE set_id = ${oldId}; INSERT INTO ${this.q(this.names)} VALUES (${setId}, ${stringLiteral(name)}); COMMIT`,
      );
      await conn.run(`DELETE FROM ${this.q(this.members)} WHERE set_id = ${oldId}`);
      this.rows += ids.length - oldSize;
    });
  }

  rename(setId: number, name: string): Promise<void> {
    return this.run(async (conn) => {
      await conn.run(`UPDATE ${this.q(this.names)} SET set_name = ${stringLiteral(name)} WHERE set_id = ${setId}`);
    });
  }

  remove(setId: number, size: number): Promise<void> {
    return this.run(async (conn) => {
      await conn.run(`DELETE FROM ${this.q(this.names)} WHERE set_id = ${setId}`);
      await conn.run(`DELETE FROM ${this.q(this.members)} WHERE set_id = ${setId}`);
      this.rows -= size;
    });
  }

  /** Drops the tables (the dataset closed). */
  drop(): Promise<void> {
    return this.run(async (conn) => {
      if (!this.created) return;
      await conn.run(`DROP VIEW IF EXISTS ${this.q(this.view)}`);
      await conn.run(`DROP TABLE IF EXISTS ${this.q(this.names)}`);
      await conn.run(`DROP TABLE IF EXISTS ${this.q(this.members)}`);
      this.created = false;
      this.rows = 0;
    });
  }

  private q(table: string): string {
    return qualifiedName(RESULTS_SCHEMA, table);
  }

  private run<T>(body: (conn: DuckDBConnection) => Promise<T>): Promise<T> {
    const next = this.queue.then(async () => {
      const conn = await this.engine.connect();
      try {
        if (!this.created) {
          await conn.run(`CREATE TABLE IF NOT EXISTS ${this.q(this.members)} (set_id INTEGER, cell_integer_id INTEGER)`);
          await conn.run(`CREATE TABLE IF NOT EXISTS ${this.q(this.names)} (set_id INTEGER, set_name VARCHAR)`);
          await conn.run(
            `CREATE OR REPLACE VIEW ${this.q(this.view)} AS SELECT n.set_name AS set_name, m.cell_integer_id::BIGINT AS cell_integer_id FROM ${this.q(this.members)} m JOIN ${this.q(this.names)} n ON m.set_id = n.set_id`,
          );
          this.created = true;
        }
        return await body(conn);
      } finally {
        conn.closeSync();
      }
    });
    this.queue = next.catch(() => undefined);
    return next;
  }
}

/** Appends (setId, id) rows with one memcpy per 2048-row vector. */
async function appendMembers(conn: DuckDBConnection, table: string, setId: number, ids: Int32Array): Promise<void> {
  const appender = await conn.createAppender(table, RESULTS_SCHEMA);
  try {
    const size = duckdb.vector_size();
    const chunk = DuckDBDataChunk.create([appender.columnType(0), appender.columnType(1)]);
    const setIds = new Int32Array(size).fill(setId);
    const vectors = [0, 1].map((i) => duckdb.data_chunk_get_vector(chunk.chunk, i));
    for (let off = 0; off < ids.length; off += size) {
      const n = Math.min(size, ids.length - off);
      duckdb.data_chunk_reset(chunk.chunk);
      duckdb.copy_data_to_vector(vectors[0], 0, setIds.buffer, 0, n * 4);
      duckdb.copy_data_to_vector(vectors[1], 0, ids.buffer as ArrayBuffer, ids.byteOffset + off * 4, n * 4);
      duckdb.data_chunk_set_size(chunk.chunk, n);
      appender.appendDataChunk(chunk);
    }
    appender.flushSync();
  } finally {
    appender.closeSync();
  }
}
