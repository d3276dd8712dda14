import type * as lancedb from "@lancedb/lancedb";
import { MAX_PAGE_ROWS, type DatasetSummary, type DatasetsApi, type Empty, type RowPage, type TableInfo } from "../../../shared/ipc/contract";
import { arrow } from "../arrow";
import { fail, guard } from "../errors";
import { refuseWriteIntoDataset } from "../fs/write-guard";
import { configFacts, readLocalConfig, type SlafConfig } from "./config";
import { checkTableInsideDataset, describeTable, explainLocalOpenFailure, openLanceTable } from "./lance-table";
import { takeRowsCapped } from "./read-rows";
import type { OpenDataset } from "./open-dataset";
import { locate, tablePath } from "./uri";
import type { Gateway, S3Access } from "../gateway/index";
import { openHfDataset, openS3Dataset, type RemoteTables } from "./remote";

export interface DatasetServiceOptions {
  /** Builds the demo dataset if needed and returns its path (provided by the convert service). */
  ensureDemo?: () => Promise<string>;
  /** The gateway remote datasets are read through (provided by the sources service); without it they are refused. */
  gateway?: () => Promise<Gateway>;
  /** The user's S3 settings and secret, read at each open of an s3:// dataset. */
  s3Access?: () => Promise<S3Access>;
}

/** Opens SLAF datasets read-only, keeps their Lance handles refcounted, and pages rows out as Arrow IPC. */
export class DatasetService implements DatasetsApi {
  private readonly byId = new Map<string, OpenDataset>();
  private readonly byRoot = new Map<string, OpenDataset>();
  private readonly opening = new Map<string, Promise<OpenDataset>>();
  private readonly disposeListeners = new Set<(ds: OpenDataset) => void>();
  private nextId = 1;

  constructor(private readonly options: DatasetServiceOptions = {}) {}

  open(req: { uri: string }) {
    return guard(async () => (await this.acquire(req.uri)).summary);
  }

  openDemo() {
    return guard(async () => {
      if (!this.options.ensureDemo) fail("UNSUPPORTED_IN_MODE", "The demo dataset is not available in this build");
      return (await this.acquire(await this.options.ensureDemo())).summary;
    });
  }

  close(req: { datasetId: string }) {
    return guard(async () => {
      const ds = this.get(req.datasetId);
      ds.refs -= 1;
      if (ds.refs <= 0) this.dispose(ds);
      return null;
    });
  }

  list(_req: Empty = {}) {
    return guard(async () => [...this.byId.values()].map((d) => d.summary));
  }

  readRows(req: { datasetId: string; table: string; offset: number; limit: number; columns?: string[] }) {
    return guard(async (): Promise<RowPage> => {
      const ds = this.get(req.datasetId);
      const table = this.table(ds, req.table);
      const info = ds.summary.tables.find((t) => t.name === req.table) as TableInfo;
      const offset = Math.max(0, Math.floor(req.offset));
      const end = Math.min(info.rows, offset + Math.min(MAX_PAGE_ROWS, Math.max(0, Math.floor(req.limit))));
      const offsets = Array.from({ length: Math.max(0, end - offset) }, (_, i) => offset + i);
      if (req.columns) {
        const unknown = req.columns.filter((c) => !info.columns.some((col) => col.name === c));
        if (unknown.length) fail("INVALID_ARGUMENT", `Table "${req.table}" has no column ${unknown.join(", ")}`);
      }
      const where = { table: req.table, tablePath: tablePath(ds.root, info.path) ?? ds.root };
      const result = (await takeRowsCapped(table, offsets, req.columns, where)) ?? emptyTable(await table.schema(), req.columns);
      return { offset, numRows: result.numRows, totalRows: info.rows, arrow: arrow.tableToIPC(result as never, "stream") };
    });
  }

  /**
   * Refuses a write to `target` when it would land inside any SLAF dataset (links resolved), or when it is, or
   * holds, an open local dataset: nothing ever writes into a dataset.
   */
  async refuseWriteInside(target: string, what: string): Promise<void> {
    const openRoots = [...this.byRoot.values()].filter((ds) => ds.summary.source === "local").map((ds) => ds.root);
    await refuseWriteIntoDataset(target, what, openRoots);
  }

  /** Calls `listener` with each dataset as it closes (its last reference gone), so services let go of what they keep for it. */
  onDispose(listener: (ds: OpenDataset) => void): () => void {
    this.disposeListeners.add(listener);
    return () => this.disposeListeners.delete(listener);
  }

