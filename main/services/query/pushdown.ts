/**
 * Predicates that can go down to Lance: comparisons of a column with a constant, IN lists, BETWEEN, IS [NOT] NULL,
 * and AND/OR of those, on one table. Lance applies them while scanning; DuckDB applies the user's full WHERE again
 * afterwards, so a pushed predicate only has to keep every row the query could need (never drop one).
 */
import { quoteIdent, stringLiteral } from "../sql-text";
import type { ResolvedColumn } from "./catalog";
import type { SqlNode } from "./parse";

export type Literal = { kind: "number"; value: number } | { kind: "string"; value: string } | { kind: "bool"; value: boolean };
export type CmpOp = "=" | "<>" | "<" | "<=" | ">" | ">=";

export type Pred =
  | { op: "cmp"; column: string; cmp: CmpOp; value: Literal }
  | { op: "in"; column: string; values: Literal[] }
  | { op: "between"; column: string; low: Literal; high: Literal }
  | { op: "null"; column: string; negated: boolean }
  | { op: "and" | "or"; children: Pred[] };

const CMP: Record<string, CmpOp> = {
  COMPARE_EQUAL: "=",
  COMPARE_NOTEQUAL: "<>",
  COMPARE_LESSTHAN: "<",
  COMPARE_LESSTHANOREQUALTO: "<=",
  COMPARE_GREATERTHAN: ">",
  COMPARE_GREATERTHANOREQUALTO: ">=",
};
const FLIP: Record<CmpOp, CmpOp> = { "=": "=", "<>": "<>", "<": ">", "<=": ">=", ">": "<", ">=": "<=" };

const INTEGER_TYPES = new Set(["TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT"]);

/** A constant from DuckDB's parse tree, if it is a plain number, string or boolean. */
export function literalOf(node: SqlNode | null | undefined): Literal | null {
  if (!node) return null;
  if (node.class === "CONSTANT") {
    const v = node.value as { type: { id: string; type_info?: { scale?: number } | null }; is_null: boolean; value: unknown };
    if (!v || v.is_null) return null;
    const id = v.type.id;
    if (id === "VARCHAR" && typeof v.value === "string") return { kind: "string", value: v.value };
    if (id === "BOOLEAN" && typeof v.value === "boolean") return { kind: "bool", value: v.value };
    if (INTEGER_TYPES.has(id) && typeof v.value === "number" && Number.isSafeInteger(v.value)) return { kind: "number", value: v.value };
    if ((id === "DOUBLE" || id === "FLOAT") && typeof v.value === "number" && Number.isFinite(v.value)) return { kind: "number", value: v.value };
    if (id === "DECIMAL" && typeof v.value === "number" && Number.isSafeInteger(v.value)) {
      const scale = v.type.type_info?.scale ?? 0;
      if (scale > 18) return null;
      return { kind: "number", value: v.value / 10 ** scale };
    }
    return null;
  }
  // `true` / `false` arrive as CAST('t' AS BOOLEAN).
  if (node.class === "CAST" && !node.try_cast) {
    const castType = (node.cast_type as { id?: string } | undefined)?.id;
    const child = literalOf(node.child as SqlNode);
    if (castType === "BOOLEAN" && child?.kind === "string") {
      const s = child.value.toLowerCase();
      if (s === "t" || s === "true") return { kind: "bool", value: true };
      if (s === "f" || s === "false") return { kind: "bool", value: false };
    }
  }
  return null;
}

/**
 * Whether comparing `column` with `lit` means the same in Lance (DataFusion) as in DuckDB. Conservative: integer
 * columns only with integral constants in the column's range; float32 only with integers it holds exactly (DuckDB
 * may compare in float32, Lance in float64); strings with strings; booleans with booleans.
 */
export function literalFits(column: ResolvedColumn, lit: Literal): boolean {
  const k = column.kind;
  switch (k.kind) {
    case "int":
      return lit.kind === "number" && Number.isInteger(lit.value) && lit.value >= k.min && lit.value <= k.max;
    case "float":
      if (lit.kind !== "number") return false;
      return k.bits === 64 || (Number.isInteger(lit.value) && Math.abs(lit.value) <= 2 ** 24);
    case "string":
      return lit.kind === "string";
    case "bool":
      return lit.kind === "bool";
    default:
      return false;
  }
}

/** How a column reference in a predicate resolves: to the actual column of one table reference, or not at all. */
export type ColumnResolver = (columnNames: string[]) => { refId: number; column: ResolvedColumn } | null;

