/**
 * Pinning: making tables, or chosen columns of a table, of an `hf://` or `s3://` dataset fully local, for offline
 * use. A pin runs a real LanceDB scan of what it pins through the gateway and records every block the gateway
 * serves under the table's folder (a column's pages are exactly the byte ranges Lance reads to scan that column),
 * plus what opening the dataset reads (config.json, every table's manifest), which an offline open needs. Blocks
 * that a concurrent reader of the same table uses while the pin runs are pinned too (harmless: more stays local).
 * An S3 pin keeps the object versions it read; the listings and object heads an offline open needs are never
 * evicted anyway. Where records and blocks live per source: cache-pin-sites.ts.
 *
 * While it runs, a "running" record keeps every process's eviction away from the dataset's folder; at the end,
 * each block is checked to be on disk (fetched again if it left), and the complete record replaces the running
 * one in one rename. Cancelled or failed: the running record goes, what was fetched stays as ordinary cache.
 */
import fs from "node:fs/promises";
import type * as Lancedb from "@lancedb/lancedb";
import { AppFailure, isAppFailure } from "../../../shared/result";
import { currentOwner } from "../convert/stale";
import { CONFIG_MAX_BYTES, parseConfig } from "../datasets/config";
import type { PinScope } from "./cache-keeper";
import { completePinFile, pinId, runningPinFile, toRuns, writePinRecord, type PinnedFile, type PinRecord } from "./cache-pins";
import { pinSite, type PinSite, type PlacedBlock } from "./cache-pin-sites";
import { pinInfoOf, type PinInfo } from "./cache-usage";
import type { HubDiskCache } from "./disk-cache";
import { appFailureFromLanceError } from "./errors";
import type { Gateway, PinnedDataset, PinnedS3Dataset, S3Access } from "./index";

export interface PinRequest {
  /** `hf://datasets/<owner>/<repo>[/<path>][@<revision>]` (the revision is resolved now) or `s3://<bucket>[/<prefix>]`: the SLAF dataset. */
  uri: string;
  /** How to reach the bucket of an s3:// dataset (the S3 settings). */
  s3?: S3Access;
  /** Tables to pin, as config.json names them; default every table. */
  tables?: string[];
  /** Columns to pin (one table only); default every column. */
  columns?: string[];
}

export interface PinProgress {
  phase: "open" | "scan" | "check";
  /** Rows scanned so far, of all tables being pinned, and their total. */
  done: number;
  total: number | null;
  table: string | null;
  message: string;
}

export interface PinOptions {
  signal?: AbortSignal;
  onProgress?: (p: PinProgress) => void;
}

/** A table (or some of its columns) to pin. */
export interface PinTarget {
  table: string;
  /** The table's folder in the repo. */
  tablePath: string;
  columns: string[] | null;
}

function cancelled(signal: AbortSignal): unknown {
  return isAppFailure(signal.reason) ? signal.reason : Object.assign(new Error("The pin was cancelled"), { name: "AbortError" });
}

function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw cancelled(signal);
}

/** `promise`, or the abort as a rejection as soon as `signal` fires. */
function raceAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  checkAborted(signal);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(cancelled(signal));
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(e);
      },
    );
  });
}

function joinRepoPath(...parts: string[]): string {
  return parts
    .flatMap((p) => p.split("/"))
    .filter((p) => p !== "" && p !== ".")
    .join("/");
}

/** Records pins of one dataset (a Hub commit, or an S3 dataset as read now): running records, scopes, the check, the complete records. */
export class PinRecorder {
  private readonly running: string[] = [];

  constructor(readonly site: PinSite) {}

  get cache(): HubDiskCache {
    return this.site.cache;
  }

  private record(target: PinTarget, state: PinRecord["state"], prefixes: string[]): PinRecord {
    const { site } = this;
    return {
      version: 1,
      id: pinId(site.datasetPath, target.table, target.columns),
      state,
      ...(site.source ? { source: site.source } : {}),
      ...currentOwner(),
      repo: site.repo,
      sha: site.sha,
      dataset: site.datasetPath,
      table: target.table,
      tablePath: target.tablePath,
      columns: target.columns ? [...new Set(target.columns)].sort() : null,
      createdAt: new Date().toISOString(),
      prefixes,
      files: {},
      bytes: 0,
      rows: 0,
    };
  }

