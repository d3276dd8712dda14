/**
 * What Explore keeps for one open dataset: the cells columns, embeddings' points, colours, the genes table,
 * the counting pass, recent gene reads and QC results. Everything is read on first use and kept until the
 * dataset closes (small LRUs for the large arrays).
 */
import type * as lancedb from "@lancedb/lancedb";
import {
  EXPLORE_MAX_CATEGORIES,
  type ExploreColumnKind,
  type ExploreGeneValues,
  type ExploreQc,
  type ExploreStatsState,
  type ExploreTransform,
} from "../../../shared/ipc/contract";
import type { OpenDataset } from "../datasets/open-dataset";
import { fail } from "../errors";
import { checkCellIds } from "./cell-order";
import { cellsColumns, colourColumnOf, embeddingOf, type CellsColumns } from "./cells-columns";
import { categoricalColours, continuousColours, continuousValues, TooManyCategories, type ColoursRead } from "./colours";
import { readEmbedding, type EmbeddingPoints } from "./embedding";
import type { ExpressionStats } from "./expression-pass";
import type { DatasetGeneIndex } from "./gene-index";
import { genesColumns, readGenesTable, type GenesTable } from "./genes-table";

const MAX_EMBEDDINGS = 4;
const MAX_COLOURS = 16;
const MAX_GENES = 16;

/** A map that forgets its oldest entry past `max` (re-set an entry to mark it used). */
function remember<K, V>(map: Map<K, V>, key: K, value: V, max: number): V {
  map.delete(key);
  map.set(key, value);
  while (map.size > max) map.delete(map.keys().next().value as K);
  return value;
}

/** A cached promise, dropped from the cache if it fails (so the next call tries again). */
function cached<K, V>(map: Map<K, Promise<V>>, key: K, max: number, make: () => Promise<V>): Promise<V> {
  const hit = map.get(key);
  if (hit) return remember(map, key, hit, max);
  const p = make();
  p.catch(() => {
    if (map.get(key) === p) map.delete(key);
  });
  return remember(map, key, p, max);
}

export interface PassState {
  state: "none" | "running" | "ready" | "failed";
  jobId: string | null;
  stats: ExpressionStats | null;
  done: Promise<ExpressionStats> | null;
}

export class ExploreDataset {
  readonly cols: CellsColumns;
  readonly cells: lancedb.Table;
  private checked: Promise<void> | null = null;
  private readonly points = new Map<string, Promise<EmbeddingPoints>>();
  private readonly colourCache = new Map<string, Promise<ColoursRead>>();
  private genes: Promise<GenesTable> | null = null;
  readonly geneValues = new Map<number, Float32Array>();
  /** Finished answers by gene and transform, so a second look is a memory read. */
  private readonly geneAnswers = new Map<string, ExploreGeneValues>();
  readonly pass: PassState = { state: "none", jobId: null, stats: null, done: null };
  /** Local datasets with a cache folder (set by the service). */
  geneIndex: DatasetGeneIndex | null = null;
  /** Latest QC per set ("" = whole dataset), with the set's version when it ran. */
  readonly qc = new Map<string, { version: number | null; data: ExploreQc }>();

  constructor(readonly ds: OpenDataset) {
    this.cols = cellsColumns(ds);
    this.cells = ds.tables.get("cells")!;
  }

  get nCells(): number {
    return this.cols.nCells;
  }

  /** cell_integer_id is 0..nCells-1, once per dataset. */
  checkIds(): Promise<void> {
    if (!this.checked) {
      this.checked = checkCellIds(this.cells, this.nCells);
      this.checked.catch(() => undefined);
    }
    return this.checked;
  }

  async embedding(column: string, dims: [number, number]): Promise<EmbeddingPoints> {
    const e = embeddingOf(this.cols, column, dims);
    await this.checkIds();
    return cached(this.points, `${column}\0${dims[0]}\0${dims[1]}`, MAX_EMBEDDINGS, () => readEmbedding(this.cells, column, e.dims, dims, this.nCells));
  }

  async colours(column: string, as: ExploreColumnKind | undefined): Promise<ColoursRead> {
    const c = colourColumnOf(this.cols, column);
    await this.checkIds();
    const kind = as ?? c.kind;
    const colours = await cached(this.colourCache, `${column}\0${kind}`, MAX_COLOURS, async () => {
      if (kind === "continuous") return continuousColours(column, await continuousValues(this.cells, column, this.nCells));
      try {
        return await categoricalColours(this.cells, column, this.nCells);
      } catch (e) {
        if (!(e instanceof TooManyCategories)) throw e;
        // Integers with many values are drawn as numbers unless categories were asked for.
        if (as === undefined && (c.type.startsWith("Int") || c.type.startsWith("Uint")))
          return continuousColours(column, await continuousValues(this.cells, column, this.nCells));
        fail(
          "EXPLORE_COLUMN_INVALID",
          `"${column}" has more than ${EXPLORE_MAX_CATEGORIES} distinct values: too many to draw as categories${c.type.startsWith("Utf8") ? "" : "; colour by it as continuous"}`,
        );
      }
    });
    if (colours.colors.kind === "categorical") c.categories = colours.colors.categories.length;
    return colours;
  }

  genesTable(): Promise<GenesTable> {
    if (!this.genes) {
      this.genes = readGenesTable(this.ds);
      this.genes.catch(() => (this.genes = null));
    }
    return this.genes;
  }

  geneCountsSource(): "genes-table" | "pass" {
    return genesColumns(this.ds).count ? "genes-table" : "pass";
  }

  statsState(): ExploreStatsState {
    return { geneCounts: this.geneCountsSource(), pass: this.pass.state, jobId: this.pass.jobId };
  }

  rememberGene(geneIntegerId: number, raw: Float32Array): void {
    remember(this.geneValues, geneIntegerId, raw, MAX_GENES);
  }

  geneAnswer(geneIntegerId: number, transform: ExploreTransform): ExploreGeneValues | undefined {
    const key = `${geneIntegerId}\0${transform}`;
    const hit = this.geneAnswers.get(key);
    return hit && remember(this.geneAnswers, key, hit, MAX_GENES);
  }

  rememberAnswer(answer: ExploreGeneValues): void {
    remember(this.geneAnswers, `${answer.geneIntegerId}\0${answer.transform}`, answer, MAX_GENES);
  }
}
