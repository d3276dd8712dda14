/** The Explore view's main side (issue 13): embeddings, colours, genes, cell sets and QC over an open dataset. */
import path from "node:path";
import {
  EXPLORE_MAX_IDS,
  type CellSetInfo,
  type CellSetMembers,
  type CellSetSource,
  type ExploreApi,
  type ExploreColors,
  type ExploreColumnKind,
  type ExploreGeneSearch,
  type ExploreGeneValues,
  type ExploreInfo,
  type ExplorePending,
  type ExplorePointsPage,
  type ExploreQc,
  type ExploreTransform,
} from "../../../shared/ipc/contract";
import { cellIdsFromBytes, cellIdsToBytes } from "../../../shared/notebook/cell-sets";
import type { DatasetService } from "../datasets/service";
import { tablePath } from "../datasets/uri";
import type { OpenDataset } from "../datasets/open-dataset";
import { fail, guard } from "../errors";
import type { JobService } from "../jobs/service";
import { writeExport } from "../loader/export-file";
import type { QueryService } from "../query/service";
import { typedIpc } from "./arrow-ipc";
import { CellSetStore } from "./cell-set-store";
import { CellSetsTable } from "./cell-sets-table";
import { ExploreDataset } from "./explore-dataset";
import { expressionPass, type ExpressionStats } from "./expression-pass";
import { genesColumns } from "./genes-table";
import { searchGenes } from "./gene-search";
import { DatasetGeneIndex, type GeneIndexOptions } from "./gene-index";
import { log1pCp10k, readGene, type GeneRead } from "./gene-values";
import { combine, normalizeIds } from "./id-sets";
import { pointsInPolygon } from "./polygon";
import { countMito, qcSql, runQc } from "./qc";
import { sortedFinite, spread } from "./quantiles";
import { importCsv, setCsv } from "./set-csv";
import { resultIds } from "./result-ids";

export interface ExploreDeps {
  datasets: DatasetService;
  jobs: JobService;
  query: QueryService;
  /** Gene indexes for local datasets (gene-index.ts); without it gene reads always scan the source table. */
  geneIndex?: GeneIndexOptions;
}

export class ExploreService implements ExploreApi {
  private readonly state = new Map<string, ExploreDataset>();
  private readonly sets = new Map<string, CellSetStore>();
  /** Gene reads running under a request key. */
  private readonly requests = new Map<string, AbortController>();

  constructor(readonly deps: ExploreDeps) {
    deps.datasets.onDispose((ds) => this.forget(ds.summary.datasetId));
    deps.query.provideRelations(async (datasetId) => [await this.setsOf(datasetId).table.relation()]);
  }

  info(req: { datasetId: string }) {
    return guard(async (): Promise<ExploreInfo> => {
      const st = this.of(req.datasetId);
      const genes = st.ds.summary.tables.find((t) => t.name === "genes");
      const { symbol } = genesColumns(st.ds);
      return {
        datasetId: req.datasetId,
        nCells: st.nCells,
        nGenes: genes?.rows ?? 0,
        embeddings: st.cols.embeddings,
        columns: st.cols.columns.map((c) => ({ ...c })),
        symbolColumn: symbol,
        stats: st.statsState(),
        geneIndex: (await st.geneIndex?.status()) ?? { state: "off", jobId: null },
      };
    });
  }

  points(req: { datasetId: string; column: string; dims: [number, number]; offset: number; limit: number }) {
    return guard(async (): Promise<ExplorePointsPage> => {
      const st = this.of(req.datasetId);
      const { x, y, bounds } = await st.embedding(req.column, req.dims);
      const start = Math.min(req.offset, st.nCells);
      const end = Math.min(st.nCells, start + req.limit);
      const ids = new Int32Array(end - start);
      for (let i = 0; i < ids.length; i++) ids[i] = start + i;
      return {
        column: req.column,
        dims: req.dims,
        offset: start,
        numRows: end - start,
        totalRows: st.nCells,
        bounds,
        arrow: typedIpc({ x: x.subarray(start, end), y: y.subarray(start, end), cell_integer_id: ids }),
      };
    });
  }

