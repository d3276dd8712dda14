/**
 * A local dataset's gene index, as Explore uses it: looked for when Explore opens the dataset (an index built in
 * an earlier session is used at once), else built in the background as a job of kind "explore" (task "index")
 * when the table is large enough and the index fits the cache's free budget, read through once it is ready, and
 * let go (build cancelled) when the dataset closes. Anything wrong with it leaves gene reads on the source table.
 * Layout: gene-index-files.ts; folders and staleness: gene-index-store.ts, gene-index-key.ts; the build:
 * gene-index-build.ts, run in its own process by gene-index-child.ts.
 */
import type * as lancedb from "@lancedb/lancedb";
import type { ExploreGeneIndexState } from "../../../shared/ipc/contract";
import { AppFailure } from "../../../shared/result";
import { readCap } from "../gateway/cache-cap";
import { walkCache, walkedBytes } from "../gateway/cache-walk";
import type { JobService } from "../jobs/service";
import { throwIfAborted } from "../errors";
import { throwNamed } from "./gene-index-build";
import { buildInChild, geneIndexChildPath, type ChildBuild } from "./gene-index-child";
import type { ChildMessage } from "./gene-index-child-protocol";
import { GeneIndexFiles, indexBytes, valueTypeOf } from "./gene-index-files";
import { BuildPause } from "./gene-index-pause";
import { GENE_INDEX_FORMAT, geneIndexKey, type GeneIndexKey } from "./gene-index-key";
import { commitBuildFolder, dropBuildFolder, geneIndexPresent, geneIndexRoot, makeBuildFolder, openGeneIndex, removeLeftovers } from "./gene-index-store";

export interface GeneIndexOptions {
  /** The app's cache folder (`<user data>/cache`); gene indexes live in its `gene-index/`. */
  cacheDir: string;
  /**
   * Expression rows from which opening the dataset starts a build (default 50M). The plain filtered read costs
   * ~4–6 ms per million rows (200k cells / 138M rows: 0.55–0.88 s on the bench machine), so below ~50M it stays
   * under a quarter second and an index would only take disk and a build.
   */
  minRows?: number;
  /** Memory for the build's staging buffers (default 256 MB). */
  stagingBytes?: number;
  /** The build process's bundle (default: dist/main/gene-index-child.mjs). */
  childFile?: string;
  /** Sees each message of a build process (tests, benchmarks). */
  onChildMessage?: (m: ChildMessage) => void;
}

export const GENE_INDEX_MIN_ROWS = 50_000_000;

/** The threshold, or SLAFWB_GENE_INDEX_MIN_ROWS when it is a whole number ≥ 0 (index smaller atlases, or test the build). */
export function geneIndexMinRows(env: NodeJS.ProcessEnv = process.env): number {
  const v = env.SLAFWB_GENE_INDEX_MIN_ROWS?.trim();
  return v && /^\d{1,15}$/.test(v) ? Number(v) : GENE_INDEX_MIN_ROWS;
}
export const GENE_INDEX_STAGING_BYTES = 256 * 1024 ** 2;

const gb = (bytes: number) => `${(bytes / 1024 ** 3).toFixed(2)} GB`;

/** Fails (DISK_FULL, the job's notice) when `bytes` more would take the cache past its cap. */
async function checkBudget(cacheDir: string, bytes: number): Promise<void> {
  const cap = await readCap(cacheDir);
  const used = walkedBytes(await walkCache(cacheDir));
  if (used + bytes <= cap) return;
  throw new AppFailure(
    "DISK_FULL",
    `The gene index would take ${gb(bytes)} and the cache has ${gb(Math.max(0, cap - used))} free under its ${gb(cap)} cap: not built, gene reads use the source table (raise the cap or clear the cache to build it)`,
    { path: cacheDir },
  );
}

export type GeneIndexState = "none" | "building" | "ready" | "failed" | "cleared";

export class DatasetGeneIndex {
  state: GeneIndexState = "none";
  jobId: string | null = null;
  /** The last build this session ran: its process and what it reported. */
  lastBuild: ChildBuild | null = null;
  private files: GeneIndexFiles | null = null;
  private readonly pause = new BuildPause();
  private looked: Promise<void> | null = null;
  private opened: Promise<string | null> | null = null;
  private closed = false;
  private readonly root: string;

  constructor(
    private readonly o: {
      options: GeneIndexOptions;
      datasetId: string;
      /** The expression table folder as config.json names it. */
      tablePath: string;
      /** The dataset's open expression table (its version keys the index). */
      source: lancedb.Table;
      rows: number;
      /** Gene ids run below this (the genes table's). */
      nGenes: () => Promise<number>;
      jobs: JobService;
    },
  ) {
    this.root = geneIndexRoot(o.options.cacheDir);
  }

  /**
   * Explore opened the dataset: looks for an index built earlier and, when there is none and the table is large
   * enough, starts a build. Resolves with the build's job id (null when none started).
   */
  open(): Promise<string | null> {
    // Nothing here may fail the request that opened the dataset: without an index, reads use the source.
    this.opened ??= this.lookOnce()
      .then(() => this.startBuild())
      .catch(() => null);
    return this.opened;
  }

