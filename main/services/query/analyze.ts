/**
 * Reads DuckDB's parse tree of one query and finds, for each SLAF table it reads: the columns it needs, and per
 * reference the predicates that can go down to Lance, plus id links (`e.cell_integer_id = c.cell_integer_id`)
 * that let a filter on cells or genes restrict the expression scan.
 *
 * Everything here errs on the side of reading more: an unqualified column name is taken from every SLAF table
 * that has it, `*` takes all columns, and anything not understood is read whole and unfiltered.
 */
import { fail } from "../errors";
import { FACT_TABLES, type Catalog, type CatalogTable, type ResolvedColumn } from "./catalog";
import { positionOfNode, type ParsedQuery, type SqlNode } from "./parse";
import { conjuncts, toPred, type ColumnResolver, type Pred } from "./pushdown";

/**
 * `column` of this reference only takes values that `sourceColumn` has in the source's rows. The source is a
 * SLAF reference (Analysis.refs) or a named result (Analysis.relations).
 */
export interface IdLink {
  column: string;
  sourceRefId: number;
  sourceColumn: string;
}

/** A named result read in FROM: a possible source of ids for a fact table joined to it. */
export interface RelationRef {
  id: number;
  /** Lower-cased name of the named result. */
  name: string;
  alias: string;
  /** Predicates on its columns that hold for every row that can reach the result (ANDed): they narrow its ids. */
  preds: Pred[];
}

export interface SlafRef {
  id: number;
  table: string;
  alias: string;
  /** Predicates that hold for every row of this reference that can reach the query's result (ANDed). */
  preds: Pred[];
  links: IdLink[];
}

export interface TableNeeds {
  table: CatalogTable;
  /** Actual (case-preserved) column names. */
  columns: Set<string>;
  allColumns: boolean;
  refs: SlafRef[];
}

export interface Analysis {
  tables: Map<string, TableNeeds>;
  refs: Map<number, SlafRef>;
  /** Named results read in FROM, by reference id (ids are shared with `refs`, never equal). */
  relations: Map<number, RelationRef>;
  namedResults: string[];
}

interface LocalRef {
  alias: string;
  slaf: SlafRef | null;
  relation?: RelationRef;
}

interface SelectCtx {
  locals: LocalRef[];
}

interface WalkCtx {
  ctes: Set<string>;
  select: SelectCtx | null;
  /** Inside something we do not model (PIVOT, SHOW...): SLAF tables found there are read whole. */
  opaque: boolean;
}

type FromTree = { kind: "ref"; local: LocalRef } | { kind: "join"; node: SqlNode; left: FromTree; right: FromTree } | { kind: "opaque" };

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
const ID_COLUMNS = new Set(["cell_integer_id", "gene_integer_id"]);

export function analyzeQuery(parsed: ParsedQuery, catalog: Catalog): Analysis {
  const a = new Analyzer(parsed.sql, catalog, cteNames(parsed.root));
  a.queryNode(parsed.root, new Set());
  return a.finish();
}

class Analyzer {
  private readonly refs: SlafRef[] = [];
  private readonly relations: RelationRef[] = [];
  private readonly refByNode = new Map<SqlNode, SlafRef>();
  private readonly relationByNode = new Map<SqlNode, RelationRef>();
  private readonly aliasTables = new Map<string, Set<string>>();
  private readonly columnRefs: string[][] = [];
  private readonly allColumns = new Set<string>();
  private readonly named = new Set<string>();
  private nextId = 1;

  constructor(
    private readonly sql: string,
    private readonly catalog: Catalog,
    /** Every CTE name anywhere in the query: never reported as an unknown table. */
    private readonly anyCte: Set<string>,
  ) {}