  colors(req: { datasetId: string; column: string; as?: ExploreColumnKind }) {
    return guard(async (): Promise<ExploreColors> => (await this.of(req.datasetId).colours(req.column, req.as)).colors);
  }

  searchGenes(req: { datasetId: string; query: string; limit?: number }) {
    return guard(async (): Promise<ExploreGeneSearch> => {
      const st = this.of(req.datasetId);
      const genes = await st.genesTable();
      if (!genes.storedCounts && st.pass.state === "none" && st.ds.summary.source === "local") await this.startPass(st);
      const counts = genes.storedCounts ?? st.pass.stats?.geneCells ?? null;
      const matches = searchGenes(genes.index, req.query, req.limit ?? 20, (row) => (counts ? counts[genes.index.ids[row]] : null));
      return { query: req.query, matches, stats: st.statsState() };
    });
  }

  gene(req: { datasetId: string; geneIntegerId: number; transform: ExploreTransform; requestKey?: string }) {
    return guard(async (): Promise<ExploreGeneValues | ExplorePending> => {
      const st = this.of(req.datasetId);
      const genes = await st.genesTable();
      const id = req.geneIntegerId;
      if (id >= genes.nGenes || genes.rowOf[id] < 0)
        fail("EXPLORE_GENE_NOT_FOUND", `No gene with gene_integer_id ${id} (this dataset has ${genes.nGenes} genes)`);
      let totals: Float64Array | null = null;
      if (req.transform === "log1p_cp10k") {
        const stats = await this.readyPass(st);
        if (!("cellTotals" in stats)) return stats;
        totals = stats.cellTotals;
      }
      const t0 = performance.now();
      const answered = st.geneAnswer(id, req.transform);
      if (answered) return { ...answered, cached: true, rowsRead: 0, bytesRead: 0, ms: performance.now() - t0 };
      const controller = new AbortController();
      if (req.requestKey) {
        this.requests.get(req.requestKey)?.abort();
        this.requests.set(req.requestKey, controller);
      }
      try {
        await st.checkIds();
        let raw = st.geneValues.get(id);
        const cached = raw !== undefined;
        let rowsRead = 0;
        let bytesRead = 0;
        if (!raw) {
          const read = await this.readGeneValues(st, id, controller.signal);
          ({ rowsRead, bytesRead } = read);
          raw = read.values;
        }
        st.rememberGene(id, raw);
        const values = totals ? log1pCp10k(raw, totals) : raw;
        const s = spread(sortedFinite(values, (v) => v > 0));
        let nExpressing = 0;
        for (let i = 0; i < raw.length; i++) if (raw[i] > 0) nExpressing++;
        const answer: ExploreGeneValues = {
          geneIntegerId: id,
          symbol: genes.index.symbols[genes.rowOf[id]],
          transform: req.transform,
          nExpressing,
          min: s.min,
          max: s.max,
          q99: s.q99,
          arrow: typedIpc({ value: values }),
          cached,
          rowsRead,
          bytesRead,
          ms: performance.now() - t0,
        };
        st.rememberAnswer(answer);
        return answer;
      } finally {
        if (req.requestKey && this.requests.get(req.requestKey) === controller) this.requests.delete(req.requestKey);
      }
    });
  }

  cancel(req: { requestKey: string }) {
    return guard(async () => {
      this.requests.get(req.requestKey)?.abort();
      this.requests.delete(req.requestKey);
      return null;
    });
  }

  stats(req: { datasetId: string }) {
    return guard(async () => {
      const st = this.of(req.datasetId);
      if (st.pass.jobId && st.pass.state !== "failed") return { jobId: st.pass.jobId };
      return { jobId: await this.startPass(st) };
    });
  }

  defineSet(req: { datasetId: string; name: string; from: CellSetSource; replace?: boolean }) {
    return guard(async (): Promise<CellSetInfo> => {
      const ids = await this.idsOf(req.datasetId, req.from);
      return this.setsOf(req.datasetId).define(req.name, ids, req.replace === true);
    });
  }

