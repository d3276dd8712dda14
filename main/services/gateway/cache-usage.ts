/**
 * What the cache holds, per source, dataset (repo or bucket + folder), revision and table, and removing parts of
 * it. A file belongs to the table whose `<name>.lance/` folder holds it, and to the dataset that folder is in; a
 * file outside any table (config.json) belongs to its own folder's dataset with table null. S3 objects are
 * cached per ETag, not per commit: their entries have no revision.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import type { CacheEntry, CachePin as PinInfo, CacheRemoval as RemovalResult, CacheSelector, CacheUsage } from "../../../shared/ipc/contract";
import { AppFailure } from "../../../shared/result";
import { GENE_INDEX_FOLDER, listGeneIndexes } from "../explore/gene-index-store";
import { readCap } from "./cache-cap";
import { fileDirIn, loadPins, loadRevisionPins, pinnedBlockNames, pinnedFileDir, protectedByPins, type LoadedPin, type PinRecord } from "./cache-pins";
import { walkCache, walkedBytes, type WalkedCache, type WalkedRepo, type WalkedRevision } from "./cache-walk";
import { parseHfUri } from "./index";
import { cleanRepoPath, SHA, withinFolder } from "./hub-routes";

// The contract's shapes: what the cache service answers is exactly what this module computes.
export type { CacheEntry, CacheUsage, CachePin as PinInfo, CacheSelector, CacheRemoval as RemovalResult } from "../../../shared/ipc/contract";

/** The table and dataset a repo path belongs to. */
export function placeOf(repoPath: string): { dataset: string; table: string | null } {
  const parts = repoPath.split("/");
  const at = parts.findIndex((p, i) => p.endsWith(".lance") && p.length > ".lance".length && i < parts.length - 1);
  if (at >= 0) return { dataset: parts.slice(0, at).join("/"), table: parts[at].slice(0, -".lance".length) };
  return { dataset: parts.slice(0, -1).join("/"), table: null };
}

function datasetUri(repo: string, dataset: string, sha: string): string {
  return `hf://datasets/${repo}${dataset ? `/${dataset}` : ""}@${sha}`;
}

function refsOf(repo: WalkedRepo, sha: string): string[] {
  return Object.entries(repo.refs)
    .filter(([, s]) => s === sha)
    .map(([name]) => name)
    .sort();
}

function s3DatasetUri(bucket: string, dataset: string): string {
  return `s3://${bucket}${dataset ? `/${dataset}` : ""}`;
}

/** What a pin record is, as the cache lists it; `presentBytes`: how much of it is on disk now. */
export function pinInfoOf(r: PinRecord, presentBytes: number): PinInfo {
  const s3 = r.source === "s3";
  return {
    id: r.id,
    source: s3 ? "s3" : "hf",
    uri: s3 ? s3DatasetUri(r.repo, r.dataset) : datasetUri(r.repo, r.dataset, r.sha),
    repo: r.repo,
    sha: s3 ? null : r.sha,
    dataset: r.dataset,
    table: r.table,
    columns: r.columns,
    state: r.state,
    createdAt: r.createdAt,
    bytes: r.bytes,
    presentBytes,
    rows: r.rows,
  };
}

async function pinInfo(pin: LoadedPin): Promise<PinInfo> {
  let present = 0;
  for (const [repoPath, file] of Object.entries(pin.record.files)) {
    const dir = pinnedFileDir(pin, repoPath, file);
    for (const name of pinnedBlockNames(file)) present += (await fs.stat(path.join(dir, name)).catch(() => null))?.size ?? 0;
  }
  return pinInfoOf(pin.record, present);
}

/** Bytes cached per dataset, revision and table; pinned bytes; last use; size against the cap. */
export async function cacheUsage(root: string): Promise<CacheUsage> {
  const walked = await walkCache(root);
  const { pins } = await loadPins(walked);
  const { blocks: pinned } = protectedByPins(pins.filter((p) => p.record.state === "complete"));
  const entries = new Map<string, CacheEntry>();
  let pinnedBytes = 0;
  for (const s of walked.sources)
    for (const r of s.repos)
      for (const v of r.revisions)
        for (const f of v.files) {
          const { dataset, table } = placeOf(f.repoPath);
          const s3 = s.kind === "s3";
          const repo = s3 ? r.owner : `${r.owner}/${r.name}`;
          const key = JSON.stringify([s.kind, s.key, repo, s3 ? null : v.sha, dataset, table]);
          let e = entries.get(key);
          if (!e) {
            e = {
              source: s.kind,
              endpoint: s.endpoint,
              repo,
              dataset,
              sha: s3 ? null : v.sha,
              refs: s3 ? [] : refsOf(r, v.sha),
              table,
              uri: s3 ? s3DatasetUri(repo, dataset) : datasetUri(repo, dataset, v.sha),
              bytes: 0,
              pinnedBytes: 0,
              blocks: 0,
              lastUsed: null,
            };
            entries.set(key, e);
          }
          e.bytes += f.otherBytes;
          for (const b of f.blocks) {
            e.bytes += b.bytes;
            e.blocks++;
            if (pinned.has(b.file)) {
              e.pinnedBytes += b.bytes;
              pinnedBytes += b.bytes;
            }
            if (e.lastUsed === null || b.mtimeMs > Date.parse(e.lastUsed)) e.lastUsed = new Date(b.mtimeMs).toISOString();
          }
        }
  const order = (e: CacheEntry): string => JSON.stringify([e.source, e.endpoint ?? "", e.repo, e.dataset, e.sha ?? "", e.table ?? ""]);
  return {
    dir: path.resolve(root),
    totalBytes: walkedBytes(walked),
    pinnedBytes,
    capBytes: await readCap(root),
    entries: [...entries.values()].sort((a, b) => (order(a) < order(b) ? -1 : 1)),
    // The running record of a pin's opening phase (table "") is bookkeeping, not a pin.
    pins: await Promise.all(pins.filter((p) => p.record.table !== "").map(pinInfo)),
    geneIndexes: await listGeneIndexes(path.join(root, GENE_INDEX_FOLDER)),
  };
}

