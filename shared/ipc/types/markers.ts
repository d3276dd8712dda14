import type { Result } from "../../result";

/**
 * Marker genes (issue 14): differential expression between groups of cells, with scanpy's numbers, and the per
 * group summaries behind dot plots, violins and heatmaps. Computed in main by streaming `expression` once per
 * request (id-range pushdown for the cells involved); memory grows with genes × groups, never with cells.
 *
 * Method (scanpy `rank_genes_groups(method="t-test")` after `normalize_total(target_sum=1e4)` + `log1p`):
 * - y = ln(1 + x / total(cell) × 10,000), total(cell) = the sum of the cell's stored values; cells without stored
 *   values have y = 0 everywhere (as scanpy: normalize_total leaves an all-zero row at 0).
 * - Per gene and side: mean and variance (ddof 1, as scanpy's `_get_mean_var`: (mean(y²) − mean(y)²) × n/(n−1))
 *   over every cell of the side, zeros included.
 * - score = Welch's t (scipy `ttest_ind_from_stats(equal_var=False)`); pval two-sided from Student's t with
 *   Welch–Satterthwaite df; a NaN score counts as 0 and a NaN p-value as 1; pvalAdj = Benjamini–Hochberg over all
 *   genes of the comparison (capped at 1, monotone).
 * - logfoldchange = log2((expm1(meanGroup) + 1e-9) / (expm1(meanReference) + 1e-9)).
 * - pctGroup / pctReference: fraction of the side's cells with a stored value > 0.
 * - Ranking: by score, highest first; ties by gene_integer_id ascending.
 *
 * Normalization "auto" applies log1p(CP10k) when the values are counts (an integer value column, or a float column
 * whose every value is a non-negative integer) and none otherwise ("none": the stored values are taken as already
 * log-normalized, and `normalizationNote` says so, for the UI's notice).
 */

export type MarkersNormalization = "auto" | "log1p_cp10k" | "none";
/** What was applied. */
export type MarkersApplied = "log1p_cp10k" | "none";

/**
 * A group of a cells column is named by its value as text (ExploreCategory.value: numbers as JavaScript prints
 * them, booleans true/false) or null for the null value; a set by its name.
 */
export type MarkersReference =
  /** Every cell not in the group. */
  | { kind: "rest" }
  /** One other category of the column, or another set (which may overlap the group; null is only a category). */
  | { kind: "group"; name: string | null };

export type MarkersComparison =
  /** One category of a cells column vs the rest or vs one other category. */
  | { kind: "column"; column: string; group: string | null; reference: MarkersReference }
  /** Every category of a column vs the rest, at once (rank_genes_groups with groupby, groups="all"). */
  | { kind: "all"; column: string }
  /** A cell set (explore.defineSet) vs the rest or vs another set. */
  | { kind: "sets"; group: string; reference: MarkersReference };

/** The most genes one byGroup request may ask for. */
export const MARKERS_MAX_GENES = 200;
/** The most rows one table page carries. */
export const MARKERS_MAX_PAGE = 1000;

export interface MarkersGene {
  geneIntegerId: number;
  /** The genes table's gene_id. */
  geneId: string;
  /** The symbol column (as explore's symbolColumn), or gene_id. */
  symbol: string;
  /** 1-based rank by score within the comparison (before filters). */
  rank: number;
  score: number;
  logfoldchange: number;
  pval: number;
  pvalAdj: number;
  pctGroup: number;
  pctReference: number;
  /** Mean of the (normalized) values over the side's cells, zeros included. */
  meanGroup: number;
  meanReference: number;
}

/** One comparison of a run: a group against its reference. */
export interface MarkersGroup {
  /** The group's name: the category text (null for the null value) or the set name. */
  group: string | null;
  /** The reference's name: "rest", a category text (or null) or a set name. */
  reference: string | null;
  /** True when the reference is every cell not in the group. */
  vsRest: boolean;
  cellsGroup: number;
  cellsReference: number;
}

/** What a markers job yields (jobs of kind "markers"); then read it with table / volcano / topPerGroup. */
export interface MarkersRun {
  markersId: string;
  datasetId: string;
  comparison: MarkersComparison;
  normalization: MarkersApplied;
  /** A sentence for the UI: what was applied and why (e.g. values already look normalized). */
  normalizationNote: string;
  /** One entry for "column" and "sets", one per category for "all" (natural order, null last). */
  groups: MarkersGroup[];
  genes: number;
  /** Expression rows read. */
  rows: number;
  ms: number;
}

export interface MarkersFilter {
  /** Keep genes with |logfoldchange| ≥ this. */
  minAbsLogfc?: number;
  /** Keep genes with pvalAdj ≤ this. */
  maxPvalAdj?: number;
  /** Keep genes with pctGroup ≥ this (0–1). */
  minPctGroup?: number;
  /** "up": score > 0 only; "down": score < 0 only, ranked lowest first; "both" (default): by score. */
  direction?: "up" | "down" | "both";
  /** Case-insensitive substring of symbol or gene_id. */
  search?: string;
}

