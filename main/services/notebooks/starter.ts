/** The starter notebook for a dataset: real queries over its tables, richer when it has PBMC-like columns. */
import type { ColumnInfo, DatasetSummary, TableInfo } from "../../../shared/ipc/contract";
import { serializeNotebook } from "../../../shared/notebook/format";
import { insertCell, newCell, type Cell, type Notebook, type PlotSpec } from "../../../shared/notebook/model";
import { readableIdent, stringLiteral } from "../sql-text";

function table(summary: DatasetSummary, name: string): TableInfo | undefined {
  return summary.tables.find((t) => t.name === name);
}

function column(t: TableInfo | undefined, name: string): ColumnInfo | undefined {
  return t?.columns.find((c) => c.name === name);
}

function has(t: TableInfo | undefined, ...names: string[]): boolean {
  return !!t && names.every((n) => column(t, n));
}

/** A 2-wide list of floats (Arrow `FixedSizeList[2]<Float32>`), as written for obsm embeddings. */
function isPairColumn(c: ColumnInfo | undefined): boolean {
  return c?.fixedList?.size === 2 && c.fixedList.item === "float";
}

function fmt(n: number): string {
  return n.toLocaleString("en-US");
}

class Builder {
  nb: Notebook;
  constructor(summary: DatasetSummary) {
    this.nb = { frontmatter: { title: summary.name, dataset: summary.uri, extra: [] }, cells: [] };
  }
  private add(cell: Cell): void {
    this.nb = insertCell(this.nb, cell);
  }
  /** Prose; two pieces in a row make one markdown cell (no separator line in the file). */
  markdown(text: string): void {
    const last = this.nb.cells[this.nb.cells.length - 1];
    if (last?.kind === "markdown") this.nb = { ...this.nb, cells: [...this.nb.cells.slice(0, -1), { ...last, text: `${last.text}\n\n${text}` }] };
    else this.add(newCell(this.nb, "markdown", { text }));
  }
  sql(name: string, text: string): void {
    this.add(newCell(this.nb, "sql", { name, text }));
  }
  plot(source: string, spec: PlotSpec): void {
    this.add(newCell(this.nb, "plot", { source, spec }));
  }
}

function intro(summary: DatasetSummary): string {
  const lines = [`# ${summary.name}`, ""];
  const sizes = summary.tables.map((t) => `\`${t.name}\` (${fmt(t.rows)} rows)`);
  lines.push(`A starter notebook for \`${summary.uri}\`. Its tables: ${sizes.join(", ")}.`);
  lines.push("");
  lines.push("Each SQL cell runs on the dataset; a named cell's result can be used by the plot cells below it. Edit anything: this file is yours.");
  return lines.join("\n");
}

/** Whether the dataset has what the PBMC-style tour needs (cell types). */
function hasCellTypes(summary: DatasetSummary): boolean {
  return has(table(summary, "cells"), "cell_type");
}

function tour(summary: DatasetSummary, b: Builder): void {
  const cells = table(summary, "cells");
  const genes = table(summary, "genes");
  const expression = table(summary, "expression");

  b.markdown("## Cell types\n\nHow many cells of each annotated type:");
  b.sql("cell_types", ["SELECT cell_type, COUNT(*) AS n_cells", "FROM cells", "GROUP BY cell_type", "ORDER BY n_cells DESC"].join("\n"));
  b.plot("cell_types", { mark: "bar", x: "cell_type", y: "n_cells", fill: "cell_type", tip: true, title: "Cells per type" });

  const geneLabel = has(genes, "gene_id") ? "gene_id" : null;
  if (has(expression, "cell_integer_id", "gene_integer_id", "value") && has(cells, "cell_integer_id") && has(genes, "gene_integer_id") && geneLabel) {
    b.markdown(
      "## Top genes per cell type\n\nThe five genes with the highest mean expression in each type (cells without a count for a gene count as zero), ranked with a window function.",
    );
    b.sql(
      "top_genes",
      [
        "WITH type_sizes AS (",
        "  SELECT cell_type, COUNT(*) AS n_cells",
        "  FROM cells",
        "  GROUP BY cell_type",
        "),",
        "gene_totals AS (",
        `  SELECT c.cell_type, g.${geneLabel} AS gene, SUM(e.value) AS total`,
        "  FROM expression e",
        "  JOIN cells c ON c.cell_integer_id = e.cell_integer_id",
        "  JOIN genes g ON g.gene_integer_id = e.gene_integer_id",
        `  GROUP BY c.cell_type, g.${geneLabel}`,
        "),",
        "ranked AS (",
        "  SELECT t.cell_type, t.gene, t.total / s.n_cells AS mean_expression,",
        "         RANK() OVER (PARTITION BY t.cell_type ORDER BY t.total / s.n_cells DESC) AS gene_rank",
        "  FROM gene_totals t",
        "  JOIN type_sizes s ON s.cell_type = t.cell_type",
        ")",
        "SELECT cell_type, gene_rank, gene, ROUND(mean_expression, 3) AS mean_expression",
        "FROM ranked",
        "WHERE gene_rank <= 5",
        "ORDER BY cell_type, gene_rank, gene",
      ].join("\n"),
    );
  }

  const umap = ["X_umap", "X_tsne", "X_pca"].find((n) => isPairColumn(column(cells, n)));
  if (umap) {
    const lower = umap.slice(2).toLowerCase();
    b.markdown(
      `## ${umap.slice(2).toUpperCase()}\n\nThe \`${umap}\` embedding, one dot per cell. DuckDB lists are 1-based: \`${umap}[1]\` is the first coordinate.`,
    );
    b.sql(lower, [`SELECT cell_type, ${readableIdent(umap)}[1] AS ${lower}_1, ${readableIdent(umap)}[2] AS ${lower}_2`, "FROM cells"].join("\n"));
    b.plot(lower, { mark: "dot", x: `${lower}_1`, y: `${lower}_2`, fill: "cell_type", tip: true, title: `${umap.slice(2).toUpperCase()} by cell type` });
  }
}

function generic(summary: DatasetSummary, b: Builder): void {
  if (summary.tables.length) {
    b.markdown("## Tables\n\nRows in each table:");
    b.sql(
      "table_rows",
      summary.tables.map((t) => `SELECT ${stringLiteral(t.name)} AS table_name, COUNT(*) AS n_rows FROM ${readableIdent(t.name)}`).join("\nUNION ALL\n") +
        "\nORDER BY table_name",
    );
  }
  const cells = table(summary, "cells");
  if (cells) {
    b.markdown("## Cells\n\nThe first rows of the `cells` table (one row per cell, its metadata):");
    b.sql("first_cells", "SELECT *\nFROM cells\nLIMIT 20");
  }
  const expression = table(summary, "expression");
  if (has(expression, "cell_integer_id")) {
    b.markdown("## Genes per cell\n\nHow many genes have a count in each cell, from the sparse `expression` table:");
    b.sql("genes_per_cell", "SELECT cell_integer_id, COUNT(*) AS n_genes\nFROM expression\nGROUP BY cell_integer_id");
    b.plot("genes_per_cell", { mark: "histogram", x: "n_genes", tip: true, title: "Genes detected per cell" });
  }
}

/** The starter notebook as a model. */
export function starterNotebook(summary: DatasetSummary): Notebook {
  const b = new Builder(summary);
  b.markdown(intro(summary));
  if (hasCellTypes(summary)) tour(summary, b);
  else generic(summary, b);
  return b.nb;
}

/** The starter notebook as file text. */
export function starterText(summary: DatasetSummary): string {
  return serializeNotebook(starterNotebook(summary));
}
