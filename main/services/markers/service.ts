/**
 * Marker genes (issue 14): differential expression between groups of cells with scanpy's t-test numbers, and per
 * group summaries of chosen genes, each computed by one streaming pass over `expression` in a job of kind
 * "markers". Results are kept per dataset (the newest few) until released or the dataset closes.
 */
import {
  type MarkersApi,
  type MarkersByGroup,
  type MarkersComparison,
  type MarkersFilter,
  type MarkersGroupBy,
  type MarkersJobResult,
  type MarkersNormalization,
  type MarkersRun,
  type MarkersTablePage,
  type MarkersTopPerGroup,
  type MarkersVolcano,
} from "../../../shared/ipc/contract";
import { cellIdsFromBytes } from "../../../shared/notebook/cell-sets";
import { AppFailure } from "../../../shared/result";
import type { DatasetService } from "../datasets/service";
import type { OpenDataset } from "../datasets/open-dataset";
import { tablePath } from "../datasets/uri";
import { fail, guard, throwIfAborted } from "../errors";
import type { ColoursRead } from "../explore/colours";
import { ExploreDataset } from "../explore/explore-dataset";
import type { ExploreService } from "../explore/service";
import type { GenesTable } from "../explore/genes-table";
import type { JobService } from "../jobs/service";
import { byGroupPass } from "./by-group-pass";
import { groupCells, involvedCellsWhere } from "./cell-classes";
import { computeComparisons, type ComparisonResult, type WholeMoments } from "./comparisons";
import { planComparison, planGroups, type GroupSource } from "./group-plans";
import { CellsNotContiguous } from "./moments-accumulator";
import { MomentsCache, type MomentsKey } from "./moments-cache";
import { cp10kDivisors, momentsPass, type ClassMoments, type PassOptions, type PassWorkers } from "./moments-pass";
import { PARTS } from "./pass-parts";
import { passWorkerPath } from "./pass-workers";
import { allCounts, chooseNormalization, notCountsNote, type NormalizationChoice } from "./normalization";
import { comparisonOf, filteredRows, geneRow, volcanoIpc } from "./run-views";

export interface MarkersDeps {
  datasets: DatasetService;
  jobs: JobService;
  explore: ExploreService;
  /** The moments pass worker bundle (default: dist/main/markers-pass-worker.mjs when built); null: passes on the main thread. */
  passWorker?: string | null;
}

/** Runs (and byGroup results) kept per dataset; older ones are dropped. */
const KEEP_PER_DATASET = 8;
/** The most the pass's per class × gene sums may take. */
const MAX_MOMENT_BYTES = 1536 * 1024 * 1024;
/** Per class × gene while a pass runs: per part, 24 B accumulating, then 20 B unpacked (pass-parts.ts). */
const BYTES_PER_CLASS_GENE = 44 * PARTS;
const DEFAULT_PAGE = 100;
const DEFAULT_BINS = 32;

interface StoredRun {
  run: MarkersRun;
  genes: GenesTable;
  comparisons: ComparisonResult[];
}

/** What markers keeps for one open dataset. */
class MarkersDataset {
  readonly ed: ExploreDataset;
  readonly categories = new Map<string, Promise<ColoursRead>>();
  readonly runs = new Map<string, StoredRun>();
  readonly byGroups = new Map<string, MarkersByGroup>();
  /** Each cell's total, when a pass read every cell whole. */
  totals: Float64Array | null = null;
  /** Moments kept for later requests. */
  readonly kept = new MomentsCache();
  /** Whether a float value column holds only counts (checked once). */
  floatCounts: Promise<boolean> | null = null;

  constructor(readonly ds: OpenDataset) {
    this.ed = new ExploreDataset(ds);
  }
}

/** A job's pass options: its signal and progress. */
type JobOptions = PassOptions & { signal: AbortSignal };

