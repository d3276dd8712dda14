/**
 * The door of main: every call from a page, through either binding (Electron IPC, browser WebSocket), comes
 * through `createDispatcher`. It checks the method exists and its argument against the method's schema
 * (INVALID_ARGUMENT naming the field otherwise), runs the service, turns anything thrown into a Result, and
 * keeps each page's holdings in a SessionLedger so they can be given back when the page goes.
 */
import { allMethods, channelOf, type Api, type JobEvent, type Namespace } from "../../shared/ipc/contract";
import { schemaOf } from "../../shared/ipc/schemas";
import { SchemaError } from "../../shared/ipc/schema";
import { err, type Result } from "../../shared/result";
import { toAppError } from "./errors";
import { SessionLedger, type SessionOwners } from "./sessions";

export interface Dispatcher {
  call(ns: string, method: string, arg: unknown, session: string): Promise<Result<unknown>>;
  /** Gives back what a page held (dataset references, results, watches; running queries are cancelled, previews stopped). */
  endSession(session: string): Promise<void>;
  /** Every contract method's channel name (Electron binds one handler per channel). */
  channels(): { ns: Namespace; method: string; channel: string }[];
}

export interface DispatchTarget {
  api: Api;
  owners: SessionOwners;
}

type Bound = (arg: unknown) => Promise<Result<unknown>>;

export function createDispatcher(target: DispatchTarget): Dispatcher {
  const ledger = new SessionLedger(target.owners);
  const bound = new Map<string, Bound>();
  for (const { ns, method } of allMethods()) {
    const service = target.api[ns] as unknown as Record<string, Bound>;
    bound.set(channelOf(ns, method), (arg) => service[method].call(service, arg));
  }

  /** A page may only give back what it holds itself. */
  function refuseForeign(session: string, ns: string, method: string, arg: Record<string, unknown>): Result<never> | null {
    const key = `${ns}.${method}`;
    if (key === "datasets.close" && !ledger.holdsDataset(session, String(arg.datasetId))) {
      return err("DATASET_NOT_OPEN", `This page has not opened dataset ${String(arg.datasetId)}, so it cannot close it`);
    }
    if (key === "query.release" && !ledger.holdsResult(session, String(arg.resultId))) {
      return err("RESULT_NOT_FOUND", `This page holds no result ${String(arg.resultId)}`);
    }
    if (key === "notebooks.unwatch" && !ledger.holdsWatch(session, String(arg.path))) return { ok: true, value: null } as Result<never>;
    if (key === "loader.stop" && !ledger.holdsLoader(session, String(arg.loaderId))) {
      return err("LOADER_NOT_FOUND", `This page has not started dataloader ${String(arg.loaderId)}, so it cannot stop it`);
    }
    return null;
  }

  return {
    async call(ns, method, rawArg, session) {
      const run = bound.get(channelOf(ns as Namespace, method));
      const schema = schemaOf(ns, method);
      if (!run || !schema) return err("INVALID_ARGUMENT", `Unknown method ${String(ns).slice(0, 40)}.${String(method).slice(0, 40)}`);
      let arg: Record<string, unknown>;
      try {
        arg = schema.parse(rawArg ?? {}, "") as Record<string, unknown>;
      } catch (e) {
        if (e instanceof SchemaError) return err("INVALID_ARGUMENT", `${ns}.${method}: ${e.message}`, { detail: `field: ${e.field}` });
        return { ok: false, error: toAppError(e) };
      }
      const refused = refuseForeign(session, ns, method, arg);
      if (refused) return refused;
      let result: Result<unknown>;
      try {
        result = await run(arg);
      } catch (e) {
        result = { ok: false, error: toAppError(e) };
      }
      ledger.record(session, ns, method, arg, result);
      return result;
    },
    endSession: (session) => ledger.end(session),
    channels: () => allMethods().map(({ ns, method }) => ({ ns, method, channel: channelOf(ns, method) })),
  };
}

/** The session owners of the composed services. */
export function ownersOf(s: {
  datasets: { close(req: { datasetId: string }): Promise<unknown> };
  query: { release(req: { resultId: string }): Promise<unknown> };
  notebooks: { unwatch(req: { path: string }): Promise<unknown> };
  jobs: { settled(jobId: string): Promise<JobEvent>; cancelJob(jobId: string): void };
  loader: { stop(req: { loaderId: string }): Promise<unknown> };
  explore: { dropSet(datasetId: string, name: string, version: number): Promise<unknown> };
  markers: { release(req: { id: string }): Promise<unknown> };
}): SessionOwners {
  return {
    closeDataset: (datasetId) => s.datasets.close({ datasetId }),
    releaseResult: (resultId) => s.query.release({ resultId }),
    unwatch: (path) => s.notebooks.unwatch({ path }),
    settled: (jobId) => s.jobs.settled(jobId),
    cancelJob: (jobId) => s.jobs.cancelJob(jobId),
    stopLoader: (loaderId) => s.loader.stop({ loaderId }),
    dropCellSet: (datasetId, name, version) => s.explore.dropSet(datasetId, name, version),
    releaseMarkers: (id) => s.markers.release({ id }),
  };
}
