/**
 * "Send to notebook" for the Markers panel: SQL over cells, genes, expression and cell_sets that computes what a
 * plot or the markers table shows, and the plot cells that draw it. Pure: the store inserts the cells.
 */
import type { MarkersApplied, MarkersComparison, MarkersGroupBy } from "../../shared/ipc/contract";
import { cellName, ident, stringLiteral, uniqueName, type NewCell } from "./explore-notebook";
import { groupLabel } from "./markers-plots";

export interface SqlGene {
  geneIntegerId: number;
  symbol: string;
}

/** What the SQL needs to know of the dataset besides the request: column types and the genes' symbol column. */
export interface SqlContext {
  /** Cells columns whose values are numbers (compared as numbers: 1.0 in SQL is "1" in the panel). */
  numericColumns: string[];
  /** The genes column holding symbols, or null (gene_id is used). */
  symbolColumn: string | null;
  normalization: MarkersApplied;
}

export type GroupPlotKind = "dot" | "heatmap" | "violin";

const NORM_NOTE: Record<MarkersApplied, string> = {
  log1p_cp10k: "log1p(CP10k): ln(1 + value / cell total × 10,000), cells without a stored value are 0",
  none: "the stored values as they are (already normalized), cells without a stored value are 0",
};

function namer(taken: Iterable<string>): (...parts: string[]) => string {
  const used = new Set(taken);
  return (...parts) => {
    const n = uniqueName(cellName(...parts), used);
    used.add(n);
    return n;
  };
}

const TOTALS = "totals AS (\n  SELECT cell_integer_id, SUM(value) AS total FROM expression GROUP BY cell_integer_id\n)";

/** The normalized value of expression row `e` (its cell's total in `t`). */
function normalized(ctx: SqlContext, e: string, t: string): string {
  return ctx.normalization === "log1p_cp10k" ? `LN(1 + ${e}.value / ${t}.total * 10000)` : `${e}.value`;
}

/** `expr` equals a group named as the panel names it (numbers numerically, null as IS NULL). */
export function matchGroup(expr: string, value: string | null, numeric: boolean): string {
  if (value === null) return `${expr} IS NULL`;
  if (numeric && value.trim() !== "" && Number.isFinite(Number(value))) return `${expr} = ${Number(value)}`;
  return `${expr}::VARCHAR = ${stringLiteral(value)}`;
}

function groupColumn(g: MarkersGroupBy): string {
  return g.kind === "column" ? ident(g.column) : "cell_set";
}

/** One row per (cell, group) it belongs to; the group in a column named by groupColumn. */
function groupedCells(g: MarkersGroupBy): string {
  if (g.kind === "column") return `SELECT cell_integer_id, ${ident(g.column)} FROM cells`;
  return `SELECT cell_integer_id, set_name AS cell_set FROM cell_sets WHERE set_name IN (${g.sets.map(stringLiteral).join(", ")})`;
}

function genesCte(ctx: SqlContext, genes: SqlGene[]): string {
  const symbol = ctx.symbolColumn ? ident(ctx.symbolColumn) : "gene_id";
  return `chosen AS (\n  SELECT gene_integer_id, ${symbol} AS gene FROM genes WHERE gene_integer_id IN (${genes.map((g) => g.geneIntegerId).join(", ")})\n)`;
}

/**
 * Per group and gene: mean of the normalized values over every cell of the group (zeros included: scanpy's dot
 * plot colour), the fraction of the group's cells with a value > 0 (the dot size), and the mean z-scored across
 * groups per gene (the heatmap's optional scale).
 */
