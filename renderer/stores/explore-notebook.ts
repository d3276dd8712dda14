/**
 * "Send to notebook": what the Explore view shows, as notebook cells that reproduce it (SQL over cells, genes,
 * expression and cell_sets, and a plot of each result). Pure: the store inserts them.
 */
import type { ExploreTransform } from "../../shared/ipc/contract";
import { isValidCellName, type PlotSpec } from "../../shared/notebook/model";

export type NewCell = { kind: "markdown"; text: string } | { kind: "sql"; name: string; text: string } | { kind: "plot"; source: string; spec: PlotSpec };

export interface GeneRef {
  geneIntegerId: number;
  symbol: string;
}

export interface ExploreSnapshot {
  embedding: string;
  /** 0-based dims drawn as x and y. */
  dims: [number, number];
  colour: { kind: "none" } | { kind: "column"; column: string; hidden: (string | null)[] } | { kind: "genes"; genes: GeneRef[]; transform: ExploreTransform };
  /** The set shown highlighted, if any: its composition is added. */
  set: string | null;
  /** Column used to describe a set's composition (a categorical column such as cell_type), if any. */
  groupBy: string | null;
  /** QC shown: its SQL (from main) and whether it is for a set. */
  qc: { sql: string; set: string | null } | null;
}

/** A SQL identifier as written in a query: bare when it can be, else double-quoted. */
export function ident(name: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) && !RESERVED.has(name.toUpperCase()) ? name : `"${name.replace(/"/g, '""')}"`;
}

const RESERVED = new Set(["SELECT", "FROM", "WHERE", "GROUP", "ORDER", "BY", "TABLE", "USING", "JOIN", "ON", "AS", "CASE", "END", "LIMIT", "VALUE"]);

export function stringLiteral(v: string): string {
  return `'${v.replace(/'/g, "''")}'`;
}

/** A name for a SQL cell made from parts: lower case, letters, digits and underscores only. */
export function cellName(...parts: string[]): string {
  const base = parts
    .join("_")
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, "_")
    .replace(/_+/g, "_")
    .replace(/^_|_$/g, "");
  const name = /^[a-z_]/.test(base) ? base : `x_${base}`;
  return isValidCellName(name) ? name.slice(0, 60) : "explore";
}

/** `name`, or name_2, name_3, ... when it is taken. */
export function uniqueName(name: string, taken: ReadonlySet<string>): string {
  if (!taken.has(name)) return name;
  for (let k = 2; ; k++) if (!taken.has(`${name}_${k}`)) return `${name}_${k}`;
}

function axisNames(embedding: string, dims: [number, number]): [string, string] {
  const stem =
    embedding
      .replace(/^X_/i, "")
      .toLowerCase()
      .replace(/[^a-z0-9_]+/g, "_") || "dim";
  return [`${stem}_${dims[0] + 1}`, `${stem}_${dims[1] + 1}`];
}

function title(embedding: string): string {
  return embedding.replace(/^X_/i, "").toUpperCase();
}

