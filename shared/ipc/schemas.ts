/**
 * One argument schema per contract method, checked at the door by the dispatcher for both bindings (Electron
 * IPC and the browser WebSocket): a malformed call is INVALID_ARGUMENT naming the field and never reaches a
 * service. The type check at the bottom fails to compile when a schema and its request type drift apart.
 */
import type { Empty, MethodName, Namespace, Request } from "./contract";
import { EXPLORE_MAX_IDS, EXPLORE_MAX_POINTS_PAGE, EXPLORE_MAX_POLYGON_POINTS } from "./types/explore";
import { MARKERS_MAX_GENES, MARKERS_MAX_PAGE } from "./types/markers";
import {
  array,
  boolean,
  bytes,
  clamped,
  nullable,
  number,
  object,
  oneOf,
  optional,
  pair,
  SchemaError,
  string,
  variant,
  withDefault,
  type Infer,
  type Schema,
} from "./schema";

const id = (what: string) => string({ pattern: /^[A-Za-z0-9_-]{1,64}$/, patternText: `a ${what} id (letters, digits, _ and -)` });
const path = string({ nonEmpty: true, maxLength: 4096 });
const offset = number({ integer: true, min: 0, max: Number.MAX_SAFE_INTEGER });
/** The longest SQL text a cell may send. */
export const MAX_SQL_CHARS = 1_000_000;
/** The largest notebook text a save may send (the same cap the service applies to reads). */
export const MAX_NOTEBOOK_CHARS = 16 * 1024 * 1024;
/** `jobs.wait` through the bridge answers within this long, with the running job's event if it has not ended. */
export const JOB_WAIT_DEFAULT_MS = 20_000;
export const JOB_WAIT_MAX_MS = 60_000;

/** A cell set's name: any text a person would type (it is an SQL value, never an identifier). */
const setName = string({ pattern: /^[^\p{Cc}]{1,128}$/u, patternText: "a set name (1 to 128 characters, no control characters)" });
const cellsColumn = string({ nonEmpty: true, maxLength: 1024 });
const dim = number({ integer: true, min: 0, max: 65_535 });

const categoryValue = nullable(string({ maxLength: 4096 }));
const markersReference = variant("kind", {
  rest: object({ kind: oneOf(["rest"] as const) }),
  group: object({ kind: oneOf(["group"] as const), name: categoryValue }),
});
const markersNormalization = optional(oneOf(["auto", "log1p_cp10k", "none"] as const));
const markersFilter = optional(
  object({
    minAbsLogfc: optional(number({ min: 0 })),
    maxPvalAdj: optional(number({ min: 0 })),
    minPctGroup: optional(number({ min: 0, max: 1 })),
    direction: optional(oneOf(["up", "down", "both"] as const)),
    search: optional(string({ maxLength: 256 })),
  }),
);
const geneIntegerId = number({ integer: true, min: 0, max: 2 ** 31 - 1 });

/** Methods that take no arguments: `{}` and nothing else. */
const empty = object({}) as Schema<Empty>;

/** The longest secret (token, key) accepted. */
export const MAX_SECRET_CHARS = 4096;

/** A write-only secret, or null to clear it. Its messages never quote the value, unlike the generic schemas. */
function secret(): Schema<string | null> {
  const expected = "a string (the secret) or null to clear it";
  return {
    expected,
    parse(value, field) {
      if (value === null) return null;
      if (typeof value !== "string") throw new SchemaError(field, `${field} must be ${expected}`);
      if (value.trim() === "") throw new SchemaError(field, `${field} is empty; send null to clear it`);
      if (value.length > MAX_SECRET_CHARS) throw new SchemaError(field, `${field} is too long (at most ${MAX_SECRET_CHARS} characters)`);
      if (/[\s\p{Cc}]/u.test(value)) throw new SchemaError(field, `${field} contains spaces or control characters (was something else pasted with it?)`);
      return value;
    },
  };
}
const setting = (maxLength: number) => optional(nullable(string({ maxLength })));

