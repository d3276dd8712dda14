/**
 * What each page (a browser tab's WebSocket session, an Electron webContents) holds in main: dataset
 * references, query results, notebook watches, running queries, dataloader previews and Explore cell sets. When the page goes, `end` gives them all
 * back, so a long-running server does not grow with page reloads, and one page cannot close or release what
 * another page holds.
 */
import type { Result } from "../../shared/result";
import type { JobEvent } from "../../shared/ipc/contract";

/** The services a session's holdings are returned to. */
export interface SessionOwners {
  closeDataset(datasetId: string): Promise<unknown>;
  releaseResult(resultId: string): Promise<unknown>;
  unwatch(path: string): Promise<unknown>;
  settled(jobId: string): Promise<JobEvent>;
  cancelJob(jobId: string): void;
  stopLoader(loaderId: string): Promise<unknown>;
  /** Drops an Explore cell set the page defined, unless it was redefined since (`version`). */
  dropCellSet(datasetId: string, name: string, version: number): Promise<unknown>;
  /** Drops a marker genes run or byGroup result. */
  releaseMarkers(id: string): Promise<unknown>;
}

interface Holdings {
  /** Dataset id → references this session added. */
  datasets: Map<string, number>;
  results: Set<string>;
  /** Notebook path → watches this session added. */
  watches: Map<string, number>;
  queries: Set<string>;
  /** Dataloader preview id → the dataset it reads. */
  loaders: Map<string, string>;
  /** Explore cell sets this session defined: `${datasetId}\0${name}` → the version it defined. */
  cellSets: Map<string, number>;
  /** Marker gene jobs running, and the runs / byGroup results they gave. */
  markerJobs: Set<string>;
  markers: Set<string>;
  ended: boolean;
}

function bump(map: Map<string, number>, key: string, by: number): void {
  const n = (map.get(key) ?? 0) + by;
  if (n > 0) map.set(key, n);
  else map.delete(key);
}

export class SessionLedger {
  private readonly sessions = new Map<string, Holdings>();

  constructor(private readonly owners: SessionOwners) {}

  private of(session: string): Holdings {
    let h = this.sessions.get(session);
    if (!h)
      this.sessions.set(
        session,
        (h = {
          datasets: new Map(),
          results: new Set(),
          watches: new Map(),
          queries: new Set(),
          loaders: new Map(),
          cellSets: new Map(),
          markerJobs: new Set(),
          markers: new Set(),
          ended: false,
        }),
      );
    return h;
  }

  holdsDataset(session: string, datasetId: string): boolean {
    return (this.sessions.get(session)?.datasets.get(datasetId) ?? 0) > 0;
  }

  holdsResult(session: string, resultId: string): boolean {
    return this.sessions.get(session)?.results.has(resultId) ?? false;
  }

  holdsWatch(session: string, path: string): boolean {
    return (this.sessions.get(session)?.watches.get(path) ?? 0) > 0;
  }

  holdsLoader(session: string, loaderId: string): boolean {
    return this.sessions.get(session)?.loaders.has(loaderId) ?? false;
  }

