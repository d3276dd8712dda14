/**
 * A local dataset's gene index, as Explore uses it: looked for once when a gene is first read (an index built in
 * an earlier session is used at once), built in the background as a job of kind "explore" (task "index") after
 * the first colour by gene of a large enough table, read through while it is ready, and let go (build cancelled,
 * table closed once its reads end) when the dataset closes. Anything wrong with it leaves gene reads on the
 * source table. Layout and staleness: gene-index-store.ts, gene-index-key.ts; the build: gene-index-build.ts, run in
 * its own process by gene-index-child.ts.
 */
import * as lancedb from "@lancedb/lancedb";
import type { JobService } from "../jobs/service";
import { throwIfAborted } from "../errors";
import { geneIndexKind, throwNamed, type GeneIndexKind } from "./gene-index-build";
import { buildInChild, geneIndexChildPath, type ChildBuild } from "./gene-index-child";
import type { ChildMessage } from "./gene-index-child-protocol";
import { geneIndexKey } from "./gene-index-key";
import {
  commitBuildFolder,
  dropBuildFolder,
  findGeneIndex,
  GENE_INDEX_TABLE,
  geneIndexPresent,
  geneIndexRoot,
  makeBuildFolder,
  readGeneIndexMeta,
  removeLeftovers,
} from "./gene-index-store";

export interface GeneIndexOptions {
  /** The app's cache folder (`<user data>/cache`); gene indexes live in its `gene-index/`. */
  cacheDir: string;
  /**
   * Expression rows from which the first colour by gene starts a build (default 50M). The plain filtered read
   * costs ~4–6 ms per million rows (200k cells / 138M rows: 0.55–0.88 s on the bench machine), so below ~50M it
   * stays under a quarter second and an index would only take disk and a build.
   */
  minRows?: number;
  /** The kind to build. Default: by table size and memory at build time (geneIndexKind). */
  kind?: GeneIndexKind;
  /** The build process's bundle (default: dist/main/gene-index-child.mjs). */
  childFile?: string;
  /** Sees each message of a build process (tests, benchmarks). */
  onChildMessage?: (m: ChildMessage) => void;
}

export const GENE_INDEX_MIN_ROWS = 50_000_000;

/** The index's table, closed only when no read is using it (closing a table inside a Lance read is not safe). */
export class GeneIndexTable {
  private reads = 0;
  private closing = false;

  constructor(
    readonly dir: string,
    private readonly db: lancedb.Connection,
    private readonly table: lancedb.Table,
  ) {}

  static async open(dir: string): Promise<GeneIndexTable> {
    const db = await lancedb.connect(dir);
    try {
      return new GeneIndexTable(dir, db, await db.openTable(GENE_INDEX_TABLE));
    } catch (e) {
      db.close();
      throw e;
    }
  }

  get open(): boolean {
    return !this.closing;
  }

  async read<T>(fn: (table: lancedb.Table) => Promise<T>): Promise<T> {
    this.reads++;
    try {
      return await fn(this.table);
    } finally {
      this.reads--;
      if (this.closing && this.reads === 0) this.release();
    }
  }

  close(): void {
    if (this.closing) return;
    this.closing = true;
    if (this.reads === 0) this.release();
  }

  private release(): void {
    if (this.table.isOpen()) this.table.close();
    if (this.db.isOpen()) this.db.close();
  }
}

export type GeneIndexState = "none" | "building" | "ready" | "failed" | "cleared";