/** Newest last; the oldest beyond `max` are dropped (returns their ids). */
function keepNewest<V>(map: Map<string, V>, id: string, value: V, max: number): string[] {
  map.set(id, value);
  const dropped: string[] = [];
  while (map.size > max) {
    const oldest = map.keys().next().value as string;
    map.delete(oldest);
    dropped.push(oldest);
  }
  return dropped;
}

export class MarkersService implements MarkersApi {
  private readonly state = new Map<string, MarkersDataset>();
  /** Result id → its dataset. */
  private readonly owners = new Map<string, string>();
  private nextId = 1;

  constructor(readonly deps: MarkersDeps) {
    deps.datasets.onDispose((ds) => this.forget(ds.summary.datasetId));
  }

  start(req: { datasetId: string; comparison: MarkersComparison; normalization?: MarkersNormalization }) {
    return guard(async () => {
      const st = this.of(req.datasetId);
      const genes = await st.ed.genesTable();
      const plan = await planComparison(this.groupSource(st), req.comparison);
      const bytes = (plan.classes.groupsOf.length + 1) * genes.nGenes * BYTES_PER_CLASS_GENE;
      if (bytes > MAX_MOMENT_BYTES)
        fail("MARKERS_INVALID", `${plan.classes.groupsOf.length} groups × ${genes.nGenes} genes need more memory than markers allows; compare fewer groups`);
      const classOf = plan.classes.classOf;
      const nClasses = plan.classes.groupsOf.length;
      const needsWhole = plan.comparisons.some((c) => c.referenceClasses === "rest");
      // Progress of rows to read is known only when every row is read.
      const jobId = this.runJob(st, needsWhole || !involvedCellsWhere(classOf) ? this.expressionRows(st) : null, async (opts, t0) => {
        const expression = this.expression(st.ds);
        const norm = await this.normalization(st, req.normalization, opts);
        const normalize = norm.applied === "log1p_cp10k";
        const keyNow = (): MomentsKey => ({ applied: norm.applied, totals: normalize ? this.knownTotals(st) : null });
        const usable = (key: MomentsKey) => !normalize || key.totals !== null;
        let key = keyNow();
        const keptColumn = usable(key) && plan.categoriesOf !== undefined ? st.kept.column(plan.categoriesOf, key) : null;
        let whole: WholeMoments | null = keptColumn?.whole ?? (needsWhole && usable(key) ? st.kept.whole(key) : null);
        let moments = keptColumn?.moments ?? null;
        let rows = 0;
        if (!moments) {
          // The whole comes from a pass over every row; with it kept, only the group's cells are read.
          const where = needsWhole && !whole ? undefined : involvedCellsWhere(classOf);
          const everyRow = where === undefined;
          let passRows = 0;
          const onRows = (n: number) => {
            passRows = n;
            opts.onRows?.(rows + n);
          };
          const workers = await this.passWorkers(st);
          const pass = (divisors: Float64Array | null, fromRows: boolean, totals?: Float64Array) =>
            momentsPass(expression, classOf, nClasses, genes.nGenes, { divisors, fromRows, totals, whole: everyRow }, { ...opts, where, onRows }, workers);
          // Totals counted before, else each cell's total from its own rows in this very pass (kept when it reads every cell).
          const known = this.knownTotals(st);
          let read: ClassMoments;
          try {
            if (!normalize || known) read = await pass(normalize ? cp10kDivisors(known!) : null, false);
            else {
              const totals = everyRow ? new Float64Array(classOf.length) : undefined;
              read = await pass(null, true, totals);
              if (totals) st.totals = totals;
            }
          } catch (e) {
            if (!(e instanceof CellsNotContiguous)) throw e;
            rows = passRows;
            read = await pass(cp10kDivisors(await this.cellTotals(st, opts.signal)), false);
          }
          rows += read.rows;
          moments = read;
          key = keyNow();
          if (read.whole && usable(key)) {
            whole = { moments: read.whole, nCells: classOf.length };
            st.kept.keepWhole(key, whole);
            if (plan.categoriesOf !== undefined) st.kept.keepColumn(plan.categoriesOf, key, read, whole);
          }
        }
        throwIfAborted(opts.signal, "MARKERS_CANCELLED");
        const comparisons = computeComparisons(moments, plan.classes.cells, plan.comparisons, genes.index.ids, whole);
        const markersId = this.newId("markers", st);
        const run: MarkersRun = {
          markersId,
          datasetId: req.datasetId,
          comparison: req.comparison,
          normalization: norm.applied,
          normalizationNote: norm.note,
          groups: comparisons.map((c) => c.group),
          genes: genes.index.ids.length,
          rows,
          ms: performance.now() - t0,
        };
        this.keep(st.runs, markersId, { run, genes, comparisons });
        return { task: "rank" as const, ...run };
      });
      return { jobId };
    });
  }