  /** For other services: the open dataset behind an id. */
  get(datasetId: string): OpenDataset {
    const ds = this.byId.get(datasetId);
    if (!ds) fail("DATASET_NOT_OPEN", `No open dataset with id ${datasetId}; open it again`);
    return ds;
  }

  table(ds: OpenDataset, name: string): lancedb.Table {
    const table = ds.tables.get(name);
    if (!table) fail("TABLE_UNKNOWN", `Dataset ${ds.summary.name} has no table "${name}"; it has ${[...ds.tables.keys()].join(", ")}`);
    return table;
  }

  async closeAll(): Promise<void> {
    for (const ds of [...this.byId.values()]) this.dispose(ds);
  }

  /** Opens or re-uses a dataset and adds a reference. */
  async acquire(uri: string): Promise<OpenDataset> {
    const loc = locate(uri);
    const existing = this.byRoot.get(loc.root);
    if (existing) {
      existing.refs += 1;
      return existing;
    }
    let pending = this.opening.get(loc.root);
    if (!pending) {
      pending = this.load(loc.root, loc.name, loc.source).finally(() => this.opening.delete(loc.root));
      this.opening.set(loc.root, pending);
    }
    const ds = await pending;
    if (!this.byRoot.has(loc.root)) {
      this.byRoot.set(loc.root, ds);
      this.byId.set(ds.summary.datasetId, ds);
    }
    ds.refs += 1;
    return ds;
  }

  private async load(root: string, name: string, source: DatasetSummary["source"]): Promise<OpenDataset> {
    if (source !== "local") return this.loadRemote(root, name, source);
    const config: SlafConfig = await readLocalConfig(root);
    const tables = new Map<string, lancedb.Table>();
    const infos: TableInfo[] = [];
    const conns: lancedb.Connection[] = [];
    try {
      for (const [tableName, rel] of Object.entries(config.tables)) {
        const full = tablePath(root, rel);
        if (!full) fail("CONFIG_INVALID", `config.json: tables.${tableName} = "${rel}" points outside the dataset folder`, { path: `${root}/config.json` });
        await checkTableInsideDataset(root, full, tableName);
        let opened;
        try {
          opened = await openLanceTable(full);
        } catch (e) {
          await explainLocalOpenFailure(full, tableName, e);
        }
        const { db, table } = opened as Awaited<ReturnType<typeof openLanceTable>>;
        conns.push(db);
        tables.set(tableName, table);
        try {
          infos.push(await describeTable(tableName, rel, table));
        } catch (e) {
          await explainLocalOpenFailure(full, tableName, e);
        }
      }
    } catch (e) {
      for (const t of tables.values()) t.close();
      for (const c of conns) c.close();
      throw e;
    }
    const datasetId = `ds${this.nextId++}`;
    return {
      summary: { datasetId, uri: root, name, source, revision: null, config: configFacts(config), tables: infos },
      config,
      root,
      tables,
      connections: conns,
      refs: 0,
    };
  }

  private async loadRemote(uri: string, name: string, source: "hf" | "s3"): Promise<OpenDataset> {
    if (!this.options.gateway) fail("SOURCE_UNSUPPORTED", `Opening ${source}:// datasets needs the gateway, which this command does not start: ${uri}`);
    const gateway = await this.options.gateway();
    const remote: RemoteTables =
      source === "hf" ? await openHfDataset(gateway, uri) : await openS3Dataset(gateway, uri, (await this.options.s3Access?.()) ?? {});
    const { pinned } = remote;
    return {
      summary: {
        datasetId: `ds${this.nextId++}`,
        uri,
        name: name || ("bucket" in pinned ? pinned.bucket : pinned.repo.split("/")[1]),
        source,
        revision: "bucket" in pinned ? null : { requested: pinned.revision, sha: pinned.sha },
        config: configFacts(remote.config),
        tables: remote.infos,
      },
      config: remote.config,
      root: uri,
      tables: remote.tables,
      connections: remote.connections,
      storageOptions: { ...pinned.storageOptions },
      tableRoot: pinned.uri,
      refs: 0,
    };
  }

  private dispose(ds: OpenDataset): void {
    for (const t of ds.tables.values()) if (t.isOpen()) t.close();
    for (const c of ds.connections) if (c.isOpen()) c.close();
    this.byId.delete(ds.summary.datasetId);
    this.byRoot.delete(ds.root);
    for (const listener of this.disposeListeners) listener(ds);
  }
}

function emptyTable(schema: unknown, columns?: string[]) {
  const full = schema as InstanceType<typeof arrow.Schema>;
  return new arrow.Table(columns ? full.select(columns) : full);
}
