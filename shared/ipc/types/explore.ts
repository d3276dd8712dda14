import type { Result } from "../../result";

/**
 * The Explore view (issue 13): every cell of an embedding drawn in the renderer, coloured by a cells column or by
 * one gene, cell sets, QC. Main reads and caches; the renderer draws.
 *
 * Conventions for every per-cell array below:
 * - It crosses as Arrow IPC (stream format, one record batch, no JSON rows) and is indexed by `cell_integer_id`
 *   (row k is the cell whose cell_integer_id is k, 0 ≤ k < nCells). SLAF writes cell_integer_id = the row position
 *   in `cells`, so points pages (in the cells table's order) line up with codes and gene values directly; a dataset
 *   where cell_integer_id is not 0..nCells-1 in order is EXPLORE_DATASET_UNSUPPORTED.
 * - Cell ids in sets cross as packed little-endian Int32 bytes (`Uint8Array`, 4 bytes per id), sorted ascending,
 *   no repeats (`cellIdsToBytes` / `cellIdsFromBytes` in shared/notebook/cell-sets.ts).
 * - Tooltips: the cell's metadata is `datasets.readRows({table: "cells", offset: cellIntegerId, limit: 1})`.
 *
 * Long work (the expression pass behind gene cell counts and log1p(CP10k), QC) runs as jobs of kind "explore"
 * whose result is an ExploreJobResult; its data is then fetched with the method named there.
 */

/** A `FixedSizeList<float>` column of `cells` (obsm: X_umap, X_tsne, X_pca, ...). */
export interface ExploreEmbedding {
  name: string;
  /** Floats per cell (list size); any two distinct dims can be drawn. */
  dims: number;
}

export type ExploreColumnKind = "categorical" | "continuous";

/** A cells column a view can be coloured by. */
export interface ExploreColumn {
  name: string;
  /** Arrow type as Arrow prints it (Utf8, Float64, Int64, Bool, Dictionary<...>), for people to read. */
  type: string;
  /**
   * How it is drawn by default: strings, booleans, dictionaries and integers are categorical, floats continuous
   * (pass `as: "categorical"` to `colors` for float cluster labels). An integer column with more than
   * EXPLORE_MAX_CATEGORIES distinct values comes back from `colors` as continuous (the answer's `kind` says).
   */
  kind: ExploreColumnKind;
  /** Distinct values (nulls counted as one value) once the column has been coloured by as categories, else null. */
  categories: number | null;
}

/** The most categories a categorical colouring carries (more: EXPLORE_COLUMN_INVALID, colour it as continuous). */
export const EXPLORE_MAX_CATEGORIES = 1000;
/** The most points one `points` page carries. */
export const EXPLORE_MAX_POINTS_PAGE = 1_048_576;
/** The most cell ids one request may send (64 MiB of Int32). */
export const EXPLORE_MAX_IDS = 16 * 1024 * 1024;
/** The most vertices a lasso polygon may have. */
export const EXPLORE_MAX_POLYGON_POINTS = 20_000;

export interface ExploreInfo {
  datasetId: string;
  nCells: number;
  nGenes: number;
  /** Embeddings in table order; empty when the dataset has none (then Explore is not the default view). */
  embeddings: ExploreEmbedding[];
  /** Colourable cells columns (not lists, not binary, not cell_id/cell_integer_id/cell_start_index). */
  columns: ExploreColumn[];
  /** The genes column used as the gene symbol (feature_name, gene_symbols, ..., else gene_id), or null. */
  symbolColumn: string | null;
  /**
   * Where "cells expressing" counts and per-cell totals come from: "genes-table" when the genes table has a count
   * column (n_cells, n_cells_by_counts) — totals still need the pass —, else "pass"; and the pass itself (one
   * streaming read of expression: per-gene cell counts and per-cell totals, cached in memory per open dataset).
   */
  stats: ExploreStatsState;
  geneIndex: ExploreGeneIndexState;
}

/**
 * A local dataset's gene index (a gene-major copy of its expression rows in the app's cache, built in the
 * background when Explore opens a large dataset): "off" for remote and small datasets, "building" with the
 * build's jobId (its progress and end, e.g. DISK_FULL when it would not fit the cache cap, come as that job's
 * events), "ready" (gene reads use it), "failed" (reads stay on the dataset's own table).
 */