  table(req: { markersId: string; group?: string | null; filter?: MarkersFilter; offset?: number; limit?: number }) {
    return guard(async (): Promise<MarkersTablePage> => {
      const stored = this.run(req.markersId);
      const c = comparisonOf(stored.comparisons, req.group, req.markersId);
      const rows = filteredRows(c, stored.genes.index, req.filter);
      const offset = Math.min(req.offset ?? 0, rows.length);
      const limit = req.limit ?? DEFAULT_PAGE;
      return {
        markersId: req.markersId,
        group: c.group,
        total: rows.length,
        offset,
        rows: rows.slice(offset, offset + limit).map((row) => geneRow(c, stored.genes.index, row)),
      };
    });
  }

  volcano(req: { markersId: string; group?: string | null }) {
    return guard(async (): Promise<MarkersVolcano> => {
      const stored = this.run(req.markersId);
      const c = comparisonOf(stored.comparisons, req.group, req.markersId);
      return { markersId: req.markersId, group: c.group, arrow: volcanoIpc(c, stored.genes.index) };
    });
  }

  topPerGroup(req: { markersId: string; n: number; filter?: MarkersFilter }) {
    return guard(async (): Promise<MarkersTopPerGroup> => {
      const stored = this.run(req.markersId);
      return {
        markersId: req.markersId,
        groups: stored.comparisons.map((c) => ({
          group: c.group,
          genes: filteredRows(c, stored.genes.index, req.filter)
            .slice(0, req.n)
            .map((row) => geneRow(c, stored.genes.index, row)),
        })),
      };
    });
  }

  byGroup(req: { datasetId: string; groupBy: MarkersGroupBy; geneIntegerIds: number[]; normalization?: MarkersNormalization; bins?: number }) {
    return guard(async () => {
      const st = this.of(req.datasetId);
      const genes = await st.ed.genesTable();
      const geneIds = [...new Set(req.geneIntegerIds)];
      if (geneIds.length === 0) fail("MARKERS_INVALID", "Choose at least one gene");
      for (const g of geneIds)
        if (!(g < genes.nGenes && genes.rowOf[g] >= 0))
          fail("MARKERS_INVALID", `No gene with gene_integer_id ${g} (this dataset has ${genes.index.ids.length} genes)`);
      const { classes, names } = await planGroups(this.groupSource(st), req.groupBy);
      const bins = req.bins ?? DEFAULT_BINS;
      const jobId = this.runJob(st, null, async (opts, t0) => {
        const expression = this.expression(st.ds);
        const norm = await this.normalization(st, req.normalization, opts);
        const divisors = norm.applied === "log1p_cp10k" ? cp10kDivisors(await this.cellTotals(st, opts.signal)) : null;
        const cellsWhere = involvedCellsWhere(classes.classOf);
        const genesWhere = `gene_integer_id IN (${geneIds.join(", ")})`;
        const where = cellsWhere ? `(${genesWhere}) AND (${cellsWhere})` : genesWhere;
        const cells = names.map((_, k) => groupCells(classes, k));
        const summary = await byGroupPass(expression, classes, names.length, cells, geneIds, genes.nGenes, { divisors }, bins, { ...opts, where });
        const byGroupId = this.newId("bygroup", st);
        const data: MarkersByGroup = {
          byGroupId,
          datasetId: req.datasetId,
          groupBy: req.groupBy,
          normalization: norm.applied,
          normalizationNote: norm.note,
          groups: names.map((group, k) => ({ group, cells: cells[k] })),
          genes: geneIds.map((g, i) => {
            const row = genes.rowOf[g];
            return { geneIntegerId: g, geneId: genes.index.geneIds[row], symbol: genes.index.symbols[row], max: summary.max[i] };
          }),
          bins,
          values: summary.values,
          rows: summary.rows,
          ms: performance.now() - t0,
        };
        this.keep(st.byGroups, byGroupId, data);
        return { task: "byGroup" as const, byGroupId, datasetId: req.datasetId, rows: summary.rows, ms: data.ms };
      });
      return { jobId };
    });
  }