  queryNode(node: SqlNode, ctes: Set<string>): void {
    if (!node || typeof node !== "object") return;
    let scope = ctes;
    const cteMap = (node.cte_map as { map?: { key: string; value: { query?: { node?: SqlNode } } }[] } | undefined)?.map ?? [];
    if (cteMap.length) {
      const inner = new Set(ctes);
      for (const entry of cteMap) {
        // A CTE's body sees the CTEs before it (a self-reference is read as the SLAF table: reading more is safe).
        const body = entry.value?.query?.node;
        if (body) this.queryNode(body, new Set(inner));
        else this.walk(entry.value, { ctes: new Set(inner), select: null, opaque: true });
        inner.add(entry.key.toLowerCase());
      }
      scope = inner;
    }
    if (node.type === "RECURSIVE_CTE_NODE" && typeof node.ctename === "string") scope = new Set(scope).add(node.ctename.toLowerCase());
    if (node.type === "SELECT_NODE") this.selectNode(node, scope);
    else this.walkProps(node, { ctes: scope, select: null, opaque: false }, ["cte_map"]);
  }

  private selectNode(node: SqlNode, ctes: Set<string>): void {
    const sctx: SelectCtx = { locals: [] };
    const ctx: WalkCtx = { ctes, select: sctx, opaque: false };
    const tree = this.fromTable(node.from_table as SqlNode, ctx);
    this.walkProps(node, ctx, ["cte_map", "from_table"]);
    this.pushdown(node, sctx, tree);
  }

  private fromTable(t: SqlNode | null, ctx: WalkCtx): FromTree {
    if (!t) return { kind: "opaque" };
    const alias = typeof t.alias === "string" ? t.alias.toLowerCase() : "";
    switch (t.type) {
      case "BASE_TABLE": {
        const local = this.baseTable(t, ctx);
        if (ctx.select) ctx.select.locals.push(local);
        return { kind: "ref", local };
      }
      case "JOIN": {
        const left = this.fromTable(t.left as SqlNode, ctx);
        const right = this.fromTable(t.right as SqlNode, ctx);
        if (t.condition) this.walk(t.condition, ctx);
        for (const u of (t.using_columns as string[]) ?? []) this.columnRefs.push([u]);
        if (t.ref_type === "NATURAL") for (const r of refsOf(left).concat(refsOf(right))) this.allColumns.add(r.table);
        return { kind: "join", node: t, left, right };
      }
      case "SUBQUERY": {
        const sub = (t.subquery as { node?: SqlNode } | undefined)?.node;
        if (sub) this.queryNode(sub, ctx.ctes);
        if (ctx.select) ctx.select.locals.push({ alias, slaf: null });
        return { kind: "opaque" };
      }
      case "EMPTY":
        return { kind: "opaque" };
      default: {
        // Table functions, VALUES, PIVOT, SHOW...: walk everything; SLAF tables inside are read whole.
        this.walkProps(t, { ...ctx, opaque: t.type !== "TABLE_FUNCTION" && t.type !== "EXPRESSION_LIST" }, []);
        if (ctx.select) ctx.select.locals.push({ alias, slaf: null });
        return { kind: "opaque" };
      }
    }
  }

  private baseTable(t: SqlNode, ctx: WalkCtx): LocalRef {
    const rawName = String(t.table_name ?? "");
    const name = rawName.toLowerCase();
    const alias = (typeof t.alias === "string" && t.alias ? t.alias : rawName).toLowerCase();
    const qualified = Boolean(t.schema_name || t.catalog_name);
    if (!qualified && ctx.ctes.has(name)) return { alias, slaf: null };
    const table = qualified ? undefined : this.catalog.tables.get(name);
    if (table) {
      const ref: SlafRef = { id: this.nextId++, table: table.name, alias, preds: [], links: [] };
      this.refs.push(ref);
      this.refByNode.set(t, ref);
      let set = this.aliasTables.get(alias);
      if (!set) this.aliasTables.set(alias, (set = new Set()));
      set.add(table.name);
      if (ctx.opaque || ((t.column_name_alias as unknown[]) ?? []).length > 0) this.allColumns.add(table.name);
      return { alias, slaf: ref };
    }
    if (!qualified && this.catalog.namedResults.has(name)) {
      this.named.add(name);
      const relation: RelationRef = { id: this.nextId++, name, alias, preds: [] };
      this.relations.push(relation);
      this.relationByNode.set(t, relation);
      return { alias, slaf: null, relation };
    }
    if (!qualified && IDENT.test(rawName) && !this.anyCte.has(name)) {
      const slaf = [...this.catalog.tables.values()].map((x) => x.name);
      const named = [...this.catalog.namedResults];
      fail("QUERY_INVALID", `Unknown table "${rawName}". This dataset has ${slaf.join(", ")}${named.length ? `; named results: ${named.join(", ")}` : ""}`, {
        position: positionOfNode(this.sql, t),
      });
    }
    return { alias, slaf: null };
  }