export interface ExploreGeneIndexState {
  state: "off" | "building" | "ready" | "failed";
  jobId: string | null;
}

export interface ExploreStatsState {
  geneCounts: "genes-table" | "pass";
  /** "none": not started (searchGenes and log1p_cp10k start it); "running": jobId is the pass; "ready". */
  pass: "none" | "running" | "ready" | "failed";
  jobId: string | null;
}

/** [min, max] of each drawn dim over every cell (NaN coordinates skipped), for placing the first page in the final frame. */
export interface ExploreBounds {
  x: [number, number];
  y: [number, number];
}

/**
 * One page of points: the cells whose cell_integer_id is in [offset, offset + numRows). `arrow`: columns `x`
 * Float32, `y` Float32 (dims[0] and dims[1] of the embedding; NaN when the cell has no coordinates),
 * `cell_integer_id` Int32 (offset, offset + 1, ...).
 */
export interface ExplorePointsPage {
  column: string;
  dims: [number, number];
  offset: number;
  numRows: number;
  totalRows: number;
  bounds: ExploreBounds;
  arrow: Uint8Array;
}

export interface ExploreCategory {
  /** The value as text (numbers printed as JavaScript prints them, booleans true/false); null for a null value. */
  value: string | null;
  cells: number;
}

/**
 * Categorical: `arrow` has one column `code` (Uint16 when there are at most 65,535 categories, else Int32) per
 * cell; code k means `categories[k]`. Categories are in natural order of their values (numbers numerically),
 * null last.
 */
export interface ExploreCategoricalColors {
  kind: "categorical";
  column: string;
  categories: ExploreCategory[];
  arrow: Uint8Array;
}

/**
 * Continuous: `arrow` has one column `value` Float32 per cell (NaN for null). `q01`/`q99` are the 1st and 99th
 * percentiles (nearest rank over non-null values): the default colour scale clips to them so outliers do not
 * wash the rest out.
 */
export interface ExploreContinuousColors {
  kind: "continuous";
  column: string;
  min: number;
  max: number;
  q01: number;
  q99: number;
  nulls: number;
  arrow: Uint8Array;
}

export type ExploreColors = ExploreCategoricalColors | ExploreContinuousColors;

export type ExploreGeneMatchKind = "exact" | "prefix" | "substring" | "fuzzy";

export interface ExploreGeneMatch {
  geneIntegerId: number;
  /** The genes table's gene_id (var_names). */
  geneId: string;
  /** The symbol (symbolColumn), or gene_id when there is no other symbol column. */
  symbol: string;
  match: ExploreGeneMatchKind;
  /** What matched: the symbol or the gene_id. */
  on: "symbol" | "id";
  /** Edit distance for fuzzy matches (0 otherwise). */
  distance: number;
  /** Cells with a stored value > 0 for this gene; null until the counting pass has run (see ExploreInfo.stats). */
  nCells: number | null;
}

/**
 * Ranked: exact, then prefix, then substring, then fuzzy (Levenshtein distance ≤ 1 for queries of 3–5
 * characters, ≤ 2 from 6 on; none below 3), on the symbol or the gene_id, case-insensitive; within a rank, fuzzy
 * by distance, then more expressing cells, then shorter symbols, then alphabetical.
 */
export interface ExploreGeneSearch {
  query: string;
  matches: ExploreGeneMatch[];
  stats: ExploreStatsState;
}

export type ExploreTransform = "raw" | "log1p_cp10k";

/**
 * One gene's value per cell: `arrow` has one column `value` Float32 indexed by cell_integer_id, 0 for cells with
 * no stored value. raw = the stored value; log1p_cp10k = ln(1 + value / total(cell) × 10,000), where total is the
 * sum of the cell's stored values (from the counting pass). Read from Lance with `gene_integer_id = <id>` pushed
 * down; repeated reads of the same gene come from a small per-dataset cache (`cached: true`).
 */
export interface ExploreGeneValues {
  geneIntegerId: number;
  symbol: string;
  transform: ExploreTransform;
  /** Cells with a stored value > 0. */
  nExpressing: number;
  /** Over expressing cells, after the transform (0 when none). */
  min: number;
  max: number;
  /** 99th percentile over expressing cells, for the colour scale. */
  q99: number;
  arrow: Uint8Array;
  cached: boolean;
  /** What the read took from Lance: expression rows matched, and Arrow bytes delivered (0 when cached). */
  rowsRead: number;
  bytesRead: number;
  ms: number;
}