  /** Keeps every process's eviction away from these repo folders until `finish` (a running record on disk). */
  async protect(target: PinTarget, prefixes: string[]): Promise<void> {
    const file = runningPinFile(this.site.recordsDir, pinId(this.site.datasetPath, target.table, target.columns));
    await writePinRecord(file, this.record(target, "running", prefixes));
    this.running.push(file);
  }

  /** Records every block served under these repo folders until the scope is closed. */
  scope(prefixes: string[]): PinScope {
    return this.cache.keeper.openScope(this.site.scopeDirs(prefixes));
  }

  /**
   * Makes sure each block of these repo folders is on disk (fetching any that left again through the gateway)
   * and writes the complete record.
   */
  async complete(target: PinTarget, blocks: Map<string, number>, prefixes: string[], rows: number, signal?: AbortSignal): Promise<PinRecord> {
    const { site, cache } = this;
    const byFile = new Map<string, PlacedBlock[]>();
    for (const file of blocks.keys()) {
      const placed = site.place(file, prefixes);
      if (!placed) continue;
      const key = JSON.stringify([placed.folder, placed.repoPath]);
      byFile.set(key, [...(byFile.get(key) ?? []), placed]);
    }
    const files: Record<string, PinnedFile> = {};
    let bytes = 0;
    for (const placed of byFile.values()) {
      checkAborted(signal);
      const { folder, version, repoPath } = placed[0];
      let meta = await cache.readFileMeta(site.repoId, folder, repoPath);
      if (!meta) {
        // Its folder was removed (an evict or clear meanwhile): reading a block again writes the meta again.
        await site.fetchAgain(placed[0], placed[0].start);
        meta = await cache.readFileMeta(site.repoId, folder, repoPath);
      }
      if (!meta)
        throw new AppFailure("SOURCE_UNREACHABLE", `${repoPath} left the cache while it was being pinned; pin again`, { path: repoPath, retryable: true });
      for (const block of placed) {
        const index = block.start / meta.blockBytes;
        const length = Math.min(meta.blockBytes, meta.size - block.start);
        if (!(await cache.hasBlock(site.repoId, folder, repoPath, meta, index))) await site.fetchAgain(block, block.start + length - 1);
        bytes += length;
      }
      files[repoPath] = {
        blockBytes: meta.blockBytes,
        ...(version ? { version } : {}),
        runs: toRuns(placed.map((b) => b.start / meta.blockBytes)),
      };
    }
    const record = { ...this.record(target, "complete", []), files, bytes, rows };
    await writePinRecord(completePinFile(site.recordsDir, record.id), record);
    return record;
  }

  /** Removes the running records (done, failed or cancelled). */
  async finish(): Promise<void> {
    for (const file of this.running.splice(0)) await fs.rm(file, { force: true }).catch(() => undefined);
  }
}

interface OpenTable {
  name: string;
  tablePath: string;
  uri: string;
  db: Lancedb.Connection;
  table: Lancedb.Table;
  rows: number;
  columns: string[];
}

/** Opens a table through the gateway with a session of its own, so nothing comes from another connection's memory. */
async function openTable(site: PinSite, name: string, tablePath: string): Promise<OpenTable> {
  // Loaded here, not with this module: the cache commands that do not pin never load the native library.
  const lancedb = await import("@lancedb/lancedb");
  const uri = site.lanceUri(tablePath);
  const slash = uri.lastIndexOf("/");
  const db = await lancedb.connect(uri.slice(0, slash), { storageOptions: site.pinned.storageOptions }, new lancedb.Session());
  try {
    const table = await db.openTable(uri.slice(slash + 1, -".lance".length));
    const [schema, rows] = await Promise.all([table.schema(), table.countRows(), table.stats()]);
    return { name, tablePath, uri, db, table, rows, columns: schema.fields.map((f) => f.name) };
  } catch (e) {
    db.close();
    throw appFailureFromLanceError(e, { table: name }) ?? e;
  }
}

/** Opens the dataset a pin request names (hf:// or s3://) in the gateway. */
async function openSite(gateway: Gateway, request: PinRequest, signal: AbortSignal | undefined): Promise<PinSite> {
  const uri = request.uri.trim();
  const pinned: Promise<PinnedDataset | PinnedS3Dataset> = /^s3:\/\//i.test(uri) ? gateway.pinS3(uri, request.s3 ?? {}) : gateway.pin(uri);
  return pinSite(gateway, await raceAbort(pinned, signal));
}

/**
 * Pins tables (or chosen columns of one table) of an `hf://` or `s3://` SLAF dataset: returns one PinInfo per
 * table. The gateway must be the one Lance reads through in this process (its `lanceEnv()` in process.env).
 */