export function groupSummarySql(ctx: SqlContext, groupBy: MarkersGroupBy, genes: SqlGene[]): string {
  const gc = groupColumn(groupBy);
  const ids = genes.map((g) => g.geneIntegerId).join(", ");
  const cp10k = ctx.normalization === "log1p_cp10k";
  return [
    `-- ${NORM_NOTE[ctx.normalization]}`,
    "WITH " +
      [
        ...(cp10k ? [TOTALS] : []),
        `grouped AS (\n  ${groupedCells(groupBy)}\n)`,
        `sizes AS (\n  SELECT ${gc}, COUNT(*) AS n_cells FROM grouped GROUP BY ${gc}\n)`,
        genesCte(ctx, genes),
        [
          "vals AS (",
          `  SELECT g.${gc}, e.gene_integer_id, e.value, ${normalized(ctx, "e", "t")} AS y`,
          "  FROM expression e",
          "  JOIN grouped g ON g.cell_integer_id = e.cell_integer_id",
          ...(cp10k ? ["  JOIN totals t ON t.cell_integer_id = e.cell_integer_id"] : []),
          `  WHERE e.gene_integer_id IN (${ids})`,
          ")",
        ].join("\n"),
        [
          "summary AS (",
          `  SELECT s.${gc}, c.gene, s.n_cells,`,
          "    COALESCE(SUM(v.y), 0) / s.n_cells AS mean,",
          "    COUNT(v.y) FILTER (WHERE v.value > 0) / s.n_cells AS frac_expressing",
          "  FROM sizes s CROSS JOIN chosen c",
          `  LEFT JOIN vals v ON v.${gc} IS NOT DISTINCT FROM s.${gc} AND v.gene_integer_id = c.gene_integer_id`,
          `  GROUP BY s.${gc}, s.n_cells, c.gene`,
          ")",
        ].join("\n"),
      ].join(",\n"),
    "SELECT *, COALESCE((mean - AVG(mean) OVER (PARTITION BY gene)) / NULLIF(STDDEV_POP(mean) OVER (PARTITION BY gene), 0), 0) AS mean_z",
    "FROM summary",
    `ORDER BY gene, ${gc}`,
  ].join("\n");
}

/** Every cell of every group with one gene's normalized value (0 where nothing is stored): violins and boxes. */
export function geneByCellSql(ctx: SqlContext, groupBy: MarkersGroupBy, gene: SqlGene): string {
  const gc = groupColumn(groupBy);
  const cp10k = ctx.normalization === "log1p_cp10k";
  const value = cp10k ? "LN(1 + x.value / t.total * 10000)" : "x.value";
  return [
    `-- ${NORM_NOTE[ctx.normalization]}`,
    "WITH " +
      [
        ...(cp10k ? [TOTALS] : []),
        `x AS (\n  SELECT cell_integer_id, value FROM expression WHERE gene_integer_id = ${gene.geneIntegerId} -- ${gene.symbol.replace(/\n/g, " ")}\n)`,
      ].join(",\n"),
    `SELECT g.${gc}, COALESCE(${value}, 0) AS ${ident(gene.symbol)}`,
    `FROM (${groupedCells(groupBy)}) g`,
    "LEFT JOIN x ON x.cell_integer_id = g.cell_integer_id",
    ...(cp10k ? ["LEFT JOIN totals t ON t.cell_integer_id = g.cell_integer_id"] : []),
  ].join("\n");
}

/** Dot plot, heatmap or violin of the chosen genes by group, as notebook cells; names unique against `taken`. */
export function groupPlotCells(
  ctx: SqlContext,
  groupBy: MarkersGroupBy,
  genes: SqlGene[],
  kind: GroupPlotKind,
  taken: Iterable<string>,
  opts: { zscore?: boolean; gene?: SqlGene } = {},
): NewCell[] {
  const name = namer(taken);
  const by = groupBy.kind === "column" ? groupBy.column : "cell set";
  const gc = groupBy.kind === "column" ? groupBy.column : "cell_set";
  const label = genes.map((g) => g.symbol).join(", ");
  if (kind === "violin") {
    const gene = opts.gene ?? genes[0];
    if (!gene) return [];
    const n = name(gene.symbol, "by", gc);
    const v = ident(gene.symbol);
    return [
      { kind: "markdown", text: `## ${gene.symbol} by ${by}\n\nEvery cell of each group, ${NORM_NOTE[ctx.normalization]}.` },
      { kind: "sql", name: n, text: geneByCellSql(ctx, groupBy, gene) },
      { kind: "plot", source: n, spec: { mark: "dot", x: gc, y: gene.symbol, tip: true, title: `${gene.symbol} by ${by}` } },
      {
        kind: "sql",
        name: name(gene.symbol, "quartiles", gc),
        text: [
          `SELECT ${ident(gc)}, COUNT(*) AS n_cells, MIN(${v}) AS min, quantile_cont(${v}, 0.25) AS q1, median(${v}) AS median,`,
          `  quantile_cont(${v}, 0.75) AS q3, MAX(${v}) AS max, AVG(${v}) AS mean`,
          `FROM ${n}`,
          `GROUP BY ${ident(gc)}`,
          `ORDER BY ${ident(gc)}`,
        ].join("\n"),
      },
    ];
  }
  if (!genes.length) return [];
  const n = name(kind === "dot" ? "dotplot" : "heatmap", gc);
  const sql = groupSummarySql(ctx, groupBy, genes);
  if (kind === "dot")
    return [
      {
        kind: "markdown",
        text: `## Dot plot of ${label} by ${by}\n\nColour: mean of ${NORM_NOTE[ctx.normalization]}; size: fraction of the group's cells expressing (value > 0), as scanpy's dot plot.`,
      },
      { kind: "sql", name: n, text: sql },
      { kind: "plot", source: n, spec: { mark: "dot", x: gc, y: "gene", fill: "mean", r: "frac_expressing", tip: true, title: `${label} by ${by}` } },
    ];
  const fill = opts.zscore ? "mean_z" : "mean";
  return [
    {
      kind: "markdown",
      text: `## Heatmap of ${label} by ${by}\n\nMean of ${NORM_NOTE[ctx.normalization]}${opts.zscore ? ", z-scored per gene across groups (mean_z)" : ""}.`,
    },
    { kind: "sql", name: n, text: sql },
    {
      kind: "plot",
      source: n,
      spec: { mark: "rect", x: gc, y: "gene", fill, tip: true, title: `Mean ${opts.zscore ? "(z-score) " : ""}of ${label} by ${by}` },
    },
  ];
}