  /** The index when it is ready and still on disk; the first call looks for one built earlier. */
  async ready(): Promise<GeneIndexFiles | null> {
    await this.lookOnce();
    if (this.files && !(await geneIndexPresent(this.files.dir))) {
      // Removed under us (cache clear): read the source, and build no other until the dataset is opened again.
      this.files = null;
      this.state = "cleared";
    }
    return this.files;
  }

  /** What Explore's info tells the page; `open()` has settled first, so a build it started has its job. */
  async status(): Promise<ExploreGeneIndexState> {
    await this.open();
    const state = this.state === "building" || this.state === "ready" || this.state === "failed" ? this.state : "off";
    return { state, jobId: this.jobId };
  }

  /** Runs a read of the source table with the build (if one runs) held still meanwhile. */
  whileHeld<T>(read: () => Promise<T>): Promise<T> {
    return this.pause.during(read);
  }

  /** Stops using the index (after a failed read through it); gene reads go to the source table. */
  drop(): void {
    this.files = null;
    if (this.state === "ready") this.state = "failed";
  }

  /** The dataset closed: cancel a build. */
  close(): void {
    this.closed = true;
    if (this.state === "building" && this.jobId) this.o.jobs.cancelJob(this.jobId);
    this.files = null;
  }

  private lookOnce(): Promise<void> {
    this.looked ??= this.lookUp();
    return this.looked;
  }

  private startBuild(): string | null {
    if (this.closed || this.state !== "none" || this.files || this.o.rows < (this.o.options.minRows ?? GENE_INDEX_MIN_ROWS)) return null;
    this.state = "building";
    this.jobId = this.o.jobs.start("explore", "rows", async (ctx) => {
      const t0 = performance.now();
      let temp: string | null = null;
      try {
        const key = await geneIndexKey(this.o.tablePath, this.o.source);
        let files = await openGeneIndex(this.root, key).catch(() => null);
        if (!files) {
          const nGenes = await this.o.nGenes();
          const field = (await this.o.source.schema()).fields.find((f) => f.name === "value");
          if (!field) throw new AppFailure("EXPLORE_DATASET_UNSUPPORTED", `The expression table has no value column: no gene index`);
          const valueType = valueTypeOf(field.type);
          try {
            await removeLeftovers(this.root, key);
            await checkBudget(this.o.options.cacheDir, indexBytes(this.o.rows, nGenes, valueType));
            temp = await makeBuildFolder(this.root, key);
          } catch (e) {
            throwNamed(e, this.root);
          }
          const total = this.o.rows * 2;
          ctx.progress(0, total, "Gene index: counting rows per gene");
          const { childFile = geneIndexChildPath(), onChildMessage, stagingBytes = GENE_INDEX_STAGING_BYTES } = this.o.options;
          const start = { srcUri: key.tablePath, version: key.version, tmpDir: temp!, nGenes, valueType, stagingBytes };
          this.lastBuild = await buildInChild(
            childFile,
            start,
            ctx.signal,
            (m) => {
              if (m.t === "progress" && m.phase === "count") ctx.progress(m.rows, total, "Gene index: counting rows per gene");
              if (m.t === "progress" && m.phase === "scatter") ctx.progress(this.o.rows + m.rows, total, "Gene index: writing each gene's rows");
              onChildMessage?.(m);
            },
            this.pause,
          );
          files = await this.commit(temp!, key, { nGenes, rows: this.lastBuild.rows, valueType, buildMs: Math.round(performance.now() - t0) });
          temp = null;
          ctx.progress(total, total, "Gene index ready");
        }
        throwIfAborted(ctx.signal, "EXPLORE_CANCELLED");
        this.use(files);
        return { task: "index" as const, datasetId: this.o.datasetId, bytes: files.bytes, ms: performance.now() - t0 };
      } catch (e) {
        this.state = "failed";
        throw e;
      } finally {
        if (temp) await dropBuildFolder(temp);
      }
    });
    return this.jobId;
  }

  private async commit(temp: string, key: GeneIndexKey, layout: Pick<GeneIndexFiles["layout"], "nGenes" | "rows" | "valueType"> & { buildMs: number }) {
    const { tablePath, version, manifest, folder } = key;
    const { dir, meta } = await commitBuildFolder(this.root, temp, {
      format: GENE_INDEX_FORMAT,
      tablePath,
      version,
      manifest,
      folder,
      ...layout,
      builtAt: new Date().toISOString(),
    }).catch((e: unknown) => throwNamed(e, this.root));
    const files = await GeneIndexFiles.open(dir, meta);
    if (!files) throw new AppFailure("INTERNAL", `The gene index built in ${dir} does not check out`, { path: dir });
    return files;
  }

  private async lookUp(): Promise<void> {
    try {
      const key = await geneIndexKey(this.o.tablePath, this.o.source);
      const files = await openGeneIndex(this.root, key);
      if (!files) return;
      this.use(files);
      // Older formats and stale versions of this table go (a build would remove them too).
      await removeLeftovers(this.root, key);
    } catch {
      // No usable index (unreadable cache, no manifest): reads stay on the source.
    }
  }

  private use(files: GeneIndexFiles): void {
    if (this.closed) return;
    this.files = files;
    this.state = "ready";
  }
}