/** A single-table pushable predicate, or null. */
export function toPred(expr: SqlNode, resolve: ColumnResolver): { refId: number; pred: Pred } | null {
  const col = (node: unknown) => {
    const n = node as SqlNode | null;
    if (!n || n.class !== "COLUMN_REF") return null;
    return resolve(n.column_names as string[]);
  };
  switch (expr.class) {
    case "COMPARISON": {
      const op = CMP[expr.type as string];
      if (!op) return null;
      let c = col(expr.left);
      let lit = literalOf(expr.right as SqlNode);
      let cmp = op;
      if (!c || !lit) {
        c = col(expr.right);
        lit = literalOf(expr.left as SqlNode);
        cmp = FLIP[op];
      }
      if (!c || !lit || !literalFits(c.column, lit)) return null;
      return { refId: c.refId, pred: { op: "cmp", column: c.column.name, cmp, value: lit } };
    }
    case "BETWEEN": {
      if (expr.type !== "COMPARE_BETWEEN") return null;
      const c = col(expr.input);
      const low = literalOf(expr.lower as SqlNode);
      const high = literalOf(expr.upper as SqlNode);
      if (!c || !low || !high || !literalFits(c.column, low) || !literalFits(c.column, high)) return null;
      return { refId: c.refId, pred: { op: "between", column: c.column.name, low, high } };
    }
    case "OPERATOR": {
      const children = (expr.children as SqlNode[]) ?? [];
      if (expr.type === "COMPARE_IN") {
        const c = col(children[0]);
        if (!c || children.length < 2) return null;
        const values: Literal[] = [];
        for (const ch of children.slice(1)) {
          const lit = literalOf(ch);
          if (!lit || !literalFits(c.column, lit)) return null;
          values.push(lit);
        }
        return { refId: c.refId, pred: { op: "in", column: c.column.name, values } };
      }
      if (expr.type === "OPERATOR_IS_NULL" || expr.type === "OPERATOR_IS_NOT_NULL") {
        const c = col(children[0]);
        if (!c || c.column.kind.kind === "other") return null;
        return { refId: c.refId, pred: { op: "null", column: c.column.name, negated: expr.type === "OPERATOR_IS_NOT_NULL" } };
      }
      return null;
    }
    case "CONJUNCTION": {
      const op = expr.type === "CONJUNCTION_AND" ? "and" : expr.type === "CONJUNCTION_OR" ? "or" : null;
      if (!op) return null;
      const parts = ((expr.children as SqlNode[]) ?? []).map((ch) => toPred(ch, resolve));
      if (parts.length === 0 || parts.some((p) => !p)) return null;
      const refId = parts[0]!.refId;
      if (parts.some((p) => p!.refId !== refId)) return null;
      return { refId, pred: { op, children: parts.map((p) => p!.pred) } };
    }
    default:
      return null;
  }
}

/** Splits an expression on top-level AND. */
export function conjuncts(expr: SqlNode | null | undefined): SqlNode[] {
  if (!expr) return [];
  if (expr.class === "CONJUNCTION" && expr.type === "CONJUNCTION_AND") return (expr.children as SqlNode[]).flatMap(conjuncts);
  return [expr];
}

export interface Dialect {
  column(name: string): string | null;
  literal(lit: Literal): string;
}

function numberLiteral(v: number): string {
  return Number.isInteger(v) ? v.toFixed(0) : String(v);
}

/** Lance filters are DataFusion SQL: identifiers in backticks, case-sensitive. */
export const LANCE: Dialect = {
  column: (name) => (name.includes("`") ? null : `\`${name}\``),
  literal: (lit) => (lit.kind === "string" ? stringLiteral(lit.value) : lit.kind === "bool" ? String(lit.value) : numberLiteral(lit.value)),
};

export const DUCKDB: Dialect = {
  column: (name) => quoteIdent(name),
  literal: (lit) => (lit.kind === "string" ? stringLiteral(lit.value) : lit.kind === "bool" ? String(lit.value) : numberLiteral(lit.value)),
};

/** Renders a predicate, or null when the dialect cannot say it. */
export function renderPred(pred: Pred, d: Dialect): string | null {
  switch (pred.op) {
    case "cmp": {
      const c = d.column(pred.column);
      return c && `${c} ${pred.cmp} ${d.literal(pred.value)}`;
    }
    case "in": {
      const c = d.column(pred.column);
      return c && `${c} IN (${pred.values.map((v) => d.literal(v)).join(", ")})`;
    }
    case "between": {
      const c = d.column(pred.column);
      return c && `${c} BETWEEN ${d.literal(pred.low)} AND ${d.literal(pred.high)}`;
    }
    case "null": {
      const c = d.column(pred.column);
      return c && `${c} IS ${pred.negated ? "NOT " : ""}NULL`;
    }
    case "and":
    case "or": {
      const parts = pred.children.map((p) => renderPred(p, d));
      if (parts.some((p) => p === null)) return null;
      return parts.length === 1 ? parts[0] : `(${parts.join(pred.op === "and" ? " AND " : " OR ")})`;
    }
  }
}

/** AND of a reference's predicates; null for "no restriction". */
export function andOf(preds: Pred[]): Pred | null {
  if (preds.length === 0) return null;
  return preds.length === 1 ? preds[0] : { op: "and", children: preds };
}

/** The filter for a table read by several references: OR of each one's restriction; null if any reads it all. */
export function orOfRefs(restrictions: (Pred | null)[]): Pred | null {
  if (restrictions.length === 0 || restrictions.some((r) => r === null)) return null;
  const unique = new Map<string, Pred>();
  for (const r of restrictions) unique.set(JSON.stringify(r), r as Pred);
  const list = [...unique.values()];
  return list.length === 1 ? list[0] : { op: "or", children: list };
}

/** Columns a predicate reads. */
export function predColumns(pred: Pred, out = new Set<string>()): Set<string> {
  if ("children" in pred) for (const c of pred.children) predColumns(c, out);
  else out.add(pred.column);
  return out;
}
