/**
 * Early aggregation: a GROUP BY query over `expression` joined to `cells`/`genes` whose expression columns
 * appear only as the join key and inside COUNT/SUM/AVG/MIN/MAX can read partial aggregates per key (one row per
 * cell or per gene, partial-aggregator.ts) instead of every row. The query is rewritten on DuckDB's own parse
 * tree to combine the partials (SUM of sums, SUM of counts, MIN of minima...) and turned back into SQL by DuckDB
 * (`json_deserialize_sql`). Why this is exact: every row of one key joins the same dimension rows and passes the
 * same WHERE (both see only dimension columns and the key), so a partial row stands for its rows everywhere.
 *
 * Anything else is not rewritten: other aggregates (they could see a partial row's multiplicity), expression
 * columns elsewhere, outer joins, subqueries, CTEs, window functions, grouping sets. execute.ts also checks
 * DuckDB's plan (EXPLAIN) and the rewritten result's names and types before using it.
 */
import type { DuckDBConnection } from "@duckdb/node-api";
import { quoteIdent } from "../sql-text";
import type { Analysis } from "./analyze";
import type { CatalogColumn, CatalogTable } from "./catalog";
import type { SqlNode } from "./parse";

export interface PreAggregation {
  /** The expression column the partials are keyed by, or null for one partial row over all rows. */
  key: CatalogColumn | null;
  /** Expression columns aggregated (their partials: sum, count, min, max). */
  columns: CatalogColumn[];
  /** For the scan report: `per cell_integer_id: count, sum/count/min/max of value`. */
  description: string;
  /** The query over the partial table (same name as expression). `names` are the original result's column names. */
  rewrite(conn: DuckDBConnection, names: string[]): Promise<string>;
}

/** Partial table column names for an aggregated column. */
export const partialName = {
  count: "__n",
  sum: (c: string) => `__sum_${c}`,
  nonNull: (c: string) => `__cnt_${c}`,
  min: (c: string) => `__min_${c}`,
  max: (c: string) => `__max_${c}`,
};

const ID_COLUMNS = new Set(["cell_integer_id", "gene_integer_id"]);
const DIMENSIONS = new Set(["cells", "genes"]);
const COMBINABLE = new Set(["sum", "count", "count_star", "min", "max", "avg", "mean"]);

interface Replacement {
  parent: SqlNode | SqlNode[];
  key: string | number;
  fn: string;
  column: CatalogColumn | null;
}