/**
 * What to remove: a dataset (`hf://datasets/<repo>[/<path>]`), at one revision (`@sha`, or a branch/tag as last
 * resolved here) or all, optionally one table; or an S3 dataset (`s3://<bucket>[/<prefix>]`), every version.
 */
/** Moves a folder out of the cache's tree in one rename (readers see it whole or gone), then deletes it. */
async function removeTree(root: string, dir: string): Promise<void> {
  const trash = path.join(root, `.trash-${process.pid}-${randomBytes(6).toString("hex")}`);
  try {
    await fs.rename(dir, trash);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
    throw e;
  }
  await fs.rm(trash, { recursive: true, force: true });
}

/** Tree and paths-info docs of a commit about paths under `prefix` (their key names the paths). */
async function docsUnder(revisionDir: string, prefix: string): Promise<string[]> {
  const dir = path.join(revisionDir, "@docs");
  const out: string[] = [];
  for (const name of await fs.readdir(dir).catch(() => [] as string[])) {
    if (!name.endsWith(".json")) continue;
    const file = path.join(dir, name);
    const key = await fs
      .readFile(file, "utf8")
      .then((t) => (JSON.parse(t) as { key?: unknown }).key)
      .catch(() => null);
    if (typeof key !== "string") continue;
    const lines = key.split("\n");
    const paths = lines[0] === "tree" ? [lines[3] ?? ""] : lines[0] === "paths-info" ? lines.slice(2) : [];
    if (paths.length && paths.every((p) => p !== "" && withinFolder(p, prefix))) out.push(file);
  }
  return out;
}

/** The revisions of a repo a selector's revision names: a sha, or a branch/tag through the refs cached here; null: all. */
function revisionsOf(repo: WalkedRepo, revision: string | null): WalkedRevision[] {
  if (revision === null) return repo.revisions;
  const sha = SHA.test(revision) ? revision : repo.refs[revision];
  return repo.revisions.filter((v) => v.sha === sha);
}

function blockBytes(files: { otherBytes: number; blocks: { bytes: number }[] }[]): { bytes: number; blocks: number } {
  let bytes = 0;
  let blocks = 0;
  for (const f of files) {
    bytes += f.otherBytes;
    for (const b of f.blocks) bytes += b.bytes;
    blocks += f.blocks.length;
  }
  return { bytes, blocks };
}

/** Removes the folders `prefixes` (repo paths) of one cached revision, their listings and the pins on them. */
async function removeFromRevision(root: string, v: WalkedRevision, prefixes: string[], result: RemovalResult): Promise<void> {
  const sized = blockBytes(v.files.filter((f) => prefixes.some((p) => withinFolder(f.repoPath, p))));
  result.removedBytes += sized.bytes;
  result.removedBlocks += sized.blocks;
  const { pins } = await loadRevisionPins(v);
  for (const p of pins) {
    if (!prefixes.some((prefix) => withinFolder(p.record.tablePath, prefix))) continue;
    await fs.rm(p.file, { force: true });
    result.pinsRemoved++;
  }
  for (const prefix of prefixes) {
    for (const doc of await docsUnder(v.dir, prefix)) await fs.rm(doc, { force: true });
    await removeTree(root, fileDirIn(v.dir, prefix));
  }
}

/**
 * Removes a dataset, revision or table from the cache, pins included (an explicit removal is also an unpin).
 * Readers in other processes that still use it fetch it again (online) or fail with OFFLINE_NOT_CACHED.
 */
