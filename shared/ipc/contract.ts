/**
 * The one contract between the renderer and main. The Electron preload, the Electron IPC binding and the
 * browser-mode WebSocket binding are all derived from METHODS and EVENT_NAMES below; nothing is listed twice.
 */
import type { AppApi, AppCommand } from "./types/app";
import type { BenchApi } from "./types/bench";
import type { CacheApi } from "./types/cache";
import type { ConvertApi } from "./types/convert";
import type { DatasetsApi } from "./types/datasets";
import type { ExploreApi } from "./types/explore";
import type { JobEvent, JobsApi } from "./types/jobs";
import type { LoaderApi } from "./types/loader";
import type { MarkersApi } from "./types/markers";
import type { NotebooksApi } from "./types/notebooks";
import type { QueryApi } from "./types/query";
import type { SettingsApi } from "./types/settings";
import type { SourcesApi } from "./types/sources";

export type * from "./types/app";
export { APP_COMMANDS } from "./types/app";
export type * from "./types/bench";
export { BENCH_ANNOUNCEMENT_PRESET } from "./types/bench";
export type * from "./types/cache";
export type * from "./types/common";
export type * from "./types/convert";
export type * from "./types/datasets";
export type * from "./types/explore";
export { EXPLORE_MAX_CATEGORIES, EXPLORE_MAX_IDS, EXPLORE_MAX_POINTS_PAGE, EXPLORE_MAX_POLYGON_POINTS } from "./types/explore";
export type * from "./types/jobs";
export type * from "./types/loader";
export { LOADER_DEFAULTS } from "./types/loader";
export type * from "./types/markers";
export { MARKERS_MAX_GENES, MARKERS_MAX_PAGE } from "./types/markers";
export type * from "./types/notebooks";
export type * from "./types/query";
export type * from "./types/settings";
export type * from "./types/sources";

export interface Api {
  app: AppApi;
  datasets: DatasetsApi;
  jobs: JobsApi;
  query: QueryApi;
  convert: ConvertApi;
  notebooks: NotebooksApi;
  sources: SourcesApi;
  settings: SettingsApi;
  cache: CacheApi;
  loader: LoaderApi;
  bench: BenchApi;
  explore: ExploreApi;
  markers: MarkersApi;
}

export type Namespace = keyof Api;
export type MethodName<N extends Namespace> = keyof Api[N] & string;

type MethodList = { readonly [N in Namespace]: readonly MethodName<N>[] };

export const METHODS = {
  app: ["info", "pickPath"],
  datasets: ["open", "openDemo", "close", "list", "readRows"],
  jobs: ["wait", "cancel", "list"],
  query: ["start", "preview", "page", "export", "release"],
  convert: ["inspect", "start"],
  notebooks: ["read", "write", "watch", "unwatch", "starter"],
  sources: ["status", "setOffline"],
  settings: ["get", "set"],
  cache: ["usage", "setCap", "pin", "unpin", "evict", "clear"],
  loader: ["start", "batch", "play", "status", "cell", "compare", "export", "stop"],
  bench: ["start", "history", "get", "remove", "export"],
  explore: [
    "info",
    "points",
    "colors",
    "searchGenes",
    "gene",
    "cancel",
    "stats",
    "defineSet",
    "listSets",
    "getSet",
    "renameSet",
    "deleteSet",
    "exportSetCsv",
    "importSetCsv",
    "qc",
    "qcData",
  ],
  markers: ["start", "table", "volcano", "topPerGroup", "byGroup", "byGroupData", "release"],
} as const satisfies MethodList;

// A method of Api missing from METHODS is a compile error here.
type Unlisted = { [N in Namespace]: Exclude<MethodName<N>, (typeof METHODS)[N][number]> }[Namespace];
type AssertNever<T extends never> = T;
export type _EveryMethodListed = AssertNever<Unlisted>;

/** Push events from main to the renderer. */
export interface Events {
  job: JobEvent;
  "notebook.changed": { path: string; mtimeMs: number | null };
  "app.command": { command: AppCommand };
}
export type EventName = keyof Events;
export const EVENT_NAMES = ["job", "notebook.changed", "app.command"] as const satisfies readonly EventName[];
type UnlistedEvent = Exclude<EventName, (typeof EVENT_NAMES)[number]>;
export type _EveryEventListed = AssertNever<UnlistedEvent>;

export type Method<N extends Namespace, M extends MethodName<N>> = Api[N][M] extends (req: infer Q) => Promise<infer R> ? (req: Q) => Promise<R> : never;
export type Request<N extends Namespace, M extends MethodName<N>> = Parameters<Method<N, M>>[0];

/** What the renderer holds: the whole Api plus event subscription. */
export type Client = Api & {
  on<E extends EventName>(name: E, listener: (payload: Events[E]) => void): () => void;
};

/** The most rows one page (datasets.readRows, query.page) carries; the renderer never receives more at once. */
export const MAX_PAGE_ROWS = 5_000;
/** The most bytes of rows one page carries (wide rows give fewer rows; numRows says how many): at most this plus one row. */
export const MAX_PAGE_BYTES = 8 * 1024 * 1024;

/** Electron IPC channel of a method; the browser binding uses the same names. */
export function channelOf(ns: Namespace, method: string): string {
  return `slafwb:${ns}.${method}`;
}
export const EVENT_CHANNEL = "slafwb:event";

export function allMethods(): { ns: Namespace; method: string }[] {
  return (Object.keys(METHODS) as Namespace[]).flatMap((ns) => METHODS[ns].map((method) => ({ ns, method })));
}