export class DatasetGeneIndex {
  state: GeneIndexState = "none";
  jobId: string | null = null;
  /** The last build this session ran: its process and what it reported. */
  lastBuild: ChildBuild | null = null;
  private handle: GeneIndexTable | null = null;
  private looked: Promise<void> | null = null;
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
      jobs: JobService;
    },
  ) {
    this.root = geneIndexRoot(o.options.cacheDir);
  }

  /** The index when it is ready and still on disk; the first call looks for one built earlier. */
  async ready(): Promise<GeneIndexTable | null> {
    this.looked ??= this.lookUp();
    await this.looked;
    if (this.handle && !(await geneIndexPresent(this.handle.dir))) {
      // Removed under us (cache clear): read the source, and build no other until the dataset is opened again.
      this.drop();
      this.state = "cleared";
    }
    return this.handle;
  }

  /** Stops using the index (after a failed read through it); gene reads go to the source table. */
  drop(): void {
    this.handle?.close();
    this.handle = null;
    if (this.state === "ready") this.state = "failed";
  }

  /** Starts a build unless there is an index, one is building or failed, or the table is small. Returns its job id. */
  startBuild(): string | null {
    if (this.closed || this.state !== "none" || this.handle || this.o.rows < (this.o.options.minRows ?? GENE_INDEX_MIN_ROWS)) return null;
    this.state = "building";
    this.jobId = this.o.jobs.start("explore", "rows", async (ctx) => {
      const t0 = performance.now();
      let temp: string | null = null;
      try {
        const key = await geneIndexKey(this.o.tablePath, this.o.source, this.o.options.kind ?? geneIndexKind(this.o.rows));
        let dir = await findGeneIndex(this.root, key);
        if (!dir) {
          try {
            await removeLeftovers(this.root, key);
            temp = await makeBuildFolder(this.root, key);
          } catch (e) {
            throwNamed(e, this.root);
          }
          ctx.progress(0, this.o.rows, `Cloning the expression table for its gene index (${key.kind})`);
          const { childFile = geneIndexChildPath(), onChildMessage } = this.o.options;
          this.lastBuild = await buildInChild(childFile, { srcUri: key.tablePath, version: key.version, tmpDir: temp, kind: key.kind }, ctx.signal, (m) => {
            if (m.t === "progress" && m.phase === "index") ctx.progress(0, this.o.rows, `Indexing gene_integer_id (${key.kind})`);
            onChildMessage?.(m);
          });
          const built = await commitBuildFolder(this.root, temp, {
            kind: key.kind,
            tablePath: key.tablePath,
            version: key.version,
            manifest: key.manifest,
            folder: key.folder,
            builtAt: new Date().toISOString(),
            buildMs: Math.round(performance.now() - t0),
          }).catch((e: unknown) => throwNamed(e, this.root));
          temp = null;
          dir = built.dir;
          ctx.progress(this.o.rows, this.o.rows, "Indexed");
        }
        throwIfAborted(ctx.signal, "EXPLORE_CANCELLED");
        await this.use(dir);
        this.state = "ready";
        return { task: "index" as const, datasetId: this.o.datasetId, bytes: (await readGeneIndexMeta(dir))?.bytes ?? 0, ms: performance.now() - t0 };
      } catch (e) {
        this.state = "failed";
        throw e;
      } finally {
        if (temp) await dropBuildFolder(temp);
      }
    });
    return this.jobId;
  }

  /** The dataset closed: cancel a build, close the table once its reads end. */
  close(): void {
    this.closed = true;
    if (this.state === "building" && this.jobId) this.o.jobs.cancelJob(this.jobId);
    this.handle?.close();
    this.handle = null;
  }

  private async lookUp(): Promise<void> {
    try {
      for (const kind of ["bitmap", "btree"] as const) {
        const dir = await findGeneIndex(this.root, await geneIndexKey(this.o.tablePath, this.o.source, kind));
        if (!dir) continue;
        await this.use(dir);
        this.state = "ready";
        return;
      }
    } catch {
      // No usable index (unreadable cache, damaged folder, no manifest): reads stay on the source.
    }
  }

  private async use(dir: string): Promise<void> {
    const handle = await GeneIndexTable.open(dir);
    if (this.closed) return handle.close();
    this.handle?.close();
    this.handle = handle;
  }
}