export async function removeFromCache(root: string, selector: CacheSelector): Promise<RemovalResult> {
  const target = parseTarget(selector.uri);
  const table = selector.table;
  if (table !== undefined && !/^[^/\\]+$/.test(table)) throw new AppFailure("INVALID_ARGUMENT", `Not a table name: "${table}"`);
  const { owner, name, dataset, revision } = target;
  const walked = await walkCache(root);
  const repos = walked.sources
    .filter((s) => s.kind === target.kind)
    .flatMap((s) => s.repos)
    .filter((r) => r.owner === owner && r.name === name);
  if (revision !== null && !SHA.test(revision) && repos.length && repos.every((r) => r.refs[revision] === undefined))
    throw new AppFailure("INVALID_ARGUMENT", `Revision "${revision}" of ${owner}/${name} is not in the cache; give its commit sha`);
  const result: RemovalResult = { removedBytes: 0, removedBlocks: 0, pinsRemoved: 0 };
  for (const r of repos) {
    // A bucket's pins (S3) cover every object version folder of it.
    const repoPins = (await loadRevisionPins(r)).pins;
    const wholeRepo = revision === null && dataset === "" && table === undefined;
    for (const v of revisionsOf(r, revision)) {
      if (dataset === "" && table === undefined) {
        const sized = blockBytes(v.files);
        result.removedBytes += sized.bytes + v.docBytes;
        result.removedBlocks += sized.blocks;
        result.pinsRemoved += (await loadRevisionPins(v)).pins.length;
        await removeTree(root, v.dir);
        continue;
      }
      let prefixes = [dataset];
      if (table !== undefined) {
        // The table's folders under the dataset: from the files cached, and from pins (whose files may be gone).
        const found = new Set<string>();
        for (const f of v.files) {
          const place = placeOf(f.repoPath);
          if (place.table === table && withinFolder(place.dataset, dataset)) found.add(place.dataset ? `${place.dataset}/${table}.lance` : `${table}.lance`);
        }
        for (const p of [...(await loadRevisionPins(v)).pins, ...repoPins])
          if (p.record.table === table && withinFolder(p.record.tablePath, dataset)) found.add(p.record.tablePath);
        prefixes = [...found];
      }
      await removeFromRevision(root, v, prefixes, result);
    }
    for (const p of repoPins) {
      if (!wholeRepo && !(withinFolder(p.record.tablePath, dataset) && (table === undefined || p.record.table === table))) continue;
      await fs.rm(p.file, { force: true });
      result.pinsRemoved++;
    }
    if (wholeRepo) await removeTree(root, r.dir);
  }
  return result;
}

/** The cached repo (or bucket) a selector's URI names, with the folder inside it and the revision. */
function parseTarget(uri: string): { kind: "hf" | "s3"; owner: string; name: string; dataset: string; revision: string | null } {
  const s3 = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri.trim());
  if (s3) {
    const dataset = s3[2] === "" ? "" : cleanRepoPath(s3[2].replace(/\/+$/, "").split("/"));
    if (dataset === null) throw new AppFailure("INVALID_ARGUMENT", `Not a valid S3 dataset URI: ${uri}. Expected s3://<bucket>[/<prefix>]`);
    return { kind: "s3", owner: s3[1], name: "objects", dataset, revision: null };
  }
  const { repo, path: dataset, revision } = parseHfUri(uri);
  return { kind: "hf", owner: repo.owner, name: repo.name, dataset, revision };
}

/** Removes everything cached, Hub and S3 (pins included) and Explore's gene indexes; the cap setting stays. */
export async function clearCache(root: string): Promise<RemovalResult> {
  const walked: WalkedCache = await walkCache(root);
  const { pins } = await loadPins(walked);
  const sized = blockBytes(walked.sources.flatMap((s) => s.repos.flatMap((r) => r.revisions.flatMap((v) => v.files))));
  const before = walkedBytes(walked);
  await removeTree(root, path.join(root, "hf"));
  await removeTree(root, path.join(root, "s3"));
  await removeTree(root, path.join(root, GENE_INDEX_FOLDER));
  // Trash left by an earlier removal that was cut short.
  for (const name of await fs.readdir(root).catch(() => [] as string[]))
    if (name.startsWith(".trash-")) await fs.rm(path.join(root, name), { recursive: true, force: true });
  return { removedBytes: before - walkedBytes(await walkCache(root)), removedBlocks: sized.blocks, pinsRemoved: pins.length };
}

/** Removes pin records (a dataset's, a revision's or a table's); their blocks stay as ordinary cache, evictable again. */
export async function removePins(root: string, selector: CacheSelector): Promise<number> {
  const { kind, owner, name, dataset, revision } = parseTarget(selector.uri);
  const walked = await walkCache(root);
  let removed = 0;
  const repos = walked.sources.filter((s) => s.kind === kind).flatMap((s) => s.repos);
  for (const r of repos.filter((x) => x.owner === owner && x.name === name))
    for (const holder of [r, ...revisionsOf(r, revision)])
      for (const p of (await loadRevisionPins(holder)).pins) {
        if (!withinFolder(p.record.dataset, dataset) || (selector.table !== undefined && p.record.table !== selector.table)) continue;
        await fs.rm(p.file, { force: true });
        removed++;
      }
  return removed;
}