  listSets(req: { datasetId: string }) {
    return guard(async () => {
      this.dataset(req.datasetId);
      return this.setsOf(req.datasetId).list();
    });
  }

  getSet(req: { datasetId: string; name: string }) {
    return guard(async (): Promise<CellSetMembers> => {
      this.dataset(req.datasetId);
      const s = this.setsOf(req.datasetId).get(req.name);
      return { name: s.name, size: s.ids.length, version: s.version, ids: cellIdsToBytes(s.ids) };
    });
  }

  renameSet(req: { datasetId: string; name: string; newName: string }) {
    return guard(async () => {
      this.dataset(req.datasetId);
      return this.setsOf(req.datasetId).rename(req.name, req.newName);
    });
  }

  deleteSet(req: { datasetId: string; name: string }) {
    return guard(async () => {
      this.dataset(req.datasetId);
      await this.setsOf(req.datasetId).delete(req.name);
      return null;
    });
  }

  exportSetCsv(req: { datasetId: string; name: string; path: string; overwrite?: boolean }) {
    return guard(async () => {
      const st = this.of(req.datasetId);
      const set = this.setsOf(req.datasetId).get(req.name);
      if (!path.isAbsolute(req.path)) fail("INVALID_ARGUMENT", `Export needs an absolute path, got "${req.path}"`, { path: req.path });
      await this.deps.datasets.refuseWriteInside(req.path, "Cannot export there");
      const text = await setCsv(st.cells, set.ids, st.nCells);
      const written = await writeExport(req.path, text, req.overwrite === true);
      return { ...written, cells: set.ids.length };
    });
  }

  importSetCsv(req: { datasetId: string; name: string; path: string; replace?: boolean }) {
    return guard(async () => {
      const st = this.of(req.datasetId);
      if (!path.isAbsolute(req.path)) fail("INVALID_ARGUMENT", `Import needs an absolute path, got "${req.path}"`, { path: req.path });
      const sets = this.setsOf(req.datasetId);
      if (sets.has(req.name) && !req.replace) fail("EXPLORE_SET_EXISTS", `A cell set named "${req.name}" exists; replace it or choose another name`);
      const found = await importCsv(req.path, st.cells);
      const info = await sets.define(req.name, found.ids, req.replace === true);
      return { ...info, unknown: found.unknown, unknownExamples: found.unknownExamples };
    });
  }

  qc(req: { datasetId: string; set?: string | null }) {
    return guard(async () => {
      const st = this.of(req.datasetId);
      const set = req.set ?? null;
      const sets = this.setsOf(req.datasetId);
      const version = set === null ? null : sets.get(set).version;
      const genes = await st.genesTable();
      const symbol = genes.symbolColumn;
      if (!symbol) fail("EXPLORE_DATASET_UNSUPPORTED", "The genes table has no gene_id or symbol column, so mitochondrial genes cannot be found");
      const sql = qcSql(symbol, set);
      const ds = st.ds;
      const held = await this.deps.datasets.acquire(ds.root);
      const jobId = this.deps.jobs.start("explore", "rows", async (ctx) => {
        try {
          const t0 = performance.now();
          let rows = 0;
          const cols = await runQc(this.deps.query.engine, held, sql, await sets.table.relation(), {
            signal: ctx.signal,
            onRows: (n) => ctx.progress((rows += n), null, "Scanning"),
          });
          const data: ExploreQc = {
            datasetId: req.datasetId,
            set,
            sql,
            cells: cols.cellIds.length,
            mitoGenes: countMito(genes.index.symbols),
            arrow: typedIpc({ cell_integer_id: cols.cellIds, n_genes: cols.nGenes, total_counts: cols.totals, pct_mito: cols.pctMito }),
          };
          st.qc.set(set ?? "", { version, data });
          return { task: "qc" as const, datasetId: req.datasetId, set, cells: data.cells, ms: performance.now() - t0 };
        } finally {
          await this.deps.datasets.close({ datasetId: held.summary.datasetId });
        }
      });
      return { jobId, sql };
    });
  }