/** The cells that reproduce the snapshot; names are made unique against `taken`. */
export function exploreCells(s: ExploreSnapshot, taken: Iterable<string>): NewCell[] {
  const used = new Set(taken);
  const name = (...parts: string[]): string => {
    const n = uniqueName(cellName(...parts), used);
    used.add(n);
    return n;
  };
  const [ax, ay] = axisNames(s.embedding, s.dims);
  const e = ident(s.embedding);
  const coords = `c.${e}[${s.dims[0] + 1}] AS ${ax}, c.${e}[${s.dims[1] + 1}] AS ${ay}`;
  const cells: NewCell[] = [];
  const emb = title(s.embedding);

  if (s.colour.kind === "genes" && s.colour.genes.length) {
    const { genes, transform } = s.colour;
    const label = genes.map((g) => g.symbol).join(" and ");
    const cp10k = transform === "log1p_cp10k";
    const n = name(s.embedding.replace(/^X_/i, ""), ...genes.map((g) => g.symbol));
    const ctes = genes.map(
      (g, k) => `g${k} AS (\n  SELECT cell_integer_id, value FROM expression WHERE gene_integer_id = ${g.geneIntegerId} -- ${g.symbol}\n)`,
    );
    if (cp10k) ctes.unshift("totals AS (\n  SELECT cell_integer_id, SUM(value) AS total FROM expression GROUP BY cell_integer_id\n)");
    const valueOf = (k: number): string => (cp10k ? `COALESCE(LN(1 + g${k}.value / t.total * 10000), 0)` : `COALESCE(g${k}.value, 0)`);
    const sql = [
      `WITH ${ctes.join(",\n")}`,
      `SELECT c.cell_integer_id, ${coords},`,
      genes.map((g, k) => `       ${valueOf(k)} AS ${ident(g.symbol)}`).join(",\n"),
      "FROM cells c",
      ...genes.map((_, k) => `LEFT JOIN g${k} ON g${k}.cell_integer_id = c.cell_integer_id`),
      ...(cp10k ? ["LEFT JOIN totals t ON t.cell_integer_id = c.cell_integer_id"] : []),
      // Expressing cells last, so they are drawn on top of the others.
      `ORDER BY ${ident(genes[0].symbol)}`,
    ].join("\n");
    cells.push({
      kind: "markdown",
      text: `## ${emb} by ${label}\n\n${cp10k ? "log1p(CP10k): ln(1 + value / cell total × 10,000)" : "Raw stored values"}; cells that do not express a gene are 0.`,
    });
    cells.push({ kind: "sql", name: n, text: sql });
    for (const g of genes)
      cells.push({
        kind: "plot",
        source: n,
        spec: { mark: "dot", x: ax, y: ay, fill: g.symbol, tip: true, title: `${emb} · ${g.symbol}${cp10k ? " (log1p CP10k)" : ""}` },
      });
  } else if (s.colour.kind === "column") {
    const { column, hidden } = s.colour;
    const n = name(s.embedding.replace(/^X_/i, ""), column);
    const where = hidden.length ? `\nWHERE ${notIn(`c.${ident(column)}`, hidden)}` : "";
    cells.push({ kind: "markdown", text: `## ${emb} by ${column}` });
    cells.push({ kind: "sql", name: n, text: `SELECT c.cell_integer_id, ${coords}, c.${ident(column)}\nFROM cells c${where}` });
    cells.push({ kind: "plot", source: n, spec: { mark: "dot", x: ax, y: ay, fill: column, tip: true, title: `${emb} by ${column}` } });
  } else {
    const n = name(s.embedding.replace(/^X_/i, ""));
    cells.push({ kind: "markdown", text: `## ${emb}` });
    cells.push({ kind: "sql", name: n, text: `SELECT c.cell_integer_id, ${coords}\nFROM cells c` });
    cells.push({ kind: "plot", source: n, spec: { mark: "dot", x: ax, y: ay, tip: true, title: emb } });
  }

  if (s.set !== null) {
    const inSet = `c.cell_integer_id IN (SELECT cell_integer_id FROM cell_sets WHERE set_name = ${stringLiteral(s.set)})`;
    if (s.groupBy) {
      const n = name("set", s.set, s.groupBy);
      cells.push({
        kind: "markdown",
        text: `## What is in the cell set "${s.set}"\n\nIts cells by ${s.groupBy} (sets are the table \`cell_sets(set_name, cell_integer_id)\`).`,
      });
      cells.push({
        kind: "sql",
        name: n,
        text: `SELECT c.${ident(s.groupBy)}, COUNT(*) AS n_cells\nFROM cells c\nWHERE ${inSet}\nGROUP BY c.${ident(s.groupBy)}\nORDER BY n_cells DESC`,
      });
      cells.push({ kind: "plot", source: n, spec: { mark: "bar", x: s.groupBy, y: "n_cells", tip: true, title: `Cell set "${s.set}" by ${s.groupBy}` } });
    } else {
      const n = name("set", s.set);
      cells.push({ kind: "markdown", text: `## The cell set "${s.set}"` });
      cells.push({ kind: "sql", name: n, text: `SELECT c.*\nFROM cells c\nWHERE ${inSet}` });
    }
  }

  if (s.qc) {
    const n = name("qc", ...(s.qc.set ? [s.qc.set] : []));
    cells.push({
      kind: "markdown",
      text: `## Quality control${s.qc.set ? ` of "${s.qc.set}"` : ""}\n\nGenes detected, counts and percent mitochondrial counts (genes whose symbol starts with MT-) per cell.`,
    });
    cells.push({ kind: "sql", name: n, text: s.qc.sql });
    cells.push({ kind: "plot", source: n, spec: { mark: "histogram", x: "n_genes", tip: true, title: "Genes per cell" } });
    cells.push({ kind: "plot", source: n, spec: { mark: "histogram", x: "total_counts", tip: true, title: "Counts per cell" } });
    cells.push({ kind: "plot", source: n, spec: { mark: "histogram", x: "pct_mito", tip: true, title: "Percent mitochondrial counts" } });
  }
  return cells;
}

function notIn(expr: string, values: (string | null)[]): string {
  const present = values.filter((v): v is string => v !== null);
  const parts: string[] = [];
  // Numbers compare as numbers (1.0 in SQL is "1" here); anything else as text.
  const numeric = present.every((v) => v.trim() !== "" && Number.isFinite(Number(v)));
  if (present.length) parts.push(numeric ? `${expr} NOT IN (${present.join(", ")})` : `${expr}::VARCHAR NOT IN (${present.map(stringLiteral).join(", ")})`);
  if (values.includes(null)) parts.push(`${expr} IS NOT NULL`);
  // A NOT IN over a null value is null, not true: keep null rows unless null itself is hidden.
  return values.includes(null) ? parts.join(" AND ") : `(${parts[0]} OR ${expr} IS NULL)`;
}
