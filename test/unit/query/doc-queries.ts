/**
 * Every query of slaf-format.md §3.2 that is valid on the PBMC fixture's columns. Adaptations to the fixture:
 * total_counts → nCount_RNA, gene_count → nFeature_RNA, batch → seurat_clusters, donor → orig_ident,
 * cytokine → seurat_clusters, gene_type → highly_variable, 'T cells' → 'CD8 T', CD3G → CD8A, `e.value > 10` → `> 5`
 * (CD3D never exceeds 10 in these 160 cells), ROW_NUMBER gets tie-breakers so its answer is deterministic.
 * The README's `COUNT(e.gene_id)` forms are not valid on default SLAF tables (expression has integer ids only).
 */
const T = "c.cell_integer_id = e.cell_integer_id";
const G = "e.gene_integer_id = g.gene_integer_id";

export const DOC_QUERIES: Record<string, string> = {
  total_cells: "SELECT COUNT(*) as total_cells FROM cells;",
  counts_by_type:
    "SELECT cell_type, COUNT(*) as cell_count, AVG(nCount_RNA) as avg_counts\nFROM cells WHERE nCount_RNA > 500 GROUP BY cell_type ORDER BY avg_counts DESC;",
  type_by_gene_type: `SELECT c.cell_type, g.highly_variable, AVG(e.value) as avg_expression
FROM cells c
JOIN expression e ON ${T}
JOIN genes g ON ${G}
WHERE c.cell_type = 'CD8 T' GROUP BY c.cell_type, g.highly_variable;`,
  readme_batch: "SELECT seurat_clusters, COUNT(*) as count FROM cells GROUP BY seurat_clusters ORDER BY count DESC",
  cells_in_batch: "SELECT cell_id, cell_type, nCount_RNA FROM cells WHERE seurat_clusters = '1' LIMIT 10;",
  t_cell_markers: `SELECT c.cell_id, c.cell_type, g.gene_id, e.value
FROM cells c JOIN expression e ON ${T}
JOIN genes g ON ${G}
WHERE g.gene_id IN ('CD3D', 'CD3E', 'CD8A') AND c.cell_type = 'CD8 T';`,
  stats_by_type: `SELECT cell_type, COUNT(*) as cell_count, AVG(nCount_RNA) as avg_counts,
       STDDEV(nCount_RNA) as std_counts FROM cells GROUP BY cell_type ORDER BY cell_count DESC;`,
  gene_stats: `SELECT g.gene_id, COUNT(e.value) as expressed_cells, AVG(e.value) as mean_expression,
       MAX(e.value) as max_expression
FROM genes g JOIN expression e ON g.gene_integer_id = e.gene_integer_id
GROUP BY g.gene_id HAVING expressed_cells > 100 ORDER BY mean_expression DESC;`,
  cells_expressing: `SELECT DISTINCT c.cell_id, c.cell_type FROM cells c WHERE c.cell_integer_id IN (
  SELECT e.cell_integer_id FROM expression e JOIN genes g ON ${G}
  WHERE g.gene_id = 'CD3D' AND e.value > 5);`,
  rank_in_type: `SELECT c.cell_type, g.gene_id, e.value,
       RANK() OVER (PARTITION BY c.cell_type ORDER BY e.value DESC) as rank_in_cell_type
FROM cells c JOIN expression e ON ${T}
JOIN genes g ON ${G};`,
  cte: `WITH cell_stats AS (
  SELECT cell_type, AVG(nCount_RNA) AS avg_counts FROM cells GROUP BY cell_type
), high_expression_genes AS (
  SELECT e.cell_integer_id, e.gene_integer_id, e.value FROM expression e WHERE e.value > 5
)
SELECT cs.cell_type, cs.avg_counts, COUNT(*) AS n_high, COUNT(DISTINCT h.gene_integer_id) AS n_genes
FROM high_expression_genes h
JOIN cells c ON h.cell_integer_id = c.cell_integer_id
JOIN cell_stats cs ON c.cell_type = cs.cell_type
GROUP BY cs.cell_type, cs.avg_counts;`,
  cell_range: `SELECT c.cell_id, g.gene_id, e.value FROM expression e
JOIN cells c ON e.cell_integer_id = c.cell_integer_id
JOIN genes g ON e.gene_integer_id = g.gene_integer_id
WHERE e.cell_integer_id BETWEEN 0 AND 1000 AND e.value > 0
ORDER BY e.cell_integer_id, e.gene_integer_id;`,
  parse10m_seed: `SELECT seurat_clusters, cell_type, AVG(nFeature_RNA) as avg_gene_count
FROM cells WHERE orig_ident = 'pbmc3k' AND seurat_clusters IN ('1', '2')
GROUP BY seurat_clusters, cell_type ORDER BY seurat_clusters, avg_gene_count DESC`,
  getting_started: `SELECT MIN(value) as min_expr, MAX(value) as max_expr, AVG(value) as avg_expr,
       COUNT(*) as total_records, COUNT(CASE WHEN value > 0 THEN 1 END) as non_zero_records
FROM expression`,
  left_join_hvg: `SELECT g.gene_id, COUNT(e.value) AS n_cells, SUM(e.value) AS total
FROM genes g LEFT JOIN expression e ON g.gene_integer_id = e.gene_integer_id
WHERE g.highly_variable = true GROUP BY g.gene_id`,
  row_number_markers: `SELECT c.cell_type, g.gene_id, e.value,
       ROW_NUMBER() OVER (PARTITION BY c.cell_type ORDER BY e.value DESC, c.cell_integer_id, g.gene_id) AS rn
FROM cells c JOIN expression e ON ${T}
JOIN genes g ON ${G}
WHERE g.gene_id IN ('MS4A1', 'CD3D', 'CD8A')`,
};

/** Queries whose rows must also come back in the same order (ORDER BY over a total order). */
export const ORDERED = new Set(["cell_range", "parse10m_seed", "cells_in_batch"]);