/** Returned instead of values when log1p_cp10k needs the per-cell totals and the counting pass is still running: wait for jobId, then ask again. */
export interface ExplorePending {
  pending: true;
  jobId: string;
}

/** How a cell set is defined. Results: sorted unique cell_integer_ids. */
export type CellSetSource =
  /** Packed Int32 LE cell_integer_ids (any order; repeats dropped); every id must be in [0, nCells). */
  | { kind: "ids"; ids: Uint8Array }
  /** A query result (query.start's resultId) with a `cell_integer_id` column. */
  | { kind: "result"; resultId: string }
  /** Cells whose `column` equals one of `values` (as ExploreCategory.value: text, null for null). */
  | { kind: "category"; column: string; values: (string | null)[] }
  /**
   * Cells whose point (embedding `column`, dims) lies inside the polygon (embedding coordinates, flat
   * [x0, y0, x1, y1, ...], at least 3 vertices, closed implicitly). Even-odd rule, exact in float64 on the
   * stored Float32 coordinates; points on an edge are decided by the half-open crossing rule (the same as the SQL
   * in the e2e test). NaN points are never inside.
   */
  | { kind: "polygon"; column: string; dims: [number, number]; polygon: number[] }
  /** Set algebra over existing sets of the dataset: union/intersection of all, difference = first minus the rest. */
  | { kind: "algebra"; op: "union" | "intersection" | "difference"; sets: string[] };

export interface CellSetInfo {
  name: string;
  size: number;
  /** Changes whenever the set is (re)defined; lets a page give back only what it defined (see sessions.ts). */
  version: number;
}

/** A set's members: packed Int32 LE cell_integer_ids, sorted. */
export interface CellSetMembers extends CellSetInfo {
  ids: Uint8Array;
}

/**
 * QC per cell, for histograms: `arrow` columns `cell_integer_id` Int32, `n_genes` Int32 (stored values > 0),
 * `total_counts` Float32, `pct_mito` Float32 (100 × counts of genes whose symbol starts with MT- or mt- / total; 0
 * when total is 0), one row per cell of the dataset or of the set, ascending cell_integer_id. Computed by `sql`
 * through the notebook's query engine (the same text a "send to notebook" cell would hold).
 */
export interface ExploreQc {
  datasetId: string;
  set: string | null;
  sql: string;
  cells: number;
  /** Genes whose symbol starts with MT-/mt-. */
  mitoGenes: number;
  arrow: Uint8Array;
}

/** What an explore job yields (jobs of kind "explore"). */
export type ExploreJobResult =
  /** The expression pass: per-gene cell counts and per-cell totals are now cached for the dataset. */
  | { task: "stats"; datasetId: string; rows: number; ms: number }
  /** QC computed; fetch it with `qcData({datasetId, set})`. */
  | { task: "qc"; datasetId: string; set: string | null; cells: number; ms: number }
  /** A local dataset's gene index (a gene-major copy of its expression rows, kept in the app's cache) is built; gene reads use it. */
  | { task: "index"; datasetId: string; bytes: number; ms: number };