  private walkProps(node: SqlNode, ctx: WalkCtx, skip: string[]): void {
    for (const [k, v] of Object.entries(node)) if (!skip.includes(k)) this.walk(v, ctx);
  }

  /** Generic walk over expressions and anything else: column references, stars, nested queries and tables. */
  private walk(value: unknown, ctx: WalkCtx): void {
    if (Array.isArray(value)) {
      for (const v of value) this.walk(v, ctx);
      return;
    }
    if (!value || typeof value !== "object") return;
    const node = value as SqlNode;
    if (node.class === "COLUMN_REF") {
      this.columnRefs.push((node.column_names as string[]).map(String));
      return;
    }
    if (node.class === "STAR") {
      this.star(node, ctx);
      this.walkProps(node, ctx, []);
      return;
    }
    if (typeof node.type === "string" && node.type.endsWith("_NODE") && ("cte_map" in node || "select_list" in node)) {
      this.queryNode(node, ctx.ctes);
      return;
    }
    if (node.type === "BASE_TABLE" && "table_name" in node) {
      this.baseTable(node, { ...ctx, opaque: true });
      return;
    }
    this.walkProps(node, ctx, []);
  }

  private star(node: SqlNode, ctx: WalkCtx): void {
    const relation = typeof node.relation_name === "string" ? node.relation_name.toLowerCase() : "";
    if (!ctx.select) {
      // A star outside any SELECT we model: read every SLAF table whole.
      for (const r of this.refs) this.allColumns.add(r.table);
      this.allColumns.add("*");
      return;
    }
    for (const l of ctx.select.locals) if (l.slaf && (!relation || l.alias === relation)) this.allColumns.add(l.slaf.table);
  }

