/**
 * Pin records: which blocks must stay in the cache. One JSON file per pin, written atomically once the pin's scan
 * is complete (id: dataset path, table and columns, so pinning the same thing again replaces it):
 *   Hub: under the commit's folder, `<sha>/@pins/<id>.json`, its files' blocks in that commit's folder;
 *   S3: under the bucket's folder, `<bucket>/objects/@pins/<id>.json`, each file naming the object version
 *   (ETag folder) its blocks are in.
 * While a pin is being recorded, a "running" record `<id>.running-<pid>-<n>.json` protects the folders it covers
 * from every process's eviction (an S3 pin: the bucket's whole folder, as the versions it will read are not known
 * yet); a running record whose process is gone protects nothing and is removed by the next eviction pass.
 */
import { createHash } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import { ownerAlive } from "../convert/stale";
import { isRecordFileName, type WalkedCache, type WalkedRevision } from "./cache-walk";
import { segment, writeAtomic } from "./disk-cache";

export interface PinnedFile {
  blockBytes: number;
  /** S3: the object version's folder (hash of its ETag) the blocks are in; absent for the Hub (the record's commit). */
  version?: string;
  /** Runs of block indexes [first, last]. */
  runs: [number, number][];
}

export interface PinRecord {
  version: 1;
  id: string;
  state: "running" | "complete";
  /** "s3": a dataset in a bucket (`repo` the bucket, `sha` ""); absent: the Hub. */
  source?: "s3";
  /** The process recording it: pid, host and start time (a reused pid is not the owner). */
  pid: number;
  host: string;
  started: string | null;
  /** `owner/repo` */
  repo: string;
  sha: string;
  /** The SLAF dataset's folder in the repo ("" for the root). */
  dataset: string;
  /** Table name as config.json names it. */
  table: string;
  /** The table's folder in the repo. */
  tablePath: string;
  /** Columns pinned; null: every column. */
  columns: string[] | null;
  createdAt: string;
  /** Running records: repo path prefixes whose blocks stay until the pin is done. */
  prefixes: string[];
  /** Complete records: the blocks of each repo path. */
  files: Record<string, PinnedFile>;
  /** Bytes of the pinned blocks; rows scanned. */
  bytes: number;
  rows: number;
}

export function pinId(dataset: string, table: string, columns: string[] | null): string {
  const key = JSON.stringify([dataset, table, columns ? [...new Set(columns)].sort() : null]);
  return createHash("sha256").update(key).digest("hex").slice(0, 16);
}

export function pinsDir(revisionDir: string): string {
  return path.join(revisionDir, "@pins");
}

let runningSerial = 0;

export function runningPinFile(revisionDir: string, id: string): string {
  return path.join(pinsDir(revisionDir), `${id}.running-${process.pid}-${++runningSerial}.json`);
}

export function completePinFile(revisionDir: string, id: string): string {
  return path.join(pinsDir(revisionDir), `${id}.json`);
}

export async function writePinRecord(file: string, record: PinRecord): Promise<void> {
  await writeAtomic(file, JSON.stringify(record));
}

function isRecord(v: unknown): v is PinRecord {
  const r = v as Partial<PinRecord>;
  return (
    r?.version === 1 &&
    (r.state === "running" || r.state === "complete") &&
    typeof r.id === "string" &&
    typeof r.sha === "string" &&
    typeof r.repo === "string" &&
    typeof r.table === "string" &&
    typeof r.dataset === "string" &&
    Number.isSafeInteger(r.pid) &&
    Array.isArray(r.prefixes) &&
    typeof r.files === "object" &&
    r.files !== null &&
    (r.source === undefined || r.source === "s3")
  );
}

/** A record; null when it is damaged (a damaged record pins nothing: it was never completed); "gone" when the file is not there. */
async function readPinFile(file: string): Promise<PinRecord | null | "gone"> {
  let text: string;
  try {
    text = await fs.readFile(file, "utf8");
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "ENOENT" ? "gone" : null;
  }
  try {
    const value: unknown = JSON.parse(text);
    return isRecord(value) ? value : null;
  } catch {
    return null;
  }
}

/** Whether the process that wrote a running record may still be working on it (another host's: assumed so). */
export function recordAlive(record: PinRecord): boolean {
  return record.state === "complete" || ownerAlive({ pid: record.pid, host: record.host, started: record.started });
}