export interface MarkersTablePage {
  markersId: string;
  group: MarkersGroup;
  /** Genes passing the filter. */
  total: number;
  offset: number;
  rows: MarkersGene[];
}

/**
 * Every gene of one comparison for a volcano plot, as Arrow IPC (stream, one batch): `gene_integer_id` Int32,
 * `symbol` Utf8, `logfoldchange` Float32, `neg_log10_pval_adj` Float32 (−log10 of pvalAdj, pvalAdj 0 drawn at
 * 300), `score` Float32, `pct_group` Float32; in rank order.
 */
export interface MarkersVolcano {
  markersId: string;
  group: MarkersGroup;
  arrow: Uint8Array;
}

export interface MarkersTopPerGroup {
  markersId: string;
  groups: { group: MarkersGroup; genes: MarkersGene[] }[];
}

/** Groups for byGroup: every category of a cells column, or the listed sets (a cell may be in several). */
export type MarkersGroupBy = { kind: "column"; column: string } | { kind: "sets"; sets: string[] };

/** One gene in one group, over the group's cells, of the (normalized) values. */
export interface MarkersGeneInGroup {
  /** Mean over every cell of the group, zeros included (scanpy's dot plot colour). */
  mean: number;
  /** Fraction of the group's cells with a value > 0 (the dot size). */
  fracExpressing: number;
  /** Mean over the expressing cells only (0 when none). */
  meanExpressing: number;
  /** Distribution over every cell of the group, zeros included: min, quartiles (linear interpolation, as numpy), max. */
  min: number;
  q1: number;
  median: number;
  q3: number;
  max: number;
  /**
   * Histogram for violins: `bins` counts of cells over [0, MarkersByGroup.genes[k].max] split evenly (values
   * equal to the upper edge in the last bin); cells with value 0 are in the first bin.
   */
  histogram: number[];
}

export interface MarkersByGroup {
  byGroupId: string;
  datasetId: string;
  groupBy: MarkersGroupBy;
  normalization: MarkersApplied;
  normalizationNote: string;
  groups: { group: string | null; cells: number }[];
  genes: { geneIntegerId: number; geneId: string; symbol: string; max: number }[];
  bins: number;
  /** values[g][k]: gene g (order of `genes`), group k (order of `groups`). */
  values: MarkersGeneInGroup[][];
  rows: number;
  ms: number;
}

/** What a job of kind "markers" yields. */
export type MarkersJobResult = ({ task: "rank" } & MarkersRun) | { task: "byGroup"; byGroupId: string; datasetId: string; rows: number; ms: number };

export interface MarkersApi {
  /**
   * Starts differential expression (a job of kind "markers", task "rank"). MARKERS_INVALID names what is wrong:
   * an unknown column or set, a group or reference with no cells, a column with more than EXPLORE_MAX_CATEGORIES
   * categories, a float column for "all"... The run is kept in memory per dataset (the newest few) until the
   * dataset closes.
   */
  start(req: { datasetId: string; comparison: MarkersComparison; normalization?: MarkersNormalization }): Promise<Result<{ jobId: string }>>;
  /**
   * One page of one comparison's genes, ranked (`group`: which comparison of an "all" run, by its name; omitted for
   * the single comparison of "column" and "sets"). limit ≤ MARKERS_MAX_PAGE. MARKERS_NOT_FOUND when the run is
   * gone, MARKERS_INVALID for a group the run does not have.
   */
  table(req: { markersId: string; group?: string | null; filter?: MarkersFilter; offset?: number; limit?: number }): Promise<Result<MarkersTablePage>>;
  volcano(req: { markersId: string; group?: string | null }): Promise<Result<MarkersVolcano>>;
  /** The top `n` (≤ 100) genes of every comparison of a run, after `filter`. */
  topPerGroup(req: { markersId: string; n: number; filter?: MarkersFilter }): Promise<Result<MarkersTopPerGroup>>;
  /**
   * Starts the per group summaries of chosen genes (≤ MARKERS_MAX_GENES; a job of kind "markers", task
   * "byGroup"): one pass over expression with the genes pushed down. `bins` (default 32, 4–256) for histograms.
   */
  byGroup(req: {
    datasetId: string;
    groupBy: MarkersGroupBy;
    geneIntegerIds: number[];
    normalization?: MarkersNormalization;
    bins?: number;
  }): Promise<Result<{ jobId: string }>>;
  byGroupData(req: { byGroupId: string }): Promise<Result<MarkersByGroup>>;
  /** Drops a run or byGroup result (no-op when gone). */
  release(req: { id: string }): Promise<Result<null>>;
}