  qcData(req: { datasetId: string; set?: string | null }) {
    return guard(async (): Promise<ExploreQc> => {
      const st = this.of(req.datasetId);
      const set = req.set ?? null;
      const kept = st.qc.get(set ?? "");
      const current = set === null ? null : this.setsOf(req.datasetId).versionOf(set);
      if (!kept || kept.version !== current)
        fail(
          "EXPLORE_NOT_READY",
          `QC for ${set === null ? "the whole dataset" : `set "${set}"`} has not been computed${kept ? " since the set changed" : ""}; run qc first`,
        );
      return kept.data;
    });
  }

  /** The counting pass's numbers for an open dataset, once it has run (for main's own use: benchmarks, tests). */
  passStats(datasetId: string): ExpressionStats | null {
    return this.state.get(datasetId)?.pass.stats ?? null;
  }

  /** The gene index of an open dataset (for main's own use: benchmarks, tests). */
  geneIndexOf(datasetId: string): DatasetGeneIndex | null {
    return this.of(datasetId).geneIndex;
  }

  /** Gives back a set a page defined, unless it was redefined since (sessions.ts). */
  async dropSet(datasetId: string, name: string, version: number): Promise<void> {
    await this.sets.get(datasetId)?.deleteVersion(name, version);
  }

  // ---------------------------------------------------------------- internals

  private dataset(datasetId: string): OpenDataset {
    return this.deps.datasets.get(datasetId);
  }

  private of(datasetId: string): ExploreDataset {
    const ds = this.dataset(datasetId);
    let st = this.state.get(datasetId);
    if (!st || st.ds !== ds) {
      this.state.set(datasetId, (st = new ExploreDataset(ds)));
      st.geneIndex = this.geneIndexFor(st);
      void st.geneIndex?.open();
    }
    return st;
  }

  /** Local datasets only: a remote dataset's reads already go through the gateway's block cache, which keeps what a gene read fetched. */
  private geneIndexFor(st: ExploreDataset): DatasetGeneIndex | null {
    const { ds } = st;
    const options = this.deps.geneIndex;
    const rel = ds.config.tables.expression;
    const source = ds.tables.get("expression");
    const full = rel === undefined ? null : tablePath(ds.root, rel);
    if (!options || ds.summary.source !== "local" || !source || !full) return null;
    const rows = ds.summary.tables.find((t) => t.name === "expression")?.rows ?? 0;
    const nGenes = async () => (await st.genesTable()).nGenes;
    return new DatasetGeneIndex({ options, datasetId: ds.summary.datasetId, tablePath: full, source, rows, nGenes, jobs: this.deps.jobs });
  }

  /** One gene's values: through the gene index when it is ready (the same rows, stored gene by gene), else from the source table. */
  private async readGeneValues(st: ExploreDataset, id: number, signal: AbortSignal): Promise<GeneRead> {
    const index = await st.geneIndex?.ready();
    if (index) {
      try {
        return await index.read(id, st.nCells, signal);
      } catch (e) {
        if (signal.aborted) throw e;
        st.geneIndex?.drop();
      }
    }
    const read = () => readGene(this.expression(st.ds), id, st.nCells, signal);
    return st.geneIndex ? st.geneIndex.whileHeld(read) : read();
  }

  private setsOf(datasetId: string): CellSetStore {
    let s = this.sets.get(datasetId);
    if (!s) this.sets.set(datasetId, (s = new CellSetStore(new CellSetsTable(this.deps.query.engine, datasetId))));
    return s;
  }

  private expression(ds: OpenDataset) {
    const t = ds.tables.get("expression");
    if (!t) fail("EXPLORE_DATASET_UNSUPPORTED", `Dataset ${ds.summary.name} has no expression table`);
    return t;
  }