/** A comparison's two sides as (cell_integer_id, side) rows; a cell in two overlapping sets is on both. */
export function sidesSql(ctx: SqlContext, c: Exclude<MarkersComparison, { kind: "all" }>): string {
  if (c.kind === "column") {
    const numeric = ctx.numericColumns.includes(c.column);
    const col = ident(c.column);
    const inGroup = matchGroup(col, c.group, numeric);
    if (c.reference.kind === "rest") return `SELECT cell_integer_id, CASE WHEN ${inGroup} THEN 'group' ELSE 'reference' END AS side FROM cells`;
    const inRef = matchGroup(col, c.reference.name, numeric);
    return `SELECT cell_integer_id, CASE WHEN ${inGroup} THEN 'group' ELSE 'reference' END AS side FROM cells\n  WHERE ${inGroup} OR ${inRef}`;
  }
  const members = (set: string) => `SELECT cell_integer_id FROM cell_sets WHERE set_name = ${stringLiteral(set)}`;
  if (c.reference.kind === "rest")
    return `SELECT cell_integer_id, CASE WHEN cell_integer_id IN (${members(c.group)}) THEN 'group' ELSE 'reference' END AS side FROM cells`;
  const ref = c.reference.name ?? "";
  return `SELECT cell_integer_id, 'group' AS side FROM cell_sets WHERE set_name = ${stringLiteral(c.group)}\n  UNION ALL\n  SELECT cell_integer_id, 'reference' AS side FROM cell_sets WHERE set_name = ${stringLiteral(ref)}`;
}

/**
 * scanpy's rank_genes_groups(method="t-test") in SQL: per gene and side the mean and variance (ddof 1) of the
 * normalized values over every cell, Welch's t as the score and log2 fold change of expm1 means; top `top` genes.
 */