/** The early aggregation a query allows, or null. `aggregates`: DuckDB's aggregate function names. */
export async function planPreAggregation(conn: DuckDBConnection, sql: string, analysis: Analysis, aggregates: Set<string>): Promise<PreAggregation | null> {
  const expression = analysis.tables.get("expression");
  if (!expression || expression.refs.length !== 1 || analysis.relations.size > 0) return null;
  const doc = await serialize(conn, sql);
  const root = doc?.statements?.[0]?.node;
  if (!root || root.type !== "SELECT_NODE" || !simpleSelect(root)) return null;
  const from = fromTables(root.from_table as SqlNode, analysis);
  if (!from) return null;
  const tables = from.tables;
  const exprAliases = [...tables.entries()].filter(([, t]) => t.name === "expression").map(([a]) => a);
  if (exprAliases.length !== 1) return null;
  const alias = exprAliases[0];
  const exprTable = tables.get(alias)!;

  const resolve = (names: string[]): { table: CatalogTable; column: CatalogColumn } | null => {
    const lower = names.map((n) => n.toLowerCase());
    if (lower.length === 2) {
      const t = tables.get(lower[0]);
      const column = t?.byLower.get(lower[1]);
      return t && column ? { table: t, column } : null;
    }
    if (lower.length !== 1) return null;
    const hits = [...tables.values()].filter((t) => t.byLower.has(lower[0]));
    if (hits.length === 1) return { table: hits[0], column: hits[0].byLower.get(lower[0])! };
    // A USING column unqualified is the join's merged column: equal on both sides, so the expression's where it has one.
    const sides = from.using.find((u) => u.name === lower[0])?.sides;
    return sides ? (sides.find((side) => side.table === exprTable) ?? sides[0]) : null;
  };

  // Names of select items: HAVING and ORDER BY may refer to them (the items themselves are checked).
  const aliases = new Set(((root.select_list as SqlNode[]) ?? []).map((i) => String(i.alias ?? "").toLowerCase()).filter(Boolean));
  const outside = new Set<string>();
  const replacements: Replacement[] = [];
  let ok = true;
  const visit = (node: unknown, parent: SqlNode | SqlNode[] | null, key: string | number | null): void => {
    if (!ok || !node || typeof node !== "object") return;
    if (Array.isArray(node)) {
      node.forEach((v, i) => visit(v, node, i));
      return;
    }
    const n = node as SqlNode;
    switch (n.class) {
      case "COLUMN_REF": {
        const names = n.column_names as string[];
        const r = resolve(names);
        if (!r && !(names.length === 1 && aliases.has(names[0].toLowerCase()))) ok = false;
        else if (r && r.table === exprTable) outside.add(r.column.name);
        return;
      }
      case "FUNCTION": {
        const name = String(n.function_name).toLowerCase();
        if (!aggregates.has(name)) break;
        const children = (n.children as SqlNode[]) ?? [];
        const plain = !n.distinct && !n.filter && !((n.order_bys as { orders?: unknown[] })?.orders ?? []).length && !n.export_state;
        if (!COMBINABLE.has(name) || !plain || !parent || key === null) return void (ok = false);
        if (name === "count_star" && children.length === 0) return void replacements.push({ parent, key, fn: name, column: null });
        const arg = children.length === 1 && children[0].class === "COLUMN_REF" ? resolve(children[0].column_names as string[]) : null;
        if (!arg || arg.table !== exprTable || !combinable(arg.column)) return void (ok = false);
        replacements.push({ parent, key, fn: name === "mean" ? "avg" : name, column: arg.column });
        return;
      }
      case "WINDOW":
      case "SUBQUERY":
      case "STAR":
      case "COLUMNS":
      case "LAMBDA":
        ok = false;
        return;
    }
    for (const [k, v] of Object.entries(n)) if (v && typeof v === "object") visit(v, n, k);
  };
  for (const [k, v] of Object.entries(root)) if (k !== "from_table" && k !== "cte_map" && v && typeof v === "object") visit(v, root, k);
  for (const condition of joinConditions(root.from_table as SqlNode)) visit(condition, null, null);
  // A USING join's condition is its columns' equality: the expression side's column is referenced like ON's.
  for (const side of from.using.flatMap((u) => u.sides)) if (side.table === exprTable) outside.add(side.column.name);
  if (!ok || replacements.length === 0) return null;
  const aggregated = [...new Set(replacements.flatMap((r) => (r.column ? [r.column] : [])))];
  if (outside.size > 1) return null;
  const keyName = outside.size === 1 ? [...outside][0] : null;
  const key = keyName ? exprTable.byLower.get(keyName.toLowerCase())! : null;
  if (key && (!ID_COLUMNS.has(key.name) || key.kind.kind !== "int" || key.kind.bits > 32)) return null;
  if (key && aggregated.some((c) => c.name === key.name)) return null;

  return {
    key,
    columns: aggregated,
    description: `${key ? `per ${key.name}` : "over all rows"}: count${aggregated.map((c) => `, sum/count/min/max of ${c.name}`).join("")}`,
    rewrite: async (c, names) => {
      const copy = structuredClone(doc) as typeof doc;
      const copyRoot = copy.statements[0].node;
      // Re-find the replacements in the copy by walking it the same way (same order).
      const again: Replacement[] = [];
      const refind = (node: unknown, parent: SqlNode | SqlNode[] | null, k: string | number | null): void => {
        if (!node || typeof node !== "object") return;
        if (Array.isArray(node)) return node.forEach((v, i) => refind(v, node, i));
        const n = node as SqlNode;
        if (n.class === "FUNCTION" && aggregates.has(String(n.function_name).toLowerCase()) && parent && k !== null) {
          again.push({ parent, key: k, fn: "", column: null });
          return;
        }
        if (n.class === "COLUMN_REF") return;
        for (const [kk, v] of Object.entries(n)) if (v && typeof v === "object") refind(v, n, kk);
      };
      for (const [k, v] of Object.entries(copyRoot)) if (k !== "from_table" && k !== "cte_map" && v && typeof v === "object") refind(v, copyRoot, k);
      if (again.length !== replacements.length) throw new Error("pre-aggregation: the rewrite lost track of an aggregate");
      for (const [i, r] of replacements.entries()) {
        const target = again[i];
        const original = (target.parent as Record<string | number, SqlNode>)[target.key];
        const node = await snippet(c, combine(r, alias));
        node.alias = original.alias;
        (target.parent as Record<string | number, SqlNode>)[target.key] = node;
      }
      // Select items without an alias keep the names DuckDB gave the original expressions.
      const list = copyRoot.select_list as SqlNode[];
      list.forEach((item, i) => {
        if (!item.alias && names[i] !== undefined) item.alias = names[i];
      });
      return deserialize(c, copy);
    },
  };
}

/** SQL that combines the partials of one replaced aggregate (types as DuckDB gives the original). */
function combine(r: Replacement, alias: string): string {
  const col = (name: string) => `${quoteIdent(alias)}.${quoteIdent(name)}`;
  if (r.fn === "count_star") return `CAST(COALESCE(SUM(${col(partialName.count)}), 0) AS BIGINT)`;
  const c = r.column!;
  const float = c.kind.kind === "float";
  switch (r.fn) {
    case "count":
      return `CAST(COALESCE(SUM(${col(partialName.nonNull(c.name))}), 0) AS BIGINT)`;
    case "sum":
      return float ? `SUM(${col(partialName.sum(c.name))})` : `CAST(SUM(${col(partialName.sum(c.name))}) AS HUGEINT)`;
    case "avg":
      return `SUM(${col(partialName.sum(c.name))}) / NULLIF(SUM(${col(partialName.nonNull(c.name))}), 0)`;
    case "min":
      return `MIN(${col(partialName.min(c.name))})`;
    default:
      return `MAX(${col(partialName.max(c.name))})`;
  }
}