  /** The pass's stats when ready; else starts it (local datasets) and says to wait, or says to start it (remote). */
  private async readyPass(st: ExploreDataset): Promise<ExpressionStats | ExplorePending> {
    if (st.pass.state === "ready" && st.pass.stats) return st.pass.stats;
    if (st.pass.state === "running" && st.pass.jobId) return { pending: true, jobId: st.pass.jobId };
    if (st.ds.summary.source !== "local")
      fail(
        "EXPLORE_NOT_READY",
        "log1p(CP10k) needs each cell's total, from one read of the whole expression table; start it with explore.stats (it reads every expression row of this remote dataset)",
      );
    return { pending: true, jobId: await this.startPass(st) };
  }

  private async startPass(st: ExploreDataset): Promise<string> {
    const ds = st.ds;
    const expression = this.expression(ds);
    const total = ds.summary.tables.find((t) => t.name === "expression")?.rows ?? null;
    // Held open while the pass reads it.
    const held = await this.deps.datasets.acquire(ds.root);
    let resolve!: (s: ExpressionStats) => void;
    let reject!: (e: unknown) => void;
    st.pass.done = new Promise((a, b) => ((resolve = a), (reject = b)));
    st.pass.done.catch(() => undefined);
    st.pass.state = "running";
    st.pass.stats = null;
    const jobId = this.deps.jobs.start("explore", "rows", async (ctx) => {
      const t0 = performance.now();
      try {
        const genes = await st.genesTable();
        const stats = await expressionPass(expression, st.nCells, genes.nGenes, { signal: ctx.signal, onRows: (n) => ctx.progress(n, total, "Counting") });
        st.pass.stats = stats;
        st.pass.state = "ready";
        resolve(stats);
        return { task: "stats" as const, datasetId: ds.summary.datasetId, rows: stats.rows, ms: performance.now() - t0 };
      } catch (e) {
        st.pass.state = "failed";
        reject(e);
        throw e;
      } finally {
        await this.deps.datasets.close({ datasetId: held.summary.datasetId });
      }
    });
    st.pass.jobId = jobId;
    return jobId;
  }

  private async idsOf(datasetId: string, from: CellSetSource): Promise<Int32Array> {
    const st = this.of(datasetId);
    switch (from.kind) {
      case "ids":
        if (from.ids.byteLength > 4 * EXPLORE_MAX_IDS) fail("EXPLORE_SET_INVALID", `At most ${EXPLORE_MAX_IDS} ids per request`);
        return normalizeIds(cellIdsFromBytes(from.ids), st.nCells);
      case "result":
        return normalizeIds(await resultIds(this.deps.query, from.resultId), st.nCells);
      case "category": {
        const { colors, codes: all } = await st.colours(from.column, "categorical");
        if (colors.kind !== "categorical" || !all) fail("EXPLORE_COLUMN_INVALID", `"${from.column}" is not categorical`);
        const wanted = new Set(from.values);
        const codes = new Set(colors.categories.flatMap((c, k) => (wanted.has(c.value) ? [k] : [])));
        const unknown = from.values.filter((v) => !colors.categories.some((c) => c.value === v));
        if (unknown.length)
          fail(
            "EXPLORE_SET_INVALID",
            `${from.column} has no value ${unknown
              .slice(0, 3)
              .map((v) => JSON.stringify(v))
              .join(", ")}`,
          );
        const out: number[] = [];
        for (let i = 0; i < all.length; i++) if (codes.has(all[i])) out.push(i);
        return Int32Array.from(out);
      }
      case "polygon": {
        const { x, y } = await st.embedding(from.column, from.dims);
        return pointsInPolygon(x, y, from.polygon);
      }
      case "algebra": {
        const sets = this.setsOf(datasetId);
        return combine(
          from.op,
          from.sets.map((n) => sets.get(n).ids),
        );
      }
    }
  }

  private forget(datasetId: string): void {
    const st = this.state.get(datasetId);
    this.state.delete(datasetId);
    st?.geneIndex?.close();
    if (st?.pass.state === "running" && st.pass.jobId) this.deps.jobs.cancelJob(st.pass.jobId);
    const sets = this.sets.get(datasetId);
    this.sets.delete(datasetId);
    void sets?.table.drop().catch(() => undefined);
  }
}
