/** `slaf-workbench markers` output: the issue's JSON document, or aligned tables for people. */
import type { MarkersGene, MarkersGroup, MarkersRun } from "../../shared/ipc/types/markers";

/** One comparison of a run with the genes the command prints. */
export interface MarkersRows {
  group: MarkersGroup;
  /** Genes passing the filter (before --top). */
  total: number;
  genes: MarkersGene[];
}

/** The issue's gene object: exactly these keys, in this order. */
export function geneJson(g: MarkersGene) {
  return {
    gene_id: g.geneId,
    score: g.score,
    logfoldchange: g.logfoldchange,
    pval: g.pval,
    pval_adj: g.pvalAdj,
    pct_group: g.pctGroup,
    pct_reference: g.pctReference,
  };
}

function groupJson(r: MarkersRows) {
  return {
    group: r.group.group,
    reference: r.group.reference,
    cells_group: r.group.cellsGroup,
    cells_reference: r.group.cellsReference,
    genes: r.genes.map(geneJson),
  };
}

/** `{"group", ..., "genes"}` for one comparison, `{"groupby", "normalization", "groups"}` for --all. */
export function markersJson(run: MarkersRun, rows: MarkersRows[]): string {
  const { genes, ...first } = groupJson(rows[0]);
  const doc =
    run.comparison.kind === "all"
      ? { groupby: run.comparison.column, normalization: run.normalization, groups: rows.map(groupJson) }
      : { ...first, normalization: run.normalization, genes };
  // JSON has no NaN or Infinity: JSON.stringify writes them as null.
  return `${JSON.stringify(doc)}\n`;
}

const fmt = (n: number) => n.toLocaleString("en-US");

function fixed(n: number, digits: number): string {
  return Number.isFinite(n) ? n.toFixed(digits) : String(n);
}

function pvalue(p: number): string {
  return p === 0 || !Number.isFinite(p) ? String(p) : p >= 0.001 ? p.toPrecision(3) : p.toExponential(2);
}

const pct = (f: number) => `${(f * 100).toFixed(1)}%`;

function side(name: string | null, cells: number): string {
  return `${name === null ? "null" : JSON.stringify(name)} (${fmt(cells)} cells)`;
}

function heading(column: string, g: MarkersGroup): string {
  return `${column} = ${side(g.group, g.cellsGroup)} vs ${g.vsRest ? `rest (${fmt(g.cellsReference)} cells)` : side(g.reference, g.cellsReference)}`;
}

/** Right-aligned numbers, left-aligned names; the last column is not padded. */
function aligned(lines: string[][], leftColumns: number): string[] {
  const widths = lines[0].map((_, i) => Math.max(...lines.map((l) => l[i].length)));
  return lines.map((l) =>
    l
      .map((c, i) => (i < leftColumns ? c.padEnd(widths[i]) : c.padStart(widths[i])))
      .join("  ")
      .trimEnd(),
  );
}

function genesTable(r: MarkersRows, showIds: boolean): string[] {
  const header = ["rank", "symbol", ...(showIds ? ["gene_id"] : []), "score", "log2FC", "pval", "padj", "pct_group", "pct_ref"];
  const lines = r.genes.map((g) => [
    String(g.rank),
    g.symbol,
    ...(showIds ? [g.geneId] : []),
    fixed(g.score, 2),
    fixed(g.logfoldchange, 2),
    pvalue(g.pval),
    pvalue(g.pvalAdj),
    pct(g.pctGroup),
    pct(g.pctReference),
  ]);
  // Rank is a number but reads best left of the names; names stay left-aligned.
  const [head, ...body] = aligned([header, ...lines], showIds ? 3 : 2).map((l) => `  ${l}`);
  return [head, ...body];
}

export function markersTable(datasetName: string, run: MarkersRun, rows: MarkersRows[]): string {
  const column = run.comparison.kind === "sets" ? "set" : run.comparison.column;
  const showIds = rows.some((r) => r.genes.some((g) => g.geneId !== g.symbol));
  const out = [`${datasetName}: ${fmt(run.genes)} genes, ${fmt(run.rows)} expression rows read in ${fmt(Math.round(run.ms))} ms`, run.normalizationNote];
  for (const r of rows) {
    const shown = r.genes.length < r.total ? `top ${fmt(r.genes.length)} of ${fmt(r.total)} genes` : `${fmt(r.total)} genes`;
    out.push("", `${heading(column, r.group)}: ${shown}`);
    if (r.genes.length > 0) out.push(...genesTable(r, showIds));
  }
  return `${out.join("\n")}\n`;
}