  byGroupData(req: { byGroupId: string }) {
    return guard(async (): Promise<MarkersByGroup> => {
      const data = this.state.get(this.owners.get(req.byGroupId) ?? "")?.byGroups.get(req.byGroupId);
      if (!data) fail("MARKERS_NOT_FOUND", `No marker gene summary ${req.byGroupId}: it was released, replaced by newer ones, or its dataset closed`);
      return data;
    });
  }

  release(req: { id: string }) {
    return guard(async () => {
      const st = this.state.get(this.owners.get(req.id) ?? "");
      st?.runs.delete(req.id);
      st?.byGroups.delete(req.id);
      this.owners.delete(req.id);
      return null;
    });
  }

  // ---------------------------------------------------------------- internals

  private of(datasetId: string): MarkersDataset {
    const ds = this.deps.datasets.get(datasetId);
    let st = this.state.get(datasetId);
    if (!st || st.ds !== ds) {
      if (st) this.forget(datasetId);
      this.state.set(datasetId, (st = new MarkersDataset(ds)));
    }
    return st;
  }

  private run(markersId: string): StoredRun {
    const run = this.state.get(this.owners.get(markersId) ?? "")?.runs.get(markersId);
    if (!run) fail("MARKERS_NOT_FOUND", `No marker gene run ${markersId}: it was released, replaced by newer runs, or its dataset closed`);
    return run;
  }

  private newId(prefix: string, st: MarkersDataset): string {
    const id = `${prefix}${this.nextId++}`;
    this.owners.set(id, st.ds.summary.datasetId);
    return id;
  }

  private keep<V>(map: Map<string, V>, id: string, value: V): void {
    for (const dropped of keepNewest(map, id, value, KEEP_PER_DATASET)) this.owners.delete(dropped);
  }

  private expression(ds: OpenDataset) {
    const t = ds.tables.get("expression");
    if (!t) fail("MARKERS_INVALID", `Dataset ${ds.summary.name} has no expression table`);
    return t;
  }

  /** Worker threads for the pass: local datasets, when the worker is built. */
  private async passWorkers(st: MarkersDataset): Promise<PassWorkers | null> {
    const file = this.deps.passWorker === undefined ? passWorkerPath() : this.deps.passWorker;
    const info = st.ds.summary.tables.find((t) => t.name === "expression");
    const where = info && st.ds.summary.source === "local" ? tablePath(st.ds.root, info.path) : null;
    if (!file || !where) return null;
    return { file, tablePath: where, version: await this.expression(st.ds).version() };
  }

  private expressionRows(st: MarkersDataset): number | null {
    return st.ds.summary.tables.find((t) => t.name === "expression")?.rows ?? null;
  }