  /** Distributes this SELECT's WHERE and join conditions to its SLAF references. */
  private pushdown(node: SqlNode, sctx: SelectCtx, tree: FromTree): void {
    const slafLocals = sctx.locals.filter((l) => l.slaf);
    if (slafLocals.length === 0) return;
    const using = new Set<string>();
    collectUsing(tree, using);
    // A column of a local: SLAF tables by their catalog, named results by what is known of their columns.
    const columnOf = (l: LocalRef, lower: string): { refId: number; column: ResolvedColumn } | null => {
      if (l.slaf) {
        const column = this.tableOf(l.slaf).byLower.get(lower);
        return column ? { refId: l.slaf.id, column } : null;
      }
      const column = l.relation && this.catalog.relations?.get(l.relation.name)?.byLower.get(lower);
      return column ? { refId: l.relation!.id, column } : null;
    };
    const resolve: ColumnResolver = (names) => {
      const lower = names.map((n) => n.toLowerCase());
      if (lower.length === 1) {
        if (using.has(lower[0])) return null;
        const hits = sctx.locals.map((l) => columnOf(l, lower[0])).filter((c) => c !== null);
        return hits.length === 1 ? hits[0] : null;
      }
      if (lower.length === 2) {
        const hits = sctx.locals.filter((l) => l.alias === lower[0]);
        return hits.length === 1 ? columnOf(hits[0], lower[1]) : null;
      }
      return null;
    };
    const where = conjuncts(node.where_clause as SqlNode | null);
    const single = (list: SqlNode[]) => list.map((c) => toPred(c, resolve)).filter((p): p is { refId: number; pred: Pred } => p !== null);
    const topInner = new Set<number>();
    const eqLinks: SqlNode[] = [...where];
    // `a JOIN b USING (x)` of two plain references: a.x = b.x (deeper trees merge the column: not linked).
    type Side = { refId: number; column: ResolvedColumn };
    const usingLinks: [Side, Side][] = [];
    const usingPairs = (t: Extract<FromTree, { kind: "join" }>): [Side, Side][] => {
      if (t.left.kind !== "ref" || t.right.kind !== "ref") return [];
      const [left, right] = [t.left.local, t.right.local];
      return ((t.node.using_columns as string[]) ?? []).flatMap((u) => {
        const l = columnOf(left, u.toLowerCase());
        const r = columnOf(right, u.toLowerCase());
        return l && r ? [[l, r] as [Side, Side]] : [];
      });
    };

    const distribute = (t: FromTree, inherited: { refId: number; pred: Pred }[], inner: boolean): void => {
      if (t.kind === "ref") {
        const rel = t.local.relation;
        if (rel) {
          if (inner) topInner.add(rel.id);
          for (const p of inherited) if (p.refId === rel.id) rel.preds.push(p.pred);
        }
        if (!t.local.slaf) return;
        for (const p of inherited) if (p.refId === t.local.slaf.id) t.local.slaf.preds.push(p.pred);
        if (inner) topInner.add(t.local.slaf.id);
        return;
      }
      if (t.kind === "opaque") return;
      const on = conjuncts(t.node.condition as SqlNode | null);
      const onPreds = single(on);
      const refType = t.node.ref_type;
      const plain = refType === "REGULAR" || refType === "CROSS";
      switch (plain ? t.node.join_type : "OTHER") {
        case "INNER":
          if (inner) {
            eqLinks.push(...on);
            usingLinks.push(...usingPairs(t));
          }
          distribute(t.left, [...inherited, ...onPreds], inner);
          distribute(t.right, [...inherited, ...onPreds], inner);
          return;
        case "LEFT":
        case "SEMI":
        case "ANTI":
          distribute(t.left, inherited, inner);
          distribute(t.right, onPreds, false);
          return;
        case "RIGHT":
          distribute(t.left, onPreds, false);
          distribute(t.right, inherited, inner);
          return;
        default:
          distribute(t.left, [], false);
          distribute(t.right, [], false);
      }
    };
    distribute(tree, single(where), true);

    // Id links between references that every result row combines (inner joins all the way up).
    for (const [l, r] of usingLinks) {
      if (l.refId === r.refId || !topInner.has(l.refId) || !topInner.has(r.refId)) continue;
      this.link(l, r);
      this.link(r, l);
    }
    for (const c of eqLinks) {
      if (c.class === "COMPARISON" && c.type === "COMPARE_EQUAL") {
        const l = colRef(c.left) && resolve(colRef(c.left)!);
        const r = colRef(c.right) && resolve(colRef(c.right)!);
        if (!l || !r || l.refId === r.refId || !topInner.has(l.refId) || !topInner.has(r.refId)) continue;
        this.link(l, r);
        this.link(r, l);
      } else if (c.class === "SUBQUERY" && c.subquery_type === "ANY" && (c.comparison_type ?? "COMPARE_EQUAL") === "COMPARE_EQUAL") {
        const l = colRef(c.child) && resolve(colRef(c.child)!);
        if (!l || !topInner.has(l.refId)) continue;
        const src = this.simpleSubquerySource((c.subquery as { node?: SqlNode } | undefined)?.node);
        if (src) this.link(l, src);
      }
    }
  }

  /** `SELECT col FROM <slaf table or named result> [alias] [WHERE ...]`: the reference and column an IN-subquery draws from. */
  private simpleSubquerySource(node: SqlNode | undefined): { refId: number; column: ResolvedColumn } | null {
    if (!node || node.type !== "SELECT_NODE") return null;
    if (((node.cte_map as { map?: unknown[] })?.map ?? []).length) return null;
    if (((node.group_expressions as unknown[]) ?? []).length || node.having || node.qualify) return null;
    if (((node.modifiers as SqlNode[]) ?? []).some((m) => m.type !== "ORDER_MODIFIER" && m.type !== "DISTINCT_MODIFIER")) return null;
    const from = node.from_table as SqlNode;
    const ref = from && (this.refByNode.get(from) ?? this.relationByNode.get(from));
    const list = node.select_list as SqlNode[];
    if (!ref || list.length !== 1 || list[0].class !== "COLUMN_REF") return null;
    const names = (list[0].column_names as string[]).map((n) => n.toLowerCase());
    if (names.length === 2 && names[0] !== ref.alias) return null;
    if (names.length > 2) return null;
    const last = names[names.length - 1];
    const column = "table" in ref ? this.tableOf(ref).byLower.get(last) : this.catalog.relations?.get(ref.name)?.byLower.get(last);
    return column ? { refId: ref.id, column } : null;
  }