/** The block file names of a pinned file (in its folder). */
export function pinnedBlockNames(file: PinnedFile): string[] {
  const names: string[] = [];
  for (const [first, last] of file.runs) for (let i = first; i <= last; i++) names.push(`@${i * file.blockBytes}.blk`);
  return names;
}

/** Block indexes → runs of consecutive indexes. */
export function toRuns(indexes: number[]): [number, number][] {
  const sorted = [...new Set(indexes)].sort((a, b) => a - b);
  const runs: [number, number][] = [];
  for (const i of sorted) {
    const last = runs[runs.length - 1];
    if (last && last[1] === i - 1) last[1] = i;
    else runs.push([i, i]);
  }
  return runs;
}

/** The folder of a repo path's blocks under a revision folder (the layout of disk-cache.ts). */
export function fileDirIn(revisionDir: string, repoPath: string): string {
  return path.join(revisionDir, "files", ...repoPath.split("/").filter(Boolean).map(segment));
}

export interface LoadedPin {
  file: string;
  record: PinRecord;
  /** The folder holding the record's `@pins`: a commit's (Hub) or a bucket's (S3). */
  revisionDir: string;
}

/** The folder of a pinned file's blocks. */
export function pinnedFileDir(pin: LoadedPin, repoPath: string, file: PinnedFile): string {
  return fileDirIn(file.version ? path.join(pin.revisionDir, segment(file.version)) : pin.revisionDir, repoPath);
}

/** Rereads of a revision's pin folder when a record vanished between listing and reading it. */
const PIN_RELIST_ATTEMPTS = 20;

/**
 * The pin records of one revision; running records of processes that are gone are returned in `dead`. A record
 * listed by the walk may be gone when read: a pin that completed renamed its running record away. Its complete
 * record is then in the folder, so the folder is listed again: otherwise this pass would protect neither.
 */
export async function loadRevisionPins(revision: Pick<WalkedRevision, "dir" | "pinFiles">): Promise<{ pins: LoadedPin[]; dead: string[] }> {
  let files = revision.pinFiles;
  for (let attempt = 0; ; attempt++) {
    const pins: LoadedPin[] = [];
    const dead: string[] = [];
    let vanished = false;
    for (const file of files) {
      const record = await readPinFile(file);
      if (record === "gone") vanished = true;
      else if (!record) continue;
      else if (!recordAlive(record)) dead.push(file);
      else pins.push({ file, record, revisionDir: revision.dir });
    }
    if (!vanished || attempt >= PIN_RELIST_ATTEMPTS) return { pins, dead };
    const dir = pinsDir(revision.dir);
    const names = await fs.readdir(dir).catch(() => [] as string[]);
    files = names.filter(isRecordFileName).map((n) => path.join(dir, n));
  }
}

/** Every pin record of a walked cache (see loadRevisionPins): the Hub's per commit, S3's per bucket. */
export async function loadPins(walked: WalkedCache): Promise<{ pins: LoadedPin[]; dead: string[] }> {
  const pins: LoadedPin[] = [];
  const dead: string[] = [];
  for (const s of walked.sources)
    for (const r of s.repos)
      for (const holder of [r, ...r.revisions]) {
        const loaded = await loadRevisionPins(holder);
        pins.push(...loaded.pins);
        dead.push(...loaded.dead);
      }
  return { pins, dead };
}

/** What eviction must keep: block files of complete pins, and folders of pins being recorded. */
export function protectedByPins(pins: LoadedPin[]): { blocks: Set<string>; prefixes: string[] } {
  const blocks = new Set<string>();
  const prefixes: string[] = [];
  for (const pin of pins) {
    const { record, revisionDir } = pin;
    if (record.state === "running") {
      if (record.source === "s3") prefixes.push(`${revisionDir}${path.sep}`);
      else for (const p of record.prefixes) prefixes.push(`${fileDirIn(revisionDir, p)}${path.sep}`);
      continue;
    }
    for (const [repoPath, file] of Object.entries(record.files)) {
      const dir = pinnedFileDir(pin, repoPath, file);
      for (const name of pinnedBlockNames(file)) blocks.add(path.join(dir, name));
    }
  }
  return { blocks, prefixes };
}