export const SCHEMAS = {
  app: {
    info: empty,
    pickPath: object({ kind: oneOf(["directory", "file", "save"] as const), title: string({ maxLength: 200 }), defaultPath: optional(string()) }),
  },
  datasets: {
    open: object({ uri: path }),
    openDemo: empty,
    close: object({ datasetId: id("dataset") }),
    list: empty,
    readRows: object({
      datasetId: id("dataset"),
      table: string({ nonEmpty: true, maxLength: 256 }),
      offset,
      limit: offset,
      columns: optional(array(string({ maxLength: 1024 }), { maxItems: 4096 })),
    }),
  },
  jobs: {
    wait: object({ jobId: id("job"), timeoutMs: withDefault(clamped(number({ min: 0 }), 0, JOB_WAIT_MAX_MS), JOB_WAIT_DEFAULT_MS) }),
    cancel: object({ jobId: id("job") }),
    list: empty,
  },
  query: {
    start: object({
      datasetId: id("dataset"),
      sql: string({ maxLength: MAX_SQL_CHARS }),
      name: optional(nullable(string({ maxLength: 128 }))),
      confirmed: optional(boolean()),
    }),
    preview: object({ datasetId: id("dataset"), sql: string({ maxLength: MAX_SQL_CHARS }) }),
    page: object({ resultId: id("result"), offset, limit: offset }),
    export: object({ resultId: id("result"), format: oneOf(["csv", "parquet"] as const), path, overwrite: optional(boolean()) }),
    release: object({ resultId: id("result") }),
  },
  convert: {
    inspect: object({ input: path }),
    start: object({
      input: path,
      output: path,
      force: optional(boolean()),
      matrix: optional(string({ nonEmpty: true, maxLength: 1024 })),
      keepOtherAsLayer: optional(boolean()),
      featureTypes: optional(array(string({ nonEmpty: true, maxLength: 256 }), { maxItems: 64 })),
      splitFeatureTypes: optional(boolean()),
      inputs: optional(array(object({ path, sample: optional(string({ nonEmpty: true, maxLength: 256 })) }), { maxItems: 1000 })),
      strict: optional(boolean()),
    }),
  },
  notebooks: {
    read: object({ path }),
    write: object({ path, text: string({ maxLength: MAX_NOTEBOOK_CHARS }), expectedMtimeMs: nullable(number()), overwrite: optional(boolean()) }),
    watch: object({ path }),
    unwatch: object({ path }),
    starter: object({ datasetId: id("dataset") }),
  },
  sources: {
    status: empty,
    setOffline: object({ offline: boolean() }),
  },
  settings: {
    get: empty,
    set: object({
      hubEndpoint: setting(2048),
      hfToken: optional(secret()),
      s3: optional(
        object({
          accessKeyId: setting(256),
          secretAccessKey: optional(secret()),
          region: setting(64),
          endpoint: setting(2048),
          pathStyle: optional(nullable(boolean())),
        }),
      ),
      sql: optional(object({ allowedDirectories: array(path, { maxItems: 256 }) })),
    }),
  },
  cache: {
    usage: empty,
    setCap: object({ capBytes: offset }),
    pin: object({
      uri: path,
      tables: optional(array(string({ nonEmpty: true, maxLength: 256 }), { maxItems: 64 })),
      columns: optional(array(string({ nonEmpty: true, maxLength: 1024 }), { maxItems: 4096 })),
    }),
    unpin: object({ uri: path, table: optional(string({ nonEmpty: true, maxLength: 256 })) }),
    evict: object({ uri: path, table: optional(string({ nonEmpty: true, maxLength: 256 })) }),
    clear: empty,
  },
  loader: {
    start: object({
      datasetId: id("dataset"),
      options: object({
        tokenizer: oneOf(["geneformer", "scgpt", "raw"] as const),
        mode: oneOf(["slafdb-0.5.2", "canonical"] as const),
        maxGenes: number({ integer: true, min: 1, max: 100_000 }),
        vocabSize: number({ integer: true, min: 1, max: 100_000_000 }),
        nExpressionBins: number({ integer: true, min: 1, max: 10_000 }),
        batchSize: number({ integer: true, min: 1, max: 8192 }),
        seed: number({ integer: true, min: 0, max: 2 ** 32 - 1 }),
        shuffle: boolean(),
        normalizeTotal: nullable(number({ min: Number.MIN_VALUE, max: 1e12 })),
        log1p: boolean(),
        geneMediansColumn: nullable(string({ nonEmpty: true, maxLength: 1024 })),
        epochs: number({ integer: true, min: 1, max: 10_000 }),
        labelColumn: nullable(string({ nonEmpty: true, maxLength: 1024 })),
      }),
    }),
    batch: object({ loaderId: id("loader"), index: offset, timeoutMs: withDefault(clamped(number({ min: 0 }), 0, JOB_WAIT_MAX_MS), JOB_WAIT_DEFAULT_MS) }),
    play: object({ loaderId: id("loader"), playing: boolean() }),
    status: object({ loaderId: id("loader") }),
    cell: object({ loaderId: id("loader"), index: offset, row: offset }),
    compare: object({ loaderId: id("loader"), index: offset }),
    export: object({ loaderId: id("loader"), index: offset, format: oneOf(["json", "npz"] as const), path, overwrite: optional(boolean()) }),
    stop: object({ loaderId: id("loader") }),
  },
  bench: {
    start: object({
      options: object({
        uris: array(path, { maxItems: 8 }),
        table: oneOf(["cells", "expression"] as const),
        columns: nullable(array(string({ nonEmpty: true, maxLength: 1024 }), { maxItems: 4096 })),
        batchSize: number({ integer: true, min: 1, max: 1_000_000 }),
        batches: nullable(number({ integer: true, min: 1, max: 100_000_000 })),
        seconds: nullable(number({ min: 0.1, max: 24 * 3600 })),
        cold: boolean(),
        concurrency: number({ integer: true, min: 1, max: 64 }),
        reader: oneOf(["scan", "raw", "geneformer", "scgpt"] as const),
        repeat: number({ integer: true, min: 1, max: 100 }),
      }),
    }),
    history: empty,
    get: object({ runId: id("run") }),
    remove: object({ runId: id("run") }),
    export: object({ runId: id("run"), format: oneOf(["csv", "json"] as const), path, overwrite: optional(boolean()) }),
  },
  explore: {
    info: object({ datasetId: id("dataset") }),
    points: object({
      datasetId: id("dataset"),
      column: cellsColumn,
      dims: pair(dim),
      offset,
      limit: clamped(number({ integer: true, min: 0 }), 0, EXPLORE_MAX_POINTS_PAGE),
    }),
    colors: object({ datasetId: id("dataset"), column: cellsColumn, as: optional(oneOf(["categorical", "continuous"] as const)) }),
    searchGenes: object({
      datasetId: id("dataset"),
      query: string({ maxLength: 256 }),
      limit: optional(clamped(number({ integer: true, min: 0 }), 1, 200)),
    }),
    gene: object({
      datasetId: id("dataset"),
      geneIntegerId: number({ integer: true, min: 0, max: 2 ** 31 - 1 }),
      transform: oneOf(["raw", "log1p_cp10k"] as const),
      requestKey: optional(id("request")),
    }),
    cancel: object({ requestKey: id("request") }),
    stats: object({ datasetId: id("dataset") }),
    defineSet: object({
      datasetId: id("dataset"),
      name: setName,
      from: variant("kind", {
        ids: object({ kind: oneOf(["ids"] as const), ids: bytes({ maxBytes: 4 * EXPLORE_MAX_IDS, unit: 4 }) }),
        result: object({ kind: oneOf(["result"] as const), resultId: id("result") }),
        category: object({
          kind: oneOf(["category"] as const),
          column: cellsColumn,
          values: array(nullable(string({ maxLength: 4096 })), { maxItems: 100_000 }),
        }),
        polygon: object({
          kind: oneOf(["polygon"] as const),
          column: cellsColumn,
          dims: pair(dim),
          polygon: array(number(), { maxItems: 2 * EXPLORE_MAX_POLYGON_POINTS }),
        }),
        algebra: object({
          kind: oneOf(["algebra"] as const),
          op: oneOf(["union", "intersection", "difference"] as const),
          sets: array(setName, { maxItems: 1000 }),
        }),
      }),
      replace: optional(boolean()),
    }),
    listSets: object({ datasetId: id("dataset") }),
    getSet: object({ datasetId: id("dataset"), name: setName }),
    renameSet: object({ datasetId: id("dataset"), name: setName, newName: setName }),
    deleteSet: object({ datasetId: id("dataset"), name: setName }),
    exportSetCsv: object({ datasetId: id("dataset"), name: setName, path, overwrite: optional(boolean()) }),
    importSetCsv: object({ datasetId: id("dataset"), name: setName, path, replace: optional(boolean()) }),
    qc: object({ datasetId: id("dataset"), set: optional(nullable(setName)) }),
    qcData: object({ datasetId: id("dataset"), set: optional(nullable(setName)) }),
  },
  markers: {
    start: object({
      datasetId: id("dataset"),
      comparison: variant("kind", {
        column: object({ kind: oneOf(["column"] as const), column: cellsColumn, group: categoryValue, reference: markersReference }),
        all: object({ kind: oneOf(["all"] as const), column: cellsColumn }),
        sets: object({ kind: oneOf(["sets"] as const), group: setName, reference: markersReference }),
      }),
      normalization: markersNormalization,
    }),
    table: object({
      markersId: id("markers"),
      group: optional(categoryValue),
      filter: markersFilter,
      offset: optional(offset),
      limit: optional(clamped(number({ integer: true, min: 0 }), 1, MARKERS_MAX_PAGE)),
    }),
    volcano: object({ markersId: id("markers"), group: optional(categoryValue) }),
    topPerGroup: object({ markersId: id("markers"), n: clamped(number({ integer: true, min: 0 }), 1, 100), filter: markersFilter }),
    byGroup: object({
      datasetId: id("dataset"),
      groupBy: variant("kind", {
        column: object({ kind: oneOf(["column"] as const), column: cellsColumn }),
        sets: object({ kind: oneOf(["sets"] as const), sets: array(setName, { maxItems: 1000 }) }),
      }),
      geneIntegerIds: array(geneIntegerId, { maxItems: MARKERS_MAX_GENES }),
      normalization: markersNormalization,
      bins: optional(clamped(number({ integer: true, min: 0 }), 4, 256)),
    }),
    byGroupData: object({ byGroupId: id("markers") }),
    release: object({ id: id("markers") }),
  },
} as const;

/** The schema of a method, or undefined for a name outside the contract. */
export function schemaOf(ns: string, method: string): Schema<unknown> | undefined {
  if (!Object.hasOwn(SCHEMAS, ns)) return undefined;
  const methods = SCHEMAS[ns as Namespace] as Record<string, Schema<unknown>>;
  return Object.hasOwn(methods, method) ? methods[method] : undefined;
}

// ---- compile-time proof that every method has a schema and each schema accepts exactly its request type
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type SchemaMatches = {
  [N in Namespace]: { [M in MethodName<N>]: M extends keyof (typeof SCHEMAS)[N] ? Same<Infer<(typeof SCHEMAS)[N][M]>, Request<N, M>> : "missing schema" };
};
type Mismatched = { [N in Namespace]: { [M in MethodName<N>]: SchemaMatches[N][M] extends true ? never : `${N}.${M}` }[MethodName<N>] }[Namespace];
type AssertNever<T extends never> = T;
export type _EverySchemaMatches = AssertNever<Mismatched>;