  private link(target: { refId: number; column: ResolvedColumn }, source: { refId: number; column: ResolvedColumn }): void {
    const t = this.refs.find((r) => r.id === target.refId);
    const s = this.refs.find((r) => r.id === source.refId);
    const fromRelation = !s && this.relations.some((r) => r.id === source.refId);
    if (!t || !FACT_TABLES.has(t.table) || (s ? FACT_TABLES.has(s.table) : !fromRelation)) return;
    if (!ID_COLUMNS.has(target.column.name) || target.column.kind.kind !== "int" || source.column.kind.kind !== "int") return;
    t.links.push({ column: target.column.name, sourceRefId: source.refId, sourceColumn: source.column.name });
  }

  private tableOf(ref: SlafRef): CatalogTable {
    return this.catalog.tables.get(ref.table)!;
  }

  finish(): Analysis {
    const tables = new Map<string, TableNeeds>();
    for (const ref of this.refs) {
      let needs = tables.get(ref.table);
      if (!needs) tables.set(ref.table, (needs = { table: this.tableOf(ref), columns: new Set(), allColumns: false, refs: [] }));
      needs.refs.push(ref);
    }
    const addUnqualified = (name: string) => {
      for (const n of tables.values()) {
        const c = n.table.byLower.get(name);
        if (c) n.columns.add(c.name);
      }
    };
    for (const names of this.columnRefs) {
      const lower = names.map((n) => n.toLowerCase());
      addUnqualified(lower[0]);
      // A bare table name or alias used as a value is the whole row.
      if (lower.length === 1) for (const t of this.aliasTables.get(lower[0]) ?? []) this.allColumns.add(t);
      for (let i = 0; i + 1 < lower.length; i++) {
        for (const t of this.aliasTables.get(lower[i]) ?? []) {
          const c = tables.get(t)?.table.byLower.get(lower[i + 1]);
          if (c) tables.get(t)!.columns.add(c.name);
        }
      }
    }
    for (const n of tables.values()) {
      if (this.allColumns.has(n.table.name) || this.allColumns.has("*")) {
        n.allColumns = true;
        for (const c of n.table.columns) n.columns.add(c.name);
      }
    }
    return {
      tables,
      refs: new Map(this.refs.map((r) => [r.id, r])),
      relations: new Map(this.relations.map((r) => [r.id, r])),
      namedResults: [...this.named],
    };
  }
}

function colRef(node: unknown): string[] | null {
  const n = node as SqlNode | null;
  return n && n.class === "COLUMN_REF" ? (n.column_names as string[]) : null;
}

function refsOf(t: FromTree): SlafRef[] {
  if (t.kind === "ref") return t.local.slaf ? [t.local.slaf] : [];
  if (t.kind === "join") return [...refsOf(t.left), ...refsOf(t.right)];
  return [];
}

function collectUsing(t: FromTree, out: Set<string>): void {
  if (t.kind !== "join") return;
  for (const u of (t.node.using_columns as string[]) ?? []) out.add(u.toLowerCase());
  collectUsing(t.left, out);
  collectUsing(t.right, out);
}

function cteNames(value: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(value)) {
    for (const v of value) cteNames(v, out);
  } else if (value && typeof value === "object") {
    const node = value as SqlNode;
    const map = (node.cte_map as { map?: { key?: unknown }[] } | undefined)?.map;
    for (const e of map ?? []) if (typeof e.key === "string") out.add(e.key.toLowerCase());
    if (typeof node.ctename === "string") out.add(node.ctename.toLowerCase());
    for (const v of Object.values(node)) cteNames(v, out);
  }
  return out;
}
