/**
 * Pinning: making tables, or chosen columns of a table, of an `hf://` dataset fully local, for offline use. A pin
 * runs a real LanceDB scan of what it pins through the gateway and records every block the gateway serves under
 * the table's folder (a column's pages are exactly the byte ranges Lance reads to scan that column), plus what
 * opening the dataset reads (config.json, every table's manifest), which an offline open needs. Blocks that a
 * concurrent reader of the same table uses while the pin runs are pinned too (harmless: more stays local).
 *
 * While it runs, a "running" record keeps every process's eviction away from the dataset's folder; at the end,
 * each block is checked to be on disk (fetched again if it left), and the complete record replaces the running
 * one in one rename. Cancelled or failed: the running record goes, what was fetched stays as ordinary cache.
 */
import fs from "node:fs/promises";
import path from "node:path";
import type * as Lancedb from "@lancedb/lancedb";
import { AppFailure, isAppFailure } from "../../../shared/result";
import { currentOwner } from "../convert/stale";
import { CONFIG_MAX_BYTES, parseConfig } from "../datasets/config";
import type { PinScope } from "./cache-keeper";
import { completePinFile, pinId, runningPinFile, toRuns, writePinRecord, type PinnedFile, type PinRecord } from "./cache-pins";
import type { PinInfo } from "./cache-usage";
import { HubDiskCache } from "./disk-cache";
import { appFailureFromLanceError, gatewayFailure, type GatewayErrorCode } from "./errors";
import { parseHfUri, type Gateway, type PinnedDataset } from "./index";

export interface PinRequest {
  /** `hf://datasets/<owner>/<repo>[/<path>][@<revision>]`: the SLAF dataset (the revision is resolved now). */
  uri: string;
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

/** Records pins of one revision of a dataset: running records, scopes, the check, the complete records. */
export class PinRecorder {
  readonly cache: HubDiskCache;
  readonly revisionDir: string;
  private readonly running: string[] = [];

  constructor(
    private readonly gateway: Gateway,
    readonly dataset: PinnedDataset,
  ) {
    this.cache = new HubDiskCache(gateway.cacheDir, gateway.hubUpstream);
    this.revisionDir = this.cache.revisionDir(parseHfUri(dataset.uri).repo, dataset.sha);
  }

  private get repoId() {
    return parseHfUri(this.dataset.uri).repo;
  }

  private record(target: PinTarget, state: PinRecord["state"], prefixes: string[]): PinRecord {
    return {
      version: 1,
      id: pinId(this.dataset.path, target.table, target.columns),
      state,
      ...currentOwner(),
      repo: this.dataset.repo,
      sha: this.dataset.sha,
      dataset: this.dataset.path,
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
    const file = runningPinFile(this.revisionDir, pinId(this.dataset.path, target.table, target.columns));
    await writePinRecord(file, this.record(target, "running", prefixes));
    this.running.push(file);
  }

  /** Records every block served under these repo folders until the scope is closed. */
  scope(prefixes: string[]): PinScope {
    return this.cache.keeper.openScope(prefixes.map((p) => this.cache.fileDir(this.repoId, this.dataset.sha, p)));
  }

  /** Makes sure each block is on disk (fetching any that left again through the gateway) and writes the complete record. */
  async complete(target: PinTarget, blocks: Map<string, number>, rows: number, signal?: AbortSignal): Promise<PinRecord> {
    const byFile = new Map<string, number[]>();
    for (const file of blocks.keys()) {
      const dir = path.dirname(file);
      const start = Number(/^@(\d+)\.blk$/.exec(path.basename(file))?.[1]);
      if (!Number.isSafeInteger(start)) continue;
      byFile.set(dir, [...(byFile.get(dir) ?? []), start]);
    }
    const files: Record<string, PinnedFile> = {};
    let bytes = 0;
    const filesDir = path.join(this.revisionDir, "files");
    for (const [dir, starts] of byFile) {
      checkAborted(signal);
      const repoPath = path.relative(filesDir, dir).split(path.sep).map(decodeURIComponent).join("/");
      let meta = await this.cache.readFileMeta(this.repoId, this.dataset.sha, repoPath);
      if (!meta) {
        // Its folder was removed (an evict or clear meanwhile): reading a block again writes the meta again.
        await this.fetchAgain(repoPath, starts[0], starts[0]);
        meta = await this.cache.readFileMeta(this.repoId, this.dataset.sha, repoPath);
      }
      if (!meta)
        throw new AppFailure("SOURCE_UNREACHABLE", `${repoPath} left the cache while it was being pinned; pin again`, { path: repoPath, retryable: true });
      for (const start of starts) {
        const index = start / meta.blockBytes;
        const length = Math.min(meta.blockBytes, meta.size - start);
        if (!(await this.cache.hasBlock(this.repoId, this.dataset.sha, repoPath, meta, index))) await this.fetchAgain(repoPath, start, start + length - 1);
        bytes += length;
      }
      files[repoPath] = { blockBytes: meta.blockBytes, runs: toRuns(starts.map((s) => s / meta.blockBytes)) };
    }
    const record = { ...this.record(target, "complete", []), files, bytes, rows };
    await writePinRecord(completePinFile(this.revisionDir, record.id), record);
    return record;
  }

