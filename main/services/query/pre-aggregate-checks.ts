/**
 * What execute.ts checks before reading expression as partial aggregates: the plan DuckDB makes for the query as
 * written, and that the rewritten query gives the same column names and types; and the partial table's columns.
 */
import type { DuckDBConnection } from "@duckdb/node-api";
import { arrow } from "../arrow";
import type { DataType } from "../arrow-types";
import { fail } from "../errors";
import { qualifiedName } from "../sql-text";
import type { CatalogColumn } from "./catalog";
import { createTable } from "./lance-to-duckdb";
import { partialName, type PreAggregation } from "./pre-aggregate";

/**
 * The query rewritten over partials when DuckDB's plan for `sql` and the result's columns allow it, else null.
 * Uses `schema.expression` as scratch: it is left as an empty partial table.
 */
export async function checkedRewrite(
  conn: DuckDBConnection,
  schema: string,
  sql: string,
  columns: CatalogColumn[],
  partials: { name: string; type: DataType }[],
  pre: PreAggregation,
): Promise<string | null> {
  await createTable(conn, schema, "expression", columns);
  // Two rows spanning each column's range: DuckDB plans over an empty table as an empty result, and over narrow
  // statistics it may prove a filter empty; neither says what the query's shape is.
  const rows = [-1, 1].map((side) => `(${columns.map((c) => extreme(c, side)).join(", ")})`);
  await conn.run(`INSERT INTO ${qualifiedName(schema, "expression")} VALUES ${rows.join(", ")}`);
  const plan = JSON.parse(String((await runOne(conn, "EXPLAIN (FORMAT JSON)", sql)).getRows()[0][1])) as PlanNode[];
  if (!aggregateOverJoins(plan)) return null;
  const described = async (q: string) => (await runOne(conn, "DESCRIBE", q)).getRows().map((r) => [String(r[0]), String(r[1])]);
  const original = await described(sql);
  await createTable(conn, schema, "expression", partials);
  const rewritten = await pre.rewrite(
    conn,
    original.map(([name]) => name),
  );
  return JSON.stringify(await described(rewritten)) === JSON.stringify(original) ? rewritten : null;
}

/** The smallest (-1) or largest (1) value of a fixed-width column, as SQL. */
function extreme(c: CatalogColumn, side: number): string {
  const k = c.kind;
  if (k.kind === "int") return String(side < 0 ? k.min : k.max);
  if (k.kind === "float") return `${side < 0 ? "-" : ""}${k.bits === 32 ? "3.0e38" : "1.0e308"}`;
  if (k.kind === "bool") return side < 0 ? "false" : "true";
  return "NULL";
}

/** Runs `prefix` + one query (cut by DuckDB's splitter, as createTableAs does) and reads its rows. */
async function runOne(conn: DuckDBConnection, prefix: string, sql: string) {
  const statements = await conn.extractStatements(`${prefix}\n${sql}\n`);
  if (statements.count !== 1) fail("QUERY_INVALID", `Run one query at a time: this text holds ${statements.count} statements`);
  return (await statements.prepare(0)).runAndReadAll();
}

/** A node of DuckDB's `EXPLAIN (FORMAT JSON)` output. */
export interface PlanNode {
  name: string;
  children: PlanNode[];
  extra_info?: Record<string, unknown>;
}

const ABOVE = new Set(["PROJECTION", "ORDER_BY", "TOP_N", "LIMIT", "STREAMING_LIMIT", "LIMIT_PERCENT", "FILTER"]);
const AGGREGATE = new Set(["HASH_GROUP_BY", "PERFECT_HASH_GROUP_BY", "UNGROUPED_AGGREGATE"]);
const BELOW = new Set(["PROJECTION", "FILTER", "HASH_JOIN", "SEQ_SCAN", "TABLE_SCAN"]);

/**
 * One aggregate (with only projections, filters, ordering, limits and further aggregates above it) over inner
 * hash joins of plain scans, expression scanned exactly once.
 */
export function aggregateOverJoins(plan: PlanNode[]): boolean {
  if (plan.length !== 1) return false;
  let node = plan[0];
  // Walk down to the lowest aggregate: everything on the way has one child.
  let lowest: PlanNode | null = null;
  for (;;) {
    if (AGGREGATE.has(node.name)) lowest = node;
    else if (!ABOVE.has(node.name)) break;
    if (node.children.length !== 1) break;
    node = node.children[0];
  }
  if (!lowest || lowest.children.length !== 1) return false;
  let expressionScans = 0;
  const plain = (n: PlanNode): boolean => {
    if (!BELOW.has(n.name)) return false;
    if (n.name === "HASH_JOIN" && n.extra_info?.["Join Type"] !== "INNER") return false;
    if ((n.name === "SEQ_SCAN" || n.name === "TABLE_SCAN") && /(^|\.)expression$/.test(String(n.extra_info?.Table ?? ""))) expressionScans++;
    return n.children.every(plain);
  };
  return plain(lowest.children[0]) && expressionScans === 1;
}

/** The partial table's columns, in the order PartialAggregator.result() delivers them. */
export function partialColumns(scanned: CatalogColumn[], pre: PreAggregation): { name: string; type: DataType }[] {
  const double = new arrow.Float64() as DataType;
  const out: { name: string; type: DataType }[] = [];
  if (pre.key) out.push({ name: pre.key.name, type: pre.key.type });
  out.push({ name: partialName.count, type: double });
  for (const c of pre.columns) {
    const type = scanned.find((x) => x.name === c.name)!.type;
    out.push(
      { name: partialName.sum(c.name), type: double },
      { name: partialName.nonNull(c.name), type: double },
      { name: partialName.min(c.name), type },
      { name: partialName.max(c.name), type },
    );
  }
  return out;
}
