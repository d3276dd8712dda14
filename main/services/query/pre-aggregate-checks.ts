/**
 * What execute.ts checks before reading expression as partial aggregates: the plan DuckDB makes for the query as
 * written, and the partial table's columns.
 */
import { arrow } from "../arrow";
import type { DataType } from "../arrow-types";
import type { CatalogColumn } from "./catalog";
import { partialName, type PreAggregation } from "./pre-aggregate";

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