  /** Called after a method answered: records what the answer gave this session, or what it gave back. */
  record(session: string, ns: string, method: string, arg: Record<string, unknown>, result: Result<unknown>): void {
    if (!result.ok) return;
    const h = this.of(session);
    const value = result.value as Record<string, unknown>;
    switch (`${ns}.${method}`) {
      case "datasets.open":
      case "datasets.openDemo":
        bump(h.datasets, String(value.datasetId), 1);
        break;
      case "datasets.close":
        bump(h.datasets, String(arg.datasetId), -1);
        if (!h.datasets.has(String(arg.datasetId))) this.stopLoaders(h, String(arg.datasetId));
        break;
      case "notebooks.watch":
        bump(h.watches, String(arg.path), 1);
        break;
      case "notebooks.unwatch":
        bump(h.watches, String(arg.path), -1);
        break;
      case "query.release":
        h.results.delete(String(arg.resultId));
        break;
      case "query.start":
        this.trackQuery(session, h, String(value.jobId));
        break;
      case "loader.start":
        h.loaders.set(String(value.loaderId), String(arg.datasetId));
        break;
      case "loader.stop":
        h.loaders.delete(String(arg.loaderId));
        break;
      case "explore.defineSet":
      case "explore.importSetCsv":
        h.cellSets.set(`${String(arg.datasetId)}\0${String(value.name)}`, Number(value.version));
        break;
      case "explore.renameSet": {
        const from = `${String(arg.datasetId)}\0${String(arg.name)}`;
        const version = h.cellSets.get(from);
        h.cellSets.delete(from);
        if (version !== undefined) h.cellSets.set(`${String(arg.datasetId)}\0${String(value.name)}`, version);
        break;
      }
      case "explore.deleteSet":
        h.cellSets.delete(`${String(arg.datasetId)}\0${String(arg.name)}`);
        break;
      case "markers.start":
      case "markers.byGroup":
        this.trackMarkers(h, String(value.jobId));
        break;
      case "markers.release":
        h.markers.delete(String(arg.id));
        break;
    }
  }

  /** A page that no longer holds a dataset stops its dataloader previews on it. */
  private stopLoaders(h: Holdings, datasetId: string): void {
    for (const [loaderId, ds] of h.loaders) {
      if (ds !== datasetId) continue;
      h.loaders.delete(loaderId);
      void this.owners.stopLoader(loaderId).catch(() => undefined);
    }
  }

  /** A query's result belongs to the session that started it, even if the page never waits for it. */
  private trackQuery(session: string, h: Holdings, jobId: string): void {
    h.queries.add(jobId);
    void this.owners.settled(jobId).then(
      (event) => {
        h.queries.delete(jobId);
        const resultId = event.kind === "query" && event.state === "done" ? event.result?.resultId : undefined;
        if (!resultId) return;
        if (h.ended) void this.owners.releaseResult(resultId).catch(() => undefined);
        else h.results.add(resultId);
      },
      () => h.queries.delete(jobId),
    );
  }

  /** A markers job's run belongs to the session that started it, as a query's result does. */
  private trackMarkers(h: Holdings, jobId: string): void {
    h.markerJobs.add(jobId);
    void this.owners.settled(jobId).then(
      (event) => {
        h.markerJobs.delete(jobId);
        const r = event.kind === "markers" && event.state === "done" ? event.result : undefined;
        const id = r ? (r.task === "rank" ? r.markersId : r.byGroupId) : undefined;
        if (!id) return;
        if (h.ended) void this.owners.releaseMarkers(id).catch(() => undefined);
        else h.markers.add(id);
      },
      () => h.markerJobs.delete(jobId),
    );
  }

  /** Gives back everything the session holds; later results of its queries are released as they arrive. */
  async end(session: string): Promise<void> {
    const h = this.sessions.get(session);
    if (!h) return;
    this.sessions.delete(session);
    h.ended = true;
    for (const jobId of [...h.queries, ...h.markerJobs]) this.owners.cancelJob(jobId);
    const work: Promise<unknown>[] = [...h.loaders.keys()].map((loaderId) => this.owners.stopLoader(loaderId));
    for (const resultId of h.results) work.push(this.owners.releaseResult(resultId));
    for (const id of h.markers) work.push(this.owners.releaseMarkers(id));
    for (const [path, n] of h.watches) for (let i = 0; i < n; i++) work.push(this.owners.unwatch(path));
    for (const [key, version] of h.cellSets) {
      const [datasetId, name] = key.split("\0");
      work.push(this.owners.dropCellSet(datasetId, name, version));
    }
    for (const [datasetId, n] of h.datasets) for (let i = 0; i < n; i++) work.push(this.owners.closeDataset(datasetId));
    await Promise.allSettled(work);
  }

  /** Sessions currently holding something (for tests and diagnostics). */
  size(): number {
    return this.sessions.size;
  }
}