export interface ExploreApi {
  /** Embeddings, colourable columns and counts of an open dataset (reads the cells schema, counts categories once). */
  info(req: { datasetId: string }): Promise<Result<ExploreInfo>>;
  /**
   * Points of an embedding, paged for progressive drawing (limit ≤ EXPLORE_MAX_POINTS_PAGE). The embedding's two
   * dims are read once and cached per dataset, so later pages and other requests for them are memory reads.
   * EXPLORE_COLUMN_INVALID for a column that is not an embedding or dims out of range.
   */
  points(req: { datasetId: string; column: string; dims: [number, number]; offset: number; limit: number }): Promise<Result<ExplorePointsPage>>;
  /** Colours by a cells column; `as` overrides the column's default kind. Cached per dataset and column. */
  colors(req: { datasetId: string; column: string; as?: ExploreColumnKind }): Promise<Result<ExploreColors>>;
  /**
   * Genes matching `query` (symbol or gene_id), best first, at most `limit` (default 20, at most 200). On a local
   * dataset without a stored count column, the first search starts the counting pass (nCells is null until it
   * ends; `stats` says so); remote datasets count only when `stats` is called (it reads all of `expression`).
   */
  searchGenes(req: { datasetId: string; query: string; limit?: number }): Promise<Result<ExploreGeneSearch>>;
  /**
   * One gene's values per cell. `requestKey` (letters, digits, _ and -; e.g. one per panel and slot): a newer
   * request with the same key cancels an older one still reading, which then answers EXPLORE_CANCELLED; `cancel`
   * does the same without a new request. EXPLORE_GENE_NOT_FOUND for an id outside the genes table.
   * log1p_cp10k before the counting pass has run: ExplorePending on a local dataset (the pass is started), and
   * EXPLORE_NOT_READY on a remote one until `stats` is called.
   */
  gene(req: {
    datasetId: string;
    geneIntegerId: number;
    transform: ExploreTransform;
    requestKey?: string;
  }): Promise<Result<ExploreGeneValues | ExplorePending>>;
  /** Cancels the read running under `requestKey` (no-op when none). */
  cancel(req: { requestKey: string }): Promise<Result<null>>;
  /**
   * Starts (or returns the running or finished) counting pass over expression: per-gene cells expressing and
   * per-cell totals. A job of kind "explore" (task "stats"); searchGenes and log1p_cp10k start it when needed.
   */
  stats(req: { datasetId: string }): Promise<Result<{ jobId: string }>>;

  /**
   * Defines a set named `name` (1–128 characters, no control characters). An existing name is
   * EXPLORE_SET_EXISTS unless `replace`. The query engine sees every set of the dataset as the table
   * `cell_sets(set_name VARCHAR, cell_integer_id BIGINT)`.
   *
   * Restoring sets saved in a notebook: on open, the renderer reads them with `cellSetsOf(notebook)`
   * (shared/notebook/cell-sets.ts) and calls `defineSet({datasetId, name, from: {kind: "ids", ids}, replace:
   * true})` for each; on save it calls `getSet` for each set and writes them with `withCellSets(notebook, sets)`.
   * Sets are held per page: when the page goes, the sets it defined are dropped (the notebook holds them).
   */
  defineSet(req: { datasetId: string; name: string; from: CellSetSource; replace?: boolean }): Promise<Result<CellSetInfo>>;
  /** Every set of the dataset, in definition order. */
  listSets(req: { datasetId: string }): Promise<Result<CellSetInfo[]>>;
  getSet(req: { datasetId: string; name: string }): Promise<Result<CellSetMembers>>;
  /** EXPLORE_SET_EXISTS when `newName` is taken (unless it is the same set). */
  renameSet(req: { datasetId: string; name: string; newName: string }): Promise<Result<CellSetInfo>>;
  deleteSet(req: { datasetId: string; name: string }): Promise<Result<null>>;
  /**
   * Writes the set as CSV (header `cell_id`, one cell_id per line, ascending cell_integer_id) to `path`
   * (absolute). An existing file is replaced only with `overwrite: true`, else EXPORT_TARGET_EXISTS (ask, then
   * call again); never inside a dataset.
   */
  exportSetCsv(req: { datasetId: string; name: string; path: string; overwrite?: boolean }): Promise<Result<{ path: string; bytes: number; cells: number }>>;
  /**
   * Defines a set from a CSV of cell_ids: the column named `cell_id` (else the first column), header required.
   * Ids not in the dataset are counted in `unknown` (with a few in `unknownExamples`); a file with none known is
   * EXPLORE_IMPORT_INVALID.
   */
  importSetCsv(req: {
    datasetId: string;
    name: string;
    path: string;
    replace?: boolean;
  }): Promise<Result<CellSetInfo & { unknown: number; unknownExamples: string[] }>>;

  /**
   * Starts QC for the whole dataset (`set` null) or one set: a job of kind "explore" (task "qc"), then
   * `qcData`. `sql` is the query it runs (for "send to notebook"; it reads `cell_sets` when `set` is given).
   */
  qc(req: { datasetId: string; set?: string | null }): Promise<Result<{ jobId: string; sql: string }>>;
  /** The latest QC computed for the dataset and set; EXPLORE_NOT_READY before its job finished (or after the set changed). */
  qcData(req: { datasetId: string; set?: string | null }): Promise<Result<ExploreQc>>;
}
