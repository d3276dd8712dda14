/**
 * Opens one location of a dataset for one measurement: its own LanceDB connections (so no Lance cache from an
 * earlier open or measurement hides a read), only the tables the reader needs, and for a cold measurement of a
 * remote source a cold scope of the gateway (reads neither read nor write the user's cache). Not the datasets
 * service's shared handles: those stay untouched by benchmarks.
 */
import type * as lancedb from "@lancedb/lancedb";
import type { BenchSourceKind } from "../../../shared/ipc/contract";
import { isAppFailure } from "../../../shared/result";
import { CONFIG_MAX_BYTES, configFacts, parseConfig, readLocalConfig, type SlafConfig } from "../datasets/config";
import { lanceTableFailure } from "../datasets/lance-errors";
import { checkTableInsideDataset, explainLocalOpenFailure, openLanceTable } from "../datasets/lance-table";
import type { OpenDataset } from "../datasets/open-dataset";
import { locate, tablePath } from "../datasets/uri";
import { fail } from "../errors";
import type { ColdScope, Gateway, PinnedDataset, PinnedS3Dataset, S3Access } from "../gateway/index";
import { gatewayQuiet } from "./counter-marks";

export interface SourceAccess {
  /** This process's gateway (started on first use). */
  gateway: () => Promise<Gateway>;
  s3Access: () => Promise<S3Access>;
  /** Folder for cold scopes' scratch caches (default: the system temp folder). */
  scratchDir?: string;
}

export interface OpenedSource {
  kind: BenchSourceKind;
  /** hf: the commit read; s3: the ETag of config.json; local: null. */
  revision: string | null;
  /** The tables opened, as the loader's prefetcher takes a dataset. */
  ds: OpenDataset;
  /** The gateway the reads go through (null for a local folder). */
  gateway: Gateway | null;
  /**
   * Closes the tables, waits until Lance has no request left at the gateway (reads it started ahead still count
   * to this source), then ends the cold scope, if any.
   */
  close(): Promise<void>;
}

export function sourceKind(uri: string): BenchSourceKind {
  return locate(uri).source;
}

function closeAll(tables: Map<string, lancedb.Table>, connections: lancedb.Connection[]): void {
  for (const t of tables.values()) if (t.isOpen()) t.close();
  for (const c of connections) if (c.isOpen()) c.close();
}

function missingTable(uri: string, name: string, config: SlafConfig): never {
  fail("TABLE_UNKNOWN", `${uri} has no table "${name}"; its config.json lists ${Object.keys(config.tables).join(", ")}`);
}

function dataset(
  uri: string,
  kind: BenchSourceKind,
  config: SlafConfig,
  tables: Map<string, lancedb.Table>,
  connections: lancedb.Connection[],
  extra: Partial<OpenDataset>,
): OpenDataset {
  const loc = locate(uri);
  return {
    summary: { datasetId: "bench", uri, name: loc.name, source: kind, revision: null, config: configFacts(config), tables: [] },
    config,
    root: loc.root,
    tables,
    connections,
    refs: 1,
    ...extra,
  };
}

/** The tables to open: `names`, plus those of `optional` that config.json lists. */
function wanted(config: SlafConfig, names: string[], optional: string[]): string[] {
  return [...names, ...optional.filter((n) => n in config.tables && !names.includes(n))];
}

async function openLocal(uri: string, names: string[], optional: string[]): Promise<OpenedSource> {
  const root = locate(uri).root;
  const config = await readLocalConfig(root);
  const tables = new Map<string, lancedb.Table>();
  const connections: lancedb.Connection[] = [];
  try {
    for (const name of wanted(config, names, optional)) {
      const rel = config.tables[name] ?? missingTable(uri, name, config);
      const full = tablePath(root, rel);
      if (!full) fail("CONFIG_INVALID", `config.json: tables.${name} = "${rel}" points outside the dataset folder`, { path: `${root}/config.json` });
      await checkTableInsideDataset(root, full, name);
      const opened = await openLanceTable(full).catch((e: unknown) => explainLocalOpenFailure(full, name, e));
      connections.push(opened.db);
      tables.set(name, opened.table);
    }
  } catch (e) {
    closeAll(tables, connections);
    throw e;
  }
  const ds = dataset(uri, "local", config, tables, connections, {});
  return { kind: "local", revision: null, ds, gateway: null, close: async () => closeAll(tables, connections) };
}

async function openRemote(
  uri: string,
  kind: "hf" | "s3",
  names: string[],
  optional: string[],
  cold: boolean,
  access: SourceAccess,
  signal?: AbortSignal,
): Promise<OpenedSource> {
  const gateway = await access.gateway();
  const scope: ColdScope | null = cold ? await gateway.coldScope(access.scratchDir) : null;
  // Cancelled while opening: ending the scope drops its upstream connections, so a stalled read fails now.
  const onAbort = () => void scope?.close();
  signal?.addEventListener("abort", onAbort, { once: true });
  const tables = new Map<string, lancedb.Table>();
  const connections: lancedb.Connection[] = [];
  const close = async (): Promise<void> => {
    closeAll(tables, connections);
    await gatewayQuiet(gateway);
    await scope?.close();
  };
  try {
    const opener = scope ?? gateway;
    const pinned: PinnedDataset | PinnedS3Dataset = kind === "hf" ? await opener.pin(uri) : await opener.pinS3(uri, await access.s3Access());
    const configUri = `${uri}/config.json`;
    const text = await gateway.readFile(pinned, "config.json", { maxBytes: CONFIG_MAX_BYTES }).catch((e: unknown) => {
      if (isAppFailure(e, "DATASET_NOT_FOUND") && /config\.json/.test(e.appError.message))
        fail("NOT_A_SLAF_DATASET", `${uri} has no config.json, so it is not a SLAF dataset`, { path: configUri });
      throw e;
    });
    const config = parseConfig(text.toString("utf8"), configUri);
    for (const name of wanted(config, names, optional)) {
      const rel = config.tables[name] ?? missingTable(uri, name, config);
      const full = tablePath(pinned.uri, rel);
      if (!full) fail("CONFIG_INVALID", `config.json: tables.${name} = "${rel}" points outside the dataset`, { path: configUri });
      try {
        const opened = await openLanceTable(full, pinned.storageOptions);
        connections.push(opened.db);
        tables.set(name, opened.table);
      } catch (e) {
        throw isAppFailure(e) ? e : (lanceTableFailure(e, { table: name, tablePath: full }) ?? e);
      }
    }
    const ds = dataset(uri, kind, config, tables, connections, { storageOptions: { ...pinned.storageOptions }, tableRoot: pinned.uri });
    if ("sha" in pinned) ds.summary.revision = { requested: pinned.revision, sha: pinned.sha };
    return { kind, revision: "sha" in pinned ? pinned.sha : pinned.version, ds, gateway, close };
  } catch (e) {
    await close();
    throw e;
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
}

/**
 * Opens tables `names` (and those of `optional` the dataset has) of the dataset at `uri`; an hf:// URI should name
 * its commit, so every repeat reads the same one.
 */
export function openSource(uri: string, names: string[], optional: string[], cold: boolean, access: SourceAccess, signal?: AbortSignal): Promise<OpenedSource> {
  const kind = sourceKind(uri);
  return kind === "local" ? openLocal(uri, names, optional) : openRemote(uri, kind, names, optional, cold, access, signal);
}