export function markersTableSql(ctx: SqlContext, c: Exclude<MarkersComparison, { kind: "all" }>, top: number): string {
  const cp10k = ctx.normalization === "log1p_cp10k";
  const symbol = ctx.symbolColumn && ctx.symbolColumn !== "gene_id" ? `g.${ident(ctx.symbolColumn)} AS symbol, ` : "";
  const side = (s: "group" | "reference") => [
    `    COALESCE(x.s_${s}, 0) / n.n_${s} AS mean_${s}`,
    `    (COALESCE(x.ss_${s}, 0) / n.n_${s} - POW(COALESCE(x.s_${s}, 0) / n.n_${s}, 2)) * n.n_${s} / (n.n_${s} - 1) AS var_${s}`,
    `    COALESCE(x.nz_${s}, 0) / n.n_${s} AS pct_${s}`,
  ];
  const sums = (s: "group" | "reference") => [
    `    SUM(e.y) FILTER (WHERE s.side = '${s}') AS s_${s}`,
    `    SUM(e.y * e.y) FILTER (WHERE s.side = '${s}') AS ss_${s}`,
    `    COUNT(*) FILTER (WHERE s.side = '${s}' AND e.value > 0) AS nz_${s}`,
  ];
  const list = (lines: string[]) => lines.join(",\n");
  return [
    `-- Marker genes as scanpy's rank_genes_groups(method="t-test"): ${NORM_NOTE[ctx.normalization]};`,
    "-- per gene and side the mean and variance (ddof 1) over every cell, zeros included; score = Welch's t;",
    "-- logfoldchange = log2((expm1(mean_group) + 1e-9) / (expm1(mean_reference) + 1e-9)); a NaN score counts as 0.",
    "-- p-values (two-sided, Student's t with Welch–Satterthwaite df) and Benjamini–Hochberg adjusted p-values come",
    "-- from the Markers panel or the CLI (slaf-workbench markers): SQL has no t distribution.",
    "WITH " +
      [
        ...(cp10k ? [TOTALS] : []),
        `sides AS (\n  ${sidesSql(ctx, c)}\n)`,
        "n AS (\n  SELECT COUNT(*) FILTER (WHERE side = 'group') AS n_group, COUNT(*) FILTER (WHERE side = 'reference') AS n_reference FROM sides\n)",
        [
          "sums AS (",
          "  SELECT e.gene_integer_id,",
          list([...sums("group"), ...sums("reference")]),
          `  FROM (SELECT e.gene_integer_id, e.cell_integer_id, e.value, ${normalized(ctx, "e", "t")} AS y FROM expression e${
            cp10k ? " JOIN totals t ON t.cell_integer_id = e.cell_integer_id" : ""
          }) e`,
          "  JOIN sides s ON s.cell_integer_id = e.cell_integer_id",
          "  GROUP BY e.gene_integer_id",
          ")",
        ].join("\n"),
        [
          "stats AS (",
          `  SELECT g.gene_integer_id, g.gene_id, ${symbol}n.n_group, n.n_reference,`,
          list([...side("group"), ...side("reference")]),
          "  FROM genes g CROSS JOIN n LEFT JOIN sums x ON x.gene_integer_id = g.gene_integer_id",
          ")",
        ].join("\n"),
        "welch AS (\n  SELECT *, (mean_group - mean_reference) / SQRT(var_group / n_group + var_reference / n_reference) AS t FROM stats\n)",
        [
          "scored AS (",
          "  SELECT *,",
          "    CASE WHEN t IS NULL OR isnan(t) THEN 0 ELSE t END AS score,",
          "    LOG2((EXP(mean_group) - 1 + 1e-9) / (EXP(mean_reference) - 1 + 1e-9)) AS logfoldchange",
          "  FROM welch",
          ")",
        ].join("\n"),
      ].join(",\n"),
    `SELECT ROW_NUMBER() OVER (ORDER BY score DESC, gene_integer_id) AS rank, gene_id, ${symbol ? "symbol, " : ""}score, logfoldchange,`,
    "  pct_group, pct_reference, mean_group, mean_reference, var_group, var_reference",
    "FROM scored",
    "ORDER BY rank",
    `LIMIT ${Math.max(1, Math.floor(top))}`,
  ].join("\n");
}

/** The markers table of one comparison as notebook cells: the SQL and a bar plot of the top scores. */
export function markersTableCells(
  ctx: SqlContext,
  c: Exclude<MarkersComparison, { kind: "all" }>,
  names: { group: string | null; reference: string | null },
  top: number,
  taken: Iterable<string>,
): NewCell[] {
  const name = namer(taken);
  const g = groupLabel(names.group);
  const r = names.reference === null ? "(null)" : names.reference;
  const n = name("markers", g, "vs", r);
  const hasSymbol = !!ctx.symbolColumn && ctx.symbolColumn !== "gene_id";
  return [
    {
      kind: "markdown",
      text: `## Marker genes of ${g} vs ${r}\n\nThe t-test of scanpy's \`rank_genes_groups\` step by step in SQL (top ${top} by score). P-values and adjusted p-values are in the Markers panel and \`slaf-workbench markers\`.`,
    },
    { kind: "sql", name: n, text: markersTableSql(ctx, c, top) },
    {
      kind: "plot",
      source: n,
      spec: { mark: "bar", x: hasSymbol ? "symbol" : "gene_id", y: "score", tip: true, title: `Top markers of ${g} vs ${r} (Welch's t)` },
    },
  ];
}