export async function pinDataset(gateway: Gateway, request: PinRequest, opts: PinOptions = {}): Promise<PinInfo[]> {
  const { signal, onProgress } = opts;
  const site = await openSite(gateway, request, signal);
  const { pinned } = site;
  const recorder = new PinRecorder(site);
  const opened: OpenTable[] = [];
  const report = (p: PinProgress): void => onProgress?.(p);
  try {
    // Opening: config.json and every table's manifest, under a running record over the whole dataset folder.
    const openTarget: PinTarget = { table: "", tablePath: site.datasetPath, columns: null };
    await recorder.protect(openTarget, [site.datasetPath]);
    const openScope = recorder.scope([site.datasetPath]);
    let config;
    try {
      report({ phase: "open", done: 0, total: null, table: null, message: `Opening ${request.uri}` });
      const text = (await raceAbort(gateway.readFile(pinned, "config.json", { maxBytes: CONFIG_MAX_BYTES }), signal)).toString("utf8");
      config = parseConfig(text, `${pinned.uri}/config.json`);
      for (const [name, rel] of Object.entries(config.tables)) {
        const tablePath = joinRepoPath(site.datasetPath, rel);
        if (rel.split("/").includes("..") || !tablePath.endsWith(".lance"))
          throw new AppFailure("CONFIG_INVALID", `config.json: tables.${name} = "${rel}" is not a .lance folder inside the dataset`, {
            path: `${pinned.uri}/config.json`,
          });
        opened.push(await raceAbort(openTable(site, name, tablePath), signal));
      }
    } finally {
      openScope.close();
    }
    const names = request.tables?.length ? [...new Set(request.tables)] : opened.map((t) => t.name);
    const unknown = names.filter((n) => !opened.some((t) => t.name === n));
    if (unknown.length)
      throw new AppFailure(
        "TABLE_UNKNOWN",
        `${request.uri} has no table ${unknown.map((n) => `"${n}"`).join(", ")}; it has ${opened.map((t) => t.name).join(", ")}`,
      );
    const targets = names.map((n) => opened.find((t) => t.name === n)!);
    const columns = request.columns?.length ? [...new Set(request.columns)] : null;
    if (columns) {
      if (targets.length !== 1) throw new AppFailure("INVALID_ARGUMENT", "Columns can be pinned for one table at a time: name the table");
      const missing = columns.filter((c) => !targets[0].columns.includes(c));
      if (missing.length)
        throw new AppFailure(
          "INVALID_ARGUMENT",
          `Table "${targets[0].name}" has no column ${missing.map((c) => `"${c}"`).join(", ")}; it has ${targets[0].columns.join(", ")}`,
        );
    }

    const total = targets.reduce((n, t) => n + t.rows, 0);
    let done = 0;
    const records: PinRecord[] = [];
    for (const t of targets) {
      const target: PinTarget = { table: t.name, tablePath: t.tablePath, columns };
      await recorder.protect(target, [t.tablePath]);
      const scope = recorder.scope([t.tablePath]);
      let rows = 0;
      try {
        const what = `${t.name}${columns ? ` (${columns.join(", ")})` : ""}`;
        report({ phase: "scan", done, total, table: t.name, message: `Reading ${what}` });
        const query = columns ? t.table.query().select(columns) : t.table.query();
        const batches = query[Symbol.asyncIterator]();
        try {
          for (;;) {
            const next = await raceAbort(batches.next(), signal);
            if (next.done) break;
            rows += next.value.numRows;
            done += next.value.numRows;
            report({ phase: "scan", done, total, table: t.name, message: `Reading ${what}` });
          }
        } catch (e) {
          void Promise.resolve(batches.return?.()).catch(() => undefined);
          throw appFailureFromLanceError(e, { table: t.name }) ?? e;
        }
      } finally {
        scope.close();
      }
      report({ phase: "check", done, total, table: t.name, message: `Checking ${t.name} is on disk` });
      const blocks = new Map([...openScope.blocks, ...scope.blocks]);
      records.push(await recorder.complete(target, blocks, [site.datasetPath], rows, signal));
    }
    return records.map((r) => pinInfoOf(r, r.bytes));
  } finally {
    for (const t of opened) {
      t.table.close();
      t.db.close();
    }
    await recorder.finish();
    await recorder.cache.keeper.evictNow().catch(() => undefined);
  }
}