  private async fetchAgain(repoPath: string, start: number, end: number): Promise<void> {
    const { repo } = this.dataset;
    const enc = (p: string): string => p.split("/").map(encodeURIComponent).join("/");
    const res = await fetch(`${this.gateway.hfEndpoint}/datasets/${enc(repo)}/resolve/${this.dataset.sha}/${enc(repoPath)}`, {
      headers: { range: `bytes=${start}-${end}` },
    });
    await res.arrayBuffer();
    if (res.status === 206 || res.status === 200) return;
    const code = res.headers.get("x-error-code") as GatewayErrorCode | null;
    const message = res.headers.get("x-error-message") ?? `HTTP ${res.status}`;
    throw code ? gatewayFailure(code, message, { status: res.status, path: repoPath }) : new AppFailure("SOURCE_UNREACHABLE", message, { path: repoPath });
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
async function openTable(pinned: PinnedDataset, name: string, tablePath: string): Promise<OpenTable> {
  // Loaded here, not with this module: the cache commands that do not pin never load the native library.
  const lancedb = await import("@lancedb/lancedb");
  const uri = `hf://datasets/${pinned.repo}/${tablePath}`;
  const slash = uri.lastIndexOf("/");
  const db = await lancedb.connect(uri.slice(0, slash), { storageOptions: pinned.storageOptions }, new lancedb.Session());
  try {
    const table = await db.openTable(uri.slice(slash + 1, -".lance".length));
    const [schema, rows] = await Promise.all([table.schema(), table.countRows(), table.stats()]);
    return { name, tablePath, uri, db, table, rows, columns: schema.fields.map((f) => f.name) };
  } catch (e) {
    db.close();
    throw appFailureFromLanceError(e, { table: name }) ?? e;
  }
}

/**
 * Pins tables (or chosen columns of one table) of an `hf://` SLAF dataset: returns one PinInfo per table. The
 * gateway must be the one Lance reads through in this process (its `lanceEnv()` in process.env).
 */
export async function pinDataset(gateway: Gateway, request: PinRequest, opts: PinOptions = {}): Promise<PinInfo[]> {
  const { signal, onProgress } = opts;
  const pinned = await raceAbort(gateway.pin(request.uri), signal);
  const recorder = new PinRecorder(gateway, pinned);
  const opened: OpenTable[] = [];
  const report = (p: PinProgress): void => onProgress?.(p);
  try {
    // Opening: config.json and every table's manifest, under a running record over the whole dataset folder.
    const openTarget: PinTarget = { table: "", tablePath: pinned.path, columns: null };
    await recorder.protect(openTarget, [pinned.path]);
    const openScope = recorder.scope([pinned.path]);
    let config;
    try {
      report({ phase: "open", done: 0, total: null, table: null, message: `Opening ${request.uri}` });
      const text = (await raceAbort(gateway.readFile(pinned, "config.json", { maxBytes: CONFIG_MAX_BYTES }), signal)).toString("utf8");
      config = parseConfig(text, `${pinned.uri}/config.json`);
      for (const [name, rel] of Object.entries(config.tables)) {
        const tablePath = joinRepoPath(pinned.path, rel);
        if (rel.split("/").includes("..") || !tablePath.endsWith(".lance"))
          throw new AppFailure("CONFIG_INVALID", `config.json: tables.${name} = "${rel}" is not a .lance folder inside the dataset`, {
            path: `${pinned.uri}/config.json`,
          });
        opened.push(await raceAbort(openTable(pinned, name, tablePath), signal));
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
      records.push(await recorder.complete(target, blocks, rows, signal));
    }
    return records.map((r) => ({
      id: r.id,
      uri: `hf://datasets/${r.repo}${r.dataset ? `/${r.dataset}` : ""}@${r.sha}`,
      repo: r.repo,
      sha: r.sha,
      dataset: r.dataset,
      table: r.table,
      columns: r.columns,
      state: r.state,
      createdAt: r.createdAt,
      bytes: r.bytes,
      presentBytes: r.bytes,
      rows: r.rows,
    }));
  } finally {
    for (const t of opened) {
      t.table.close();
      t.db.close();
    }
    await recorder.finish();
    await recorder.cache.keeper.evictNow().catch(() => undefined);
  }
}
