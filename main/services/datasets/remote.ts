/**
 * Opening a remote SLAF dataset through the gateway: `hf://datasets/...` (the revision resolved to a commit once,
 * every read at that commit) or `s3://bucket/prefix` (object versions fixed for this open). config.json and every
 * table are read through the gateway, and Lance's failures are named (offline misses, rate limits, missing
 * repos or buckets...) before the generic Lance mapping.
 */
import type * as lancedb from "@lancedb/lancedb";
import type { TableInfo } from "../../../shared/ipc/contract";
import { isAppFailure } from "../../../shared/result";
import { fail } from "../errors";
import type { Gateway, PinnedDataset, PinnedS3Dataset, S3Access } from "../gateway/index";
import { CONFIG_MAX_BYTES, parseConfig, type SlafConfig } from "./config";
import { lanceTableFailure } from "./lance-errors";
import { describeTable, openLanceTable } from "./lance-table";
import { tablePath } from "./uri";

export interface RemoteTables<P extends PinnedDataset | PinnedS3Dataset = PinnedDataset | PinnedS3Dataset> {
  pinned: P;
  config: SlafConfig;
  tables: Map<string, lancedb.Table>;
  connections: lancedb.Connection[];
  infos: TableInfo[];
}

/** Names a Lance failure on a remote table (the gateway's causes, damaged files), else the error as it came. */
function remoteFailure(e: unknown, uri: string, table: string): unknown {
  if (isAppFailure(e)) return e;
  return lanceTableFailure(e, { table, tablePath: uri }) ?? e;
}

export async function openHfDataset(gateway: Gateway, uri: string): Promise<RemoteTables<PinnedDataset>> {
  return openPinned(gateway, uri, await gateway.pin(uri), (p) => `at revision ${p.sha.slice(0, 12)}`);
}

export async function openS3Dataset(gateway: Gateway, uri: string, access: S3Access): Promise<RemoteTables<PinnedS3Dataset>> {
  return openPinned(gateway, uri, await gateway.pinS3(uri, access), () => "");
}

async function openPinned<P extends PinnedDataset | PinnedS3Dataset>(
  gateway: Gateway,
  uri: string,
  pinned: P,
  where: (p: P) => string,
): Promise<RemoteTables<P>> {
  const configUri = `${uri}/config.json`;
  let text: string;
  try {
    text = (await gateway.readFile(pinned, "config.json", { maxBytes: CONFIG_MAX_BYTES })).toString("utf8");
  } catch (e) {
    if (isAppFailure(e, "DATASET_NOT_FOUND") && /config\.json/.test(e.appError.message)) {
      fail("NOT_A_SLAF_DATASET", `${uri} has no config.json${where(pinned) ? ` ${where(pinned)}` : ""}, so it is not a SLAF dataset`, { path: configUri });
    }
    throw e;
  }
  const config = parseConfig(text, configUri);
  const tables = new Map<string, lancedb.Table>();
  const connections: lancedb.Connection[] = [];
  const infos: TableInfo[] = [];
  try {
    for (const [name, rel] of Object.entries(config.tables)) {
      const full = tablePath(pinned.uri, rel);
      if (!full) fail("CONFIG_INVALID", `config.json: tables.${name} = "${rel}" points outside the dataset`, { path: configUri });
      try {
        const { db, table } = await openLanceTable(full, pinned.storageOptions);
        connections.push(db);
        tables.set(name, table);
        infos.push(await describeTable(name, rel, table));
      } catch (e) {
        throw remoteFailure(e, full, name);
      }
    }
  } catch (e) {
    for (const t of tables.values()) t.close();
    for (const c of connections) c.close();
    throw e;
  }
  return { pinned, config, tables, connections, infos };
}