function combinable(c: CatalogColumn): boolean {
  return (c.kind.kind === "int" && c.kind.bits <= 32) || c.kind.kind === "float";
}

/** No CTE, QUALIFY, SAMPLE, grouping sets or GROUP BY ALL; modifiers ORDER/LIMIT/DISTINCT only. */
function simpleSelect(node: SqlNode): boolean {
  if (((node.cte_map as { map?: unknown[] })?.map ?? []).length) return false;
  if (node.qualify || node.sample) return false;
  if (node.aggregate_handling !== "STANDARD_HANDLING") return false;
  const sets = (node.group_sets as unknown[]) ?? [];
  if (sets.length > 1) return false;
  return ((node.modifiers as SqlNode[]) ?? []).every((m) => ["ORDER_MODIFIER", "LIMIT_MODIFIER", "DISTINCT_MODIFIER"].includes(String(m.type)));
}

interface FromTables {
  /** Alias → SLAF table. */
  tables: Map<string, CatalogTable>;
  /** `JOIN … USING (x)`: x (lower case) and the columns it equates, one per side. */
  using: { name: string; sides: { table: CatalogTable; column: CatalogColumn }[] }[];
}

/**
 * The SLAF tables of a FROM made of plain inner joins between SLAF tables (expression and dimensions), else
 * null. A `USING (x)` join counts as `left.x = right.x` when x is a column of exactly one table on each side.
 */
function fromTables(t: SqlNode | null, analysis: Analysis): FromTables | null {
  if (!t) return null;
  if (t.type === "BASE_TABLE") {
    if (t.schema_name || t.catalog_name || t.at_clause || t.sample || ((t.column_name_alias as unknown[]) ?? []).length) return null;
    const name = String(t.table_name).toLowerCase();
    const needs = analysis.tables.get(name);
    if (!needs || (name !== "expression" && !DIMENSIONS.has(name))) return null;
    const alias = (typeof t.alias === "string" && t.alias ? t.alias : String(t.table_name)).toLowerCase();
    return { tables: new Map([[alias, needs.table]]), using: [] };
  }
  const usingColumns = ((t.using_columns as unknown[]) ?? []).map((c) => String(c).toLowerCase());
  if (t.type !== "JOIN" || t.ref_type !== "REGULAR" || t.join_type !== "INNER" || (!t.condition && !usingColumns.length)) return null;
  const left = fromTables(t.left as SqlNode, analysis);
  const right = fromTables(t.right as SqlNode, analysis);
  if (!left || !right) return null;
  for (const name of usingColumns) {
    const sides = [left, right].map((side) => [...side.tables.values()].filter((table) => table.byLower.has(name)));
    if (sides.some((tables) => tables.length !== 1)) return null;
    left.using.push({ name, sides: sides.map(([table]) => ({ table, column: table.byLower.get(name)! })) });
  }
  for (const [a, table] of right.tables) {
    if (left.tables.has(a)) return null;
    left.tables.set(a, table);
  }
  left.using.push(...right.using);
  return left;
}

function joinConditions(t: SqlNode | null): SqlNode[] {
  if (!t || t.type !== "JOIN") return [];
  return [...(t.condition ? [t.condition as SqlNode] : []), ...joinConditions(t.left as SqlNode), ...joinConditions(t.right as SqlNode)];
}

interface SerializedDoc {
  error: boolean;
  statements: { node: SqlNode }[];
}

async function serialize(conn: DuckDBConnection, sql: string): Promise<SerializedDoc | null> {
  const reader = await conn.runAndReadAll("SELECT json_serialize_sql($1::VARCHAR)", [sql]);
  const doc = JSON.parse(String(reader.getRows()[0][0])) as SerializedDoc;
  return doc.error || doc.statements?.length !== 1 ? null : doc;
}

async function snippet(conn: DuckDBConnection, expr: string): Promise<SqlNode> {
  const doc = await serialize(conn, `SELECT ${expr}`);
  if (!doc) throw new Error(`pre-aggregation: cannot parse ${expr}`);
  return (doc.statements[0].node.select_list as SqlNode[])[0];
}

/** DuckDB's "no location" (uint64 max) does not survive a JS number: it is written back as the exact integer. */
const NO_LOCATION = 2 ** 63;
const NO_LOCATION_MARK = "\u0000no-location\u0000";

async function deserialize(conn: DuckDBConnection, doc: SerializedDoc): Promise<string> {
  const text = JSON.stringify(doc, (k, v: unknown) => (k === "query_location" && typeof v === "number" && v >= NO_LOCATION ? NO_LOCATION_MARK : v)).replaceAll(
    JSON.stringify(NO_LOCATION_MARK),
    "18446744073709551615",
  );
  const reader = await conn.runAndReadAll("SELECT json_deserialize_sql(json($1::VARCHAR))", [text]);
  return String(reader.getRows()[0][0]);
}