  /** A job holding its dataset open while it reads; progress in rows read (of `total` when known). */
  private runJob(st: MarkersDataset, total: number | null, work: (opts: JobOptions, t0: number) => Promise<MarkersJobResult>): string {
    return this.deps.jobs.start("markers", "rows", async (ctx) => {
      const held = await this.deps.datasets.acquire(st.ds.root);
      try {
        await st.ed.checkIds();
        return await work({ signal: ctx.signal, onRows: (n) => ctx.progress(n, total, "Reading expression") }, performance.now());
      } finally {
        await this.deps.datasets.close({ datasetId: held.summary.datasetId });
      }
    });
  }

  /** Per-cell totals a markers pass over every cell or Explore's counting pass found, if any. */
  private knownTotals(st: MarkersDataset): Float64Array | null {
    return st.totals ?? this.deps.explore.passStats(st.ds.summary.datasetId)?.cellTotals ?? null;
  }

  /** Per-cell totals, known or from Explore's counting pass (run now when it has not run; its result is cached per dataset). */
  private async cellTotals(st: MarkersDataset, signal: AbortSignal): Promise<Float64Array> {
    const datasetId = st.ds.summary.datasetId;
    const known = this.knownTotals(st);
    if (known) return known;
    const started = await this.deps.explore.stats({ datasetId });
    if (!started.ok) throw new AppFailure(started.error.code, started.error.message);
    const aborted = new Promise<never>((_, reject) => {
      const stop = () => reject(signal.reason instanceof Error ? signal.reason : new AppFailure("MARKERS_CANCELLED", "Cancelled by the user"));
      if (signal.aborted) stop();
      else signal.addEventListener("abort", stop, { once: true });
    });
    aborted.catch(() => undefined);
    const event = await Promise.race([this.deps.jobs.settled(started.value.jobId), aborted]);
    throwIfAborted(signal, "MARKERS_CANCELLED");
    const stats = this.deps.explore.passStats(datasetId);
    if (event.state !== "done" || !stats)
      fail(event.error?.code ?? "INTERNAL", `Each cell's total (for log1p(CP10k)) could not be counted: ${event.error?.message ?? event.state}`);
    return stats.cellTotals;
  }

  /** The normalization to apply; a float column whose first values are counts is checked whole, once per dataset. */
  private async normalization(st: MarkersDataset, asked: MarkersNormalization | undefined, opts: PassOptions): Promise<NormalizationChoice> {
    const expression = this.expression(st.ds);
    const norm = await chooseNormalization(st.ds, expression, asked ?? "auto");
    if (!norm.verify) return norm;
    if (!st.floatCounts) {
      st.floatCounts = allCounts(expression, opts.signal);
      st.floatCounts.catch(() => (st.floatCounts = null));
    }
    const counts = await st.floatCounts;
    throwIfAborted(opts.signal, "MARKERS_CANCELLED");
    return counts ? { ...norm, verify: false } : { applied: "none", note: `${notCountsNote(null)} (some are not whole numbers)`, verify: false };
  }

  private groupSource(st: MarkersDataset): GroupSource {
    return { ed: st.ed, categories: st.categories, setIds: (name) => this.setIds(st, name) };
  }

  private async setIds(st: MarkersDataset, name: string): Promise<Int32Array> {
    const got = await this.deps.explore.getSet({ datasetId: st.ds.summary.datasetId, name });
    if (!got.ok) {
      if (got.error.code === "EXPLORE_SET_NOT_FOUND") fail("MARKERS_INVALID", `Set '${name}' does not exist`);
      throw new AppFailure(got.error.code, got.error.message);
    }
    const ids = cellIdsFromBytes(got.value.ids);
    if (ids.length === 0) fail("MARKERS_INVALID", `Set '${name}' has no cells`);
    return ids;
  }

  private forget(datasetId: string): void {
    const st = this.state.get(datasetId);
    this.state.delete(datasetId);
    if (!st) return;
    for (const id of [...st.runs.keys(), ...st.byGroups.keys()]) this.owners.delete(id);
  }
}
