/**
 * Parsing SQL with DuckDB's own parser (`json_serialize_sql`), and turning DuckDB's character offsets into
 * 1-based line/column positions for the editor.
 */
import type { DuckDBConnection } from "@duckdb/node-api";
import type { AppError } from "../../../shared/result";
import { fail } from "../errors";

/** A node of DuckDB's serialized parse tree. The shape is DuckDB's; we read it loosely. */
export type SqlNode = { [key: string]: unknown };

export interface ParsedQuery {
  sql: string;
  /** The statement's root query node (SELECT_NODE, SET_OPERATION_NODE...). */
  root: SqlNode;
}

/** query_location values at or above this mean "no location" (DuckDB uses uint64 max). */
const NO_LOCATION = 2 ** 52;

/**
 * Converts a 0-based character offset (DuckDB counts code points) into a 1-based position.
 * `offset` in the result is 1-based too, like line and column.
 */
export function positionAt(sql: string, charOffset: number): NonNullable<AppError["position"]> {
  let line = 1;
  let column = 1;
  let k = 0;
  for (const ch of sql) {
    if (k >= charOffset) break;
    if (ch === "\n") {
      line++;
      column = 1;
    } else column++;
    k++;
  }
  return { line, column, offset: Math.min(k, charOffset) + 1 };
}

/** The node's location as a 0-based character offset, or null. */
export function locationOf(node: unknown): number | null {
  const loc = (node as SqlNode | null)?.query_location;
  return typeof loc === "number" && loc >= 0 && loc < NO_LOCATION ? loc : null;
}

export function positionOfNode(sql: string, node: unknown): AppError["position"] | undefined {
  const loc = locationOf(node);
  return loc === null ? undefined : positionAt(sql, loc);
}

export async function parseSql(conn: DuckDBConnection, sql: string): Promise<ParsedQuery> {
  if (!sql.trim()) fail("QUERY_INVALID", "The query is empty");
  const reader = await conn.runAndReadAll("SELECT json_serialize_sql($1::VARCHAR)", [sql]);
  const text = String(reader.getRows()[0][0]);
  const json = JSON.parse(text) as {
    error: boolean;
    error_type?: string;
    error_message?: string;
    position?: string;
    statements?: { node: SqlNode }[];
  };
  if (json.error) {
    const message = json.error_message ?? "The query could not be parsed";
    if (/Only SELECT statements/i.test(message)) {
      fail("QUERY_INVALID", "Only queries (SELECT, WITH ..., VALUES) can run here; statements that change data or settings cannot", {
        detail: message,
      });
    }
    const pos = json.position !== undefined ? Number(json.position) : NaN;
    fail("QUERY_INVALID", `Syntax error: ${message}`, Number.isFinite(pos) ? { position: positionAt(sql, pos), detail: message } : { detail: message });
  }
  const statements = json.statements ?? [];
  if (statements.length === 0) fail("QUERY_INVALID", "The query is empty");
  if (statements.length > 1) fail("QUERY_INVALID", `Run one query at a time: this text holds ${statements.length} statements`);
  return { sql, root: statements[0].node };
}
