/**
 * Reads the cache folder's layout (disk-cache.ts) back: sources, repos, revisions, files and their blocks, with
 * sizes and last use (mtime). Entries that vanish while the walk runs (another process evicting) are skipped.
 */
import fs from "node:fs/promises";
import path from "node:path";

export interface WalkedBlock {
  file: string;
  /** Start offset of the block in its file. */
  start: number;
  bytes: number;
  mtimeMs: number;
}

export interface WalkedFile {
  /** Path inside the repo, e.g. `pbmc.slaf/cells.lance/data/x.lance`. */
  repoPath: string;
  dir: string;
  blocks: WalkedBlock[];
  /** @file.json and anything else that is not a block. */
  otherBytes: number;
}

export interface WalkedRevision {
  sha: string;
  dir: string;
  files: WalkedFile[];
  /** Cached listings and descriptions of this commit. */
  docBytes: number;
  /** Pin record files (`@pins/*.json`). */
  pinFiles: string[];
}

export interface WalkedRepo {
  owner: string;
  name: string;
  dir: string;
  /** Revision names (branches, tags) → the sha they last resolved to. */
  refs: Record<string, string>;
  revisions: WalkedRevision[];
  /** Pin records of the whole repo (`@pins/*.json`): S3 keeps a bucket's pins here, its versions being per object. */
  pinFiles: string[];
  otherBytes: number;
}

export interface WalkedSource {
  /** `hf`: owner/repo/sha as on the Hub; `s3`: the bucket as owner, "objects" as repo, a hash of each object's ETag as sha (s3-objects.ts). */
  kind: "hf" | "s3";
  /** Folder name under `hf/` or `s3/`. */
  key: string;
  dir: string;
  /** The upstream endpoint, from `@source.json` (null in caches written before it was recorded). */
  endpoint: string | null;
  repos: WalkedRepo[];
}

export interface WalkedTemp {
  file: string;
  bytes: number;
  mtimeMs: number;
}

export interface WalkedCache {
  sources: WalkedSource[];
  /** Temp files of writes under way, or left by a crash. */
  temps: WalkedTemp[];
  /** Bytes of everything that is not a block, a doc or a temp (refs, metas, cache.json, pins...). */
  otherBytes: number;
}

interface Entry {
  name: string;
  full: string;
  dir: boolean;
}

async function list(dir: string): Promise<Entry[]> {
  try {
    return (await fs.readdir(dir, { withFileTypes: true })).map((d) => ({ name: d.name, full: path.join(dir, d.name), dir: d.isDirectory() }));
  } catch {
    return [];
  }
}

async function statOf(file: string): Promise<{ bytes: number; mtimeMs: number } | null> {
  try {
    const s = await fs.stat(file);
    return s.isFile() ? { bytes: s.size, mtimeMs: s.mtimeMs } : null;
  } catch {
    return null;
  }
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

const SHA_DIR = /^[0-9a-f]{40}$/;

/** A JSON record (a pin, a ref) that is not a temp file being written. */
export function isRecordFileName(name: string): boolean {
  return name.endsWith(".json") && !name.includes(".tmp-");
}
const BLOCK = /^@(\d+)\.blk$/;

class Walker {
  temps: WalkedTemp[] = [];
  otherBytes = 0;

  /** Sizes of all plain files under a folder (docs, refs); temps are collected apart. */
  async bytesUnder(dir: string): Promise<number> {
    // Summed after all are in: `total += await …` in parallel would read `total` before the others added to it.
    const sizes = await Promise.all((await list(dir)).map((e) => (e.dir ? this.bytesUnder(e.full) : this.fileBytes(e.full))));
    return sizes.reduce((a, b) => a + b, 0);
  }

  private async fileBytes(file: string): Promise<number> {
    const s = await statOf(file);
    if (!s) return 0;
    if (path.basename(file).includes(".tmp-")) {
      this.temps.push({ file, ...s });
      return 0;
    }
    return s.bytes;
  }

  async files(dir: string, prefix: string, out: WalkedFile[]): Promise<void> {
    const entries = await list(dir);
    const blocks: WalkedBlock[] = [];
    let other = 0;
    let isFile = false;
    await Promise.all(
      entries.map(async (e) => {
        if (e.dir) return this.files(e.full, prefix ? `${prefix}/${decode(e.name)}` : decode(e.name), out);
        const block = BLOCK.exec(e.name);
        if (block) {
          const s = await statOf(e.full);
          if (s) blocks.push({ file: e.full, start: Number(block[1]), ...s });
          isFile = true;
          return;
        }
        if (e.name === "@file.json") isFile = true;
        const bytes = await this.fileBytes(e.full);
        other += bytes;
      }),
    );
    if (isFile || blocks.length) out.push({ repoPath: prefix, dir, blocks: blocks.sort((a, b) => a.start - b.start), otherBytes: other });
    else this.otherBytes += other;
  }

  async revision(sha: string, dir: string): Promise<WalkedRevision> {
    const rev: WalkedRevision = { sha, dir, files: [], docBytes: 0, pinFiles: [] };
    for (const e of await list(dir)) {
      if (e.name === "files" && e.dir) await this.files(e.full, "", rev.files);
      else if (e.name === "@pins" && e.dir) await this.pins(e.full, rev.pinFiles);
      else if (e.dir) rev.docBytes += await this.bytesUnder(e.full);
      else rev.docBytes += await this.fileBytes(e.full);
    }
    return rev;
  }

  private async pins(dir: string, out: string[]): Promise<void> {
    for (const p of await list(dir)) {
      if (isRecordFileName(p.name)) out.push(p.full);
      this.otherBytes += await this.fileBytes(p.full);
    }
  }

  async repo(owner: string, name: string, dir: string): Promise<WalkedRepo> {
    const repo: WalkedRepo = { owner: decode(owner), name: decode(name), dir, refs: {}, revisions: [], pinFiles: [], otherBytes: 0 };
    for (const e of await list(dir)) {
      if (e.dir && SHA_DIR.test(e.name)) repo.revisions.push(await this.revision(e.name, e.full));
      else if (e.dir && e.name === "@pins") await this.pins(e.full, repo.pinFiles);
      else if (e.dir && e.name === "@refs") {
        for (const r of await list(e.full)) {
          repo.otherBytes += await this.fileBytes(r.full);
          if (!isRecordFileName(r.name)) continue;
          try {
            const sha = (JSON.parse(await fs.readFile(r.full, "utf8")) as { sha?: unknown }).sha;
            if (typeof sha === "string" && SHA_DIR.test(sha)) repo.refs[decode(r.name.slice(0, -".json".length))] = sha;
          } catch {
            // a damaged ref is dropped by the gateway on its next read
          }
        }
      } else if (e.dir) repo.otherBytes += await this.bytesUnder(e.full);
      else repo.otherBytes += await this.fileBytes(e.full);
    }
    return repo;
  }

  async source(kind: WalkedSource["kind"], key: string, dir: string): Promise<WalkedSource> {
    const source: WalkedSource = { kind, key, dir, endpoint: null, repos: [] };
    for (const owner of await list(dir)) {
      if (!owner.dir) {
        this.otherBytes += await this.fileBytes(owner.full);
        if (owner.name === "@source.json") source.endpoint = await readEndpoint(owner.full);
        continue;
      }
      for (const repo of await list(owner.full)) {
        if (repo.dir) source.repos.push(await this.repo(owner.name, repo.name, repo.full));
        else this.otherBytes += await this.fileBytes(repo.full);
      }
    }
    return source;
  }
}

async function readEndpoint(file: string): Promise<string | null> {
  try {
    const endpoint = (JSON.parse(await fs.readFile(file, "utf8")) as { endpoint?: unknown }).endpoint;
    return typeof endpoint === "string" ? endpoint : null;
  } catch {
    return null;
  }
}

/** Everything in a cache folder: the Hub's (`hf/`) and S3's (`s3/`) caches; other folders count as other bytes. */
export async function walkCache(root: string): Promise<WalkedCache> {
  const walker = new Walker();
  const sources: WalkedSource[] = [];
  for (const e of await list(root)) {
    if ((e.name === "hf" || e.name === "s3") && e.dir) {
      for (const s of await list(e.full)) {
        if (s.dir) sources.push(await walker.source(e.name, s.name, s.full));
        else walker.otherBytes += (await statOf(s.full))?.bytes ?? 0;
      }
    } else if (e.dir) walker.otherBytes += await walker.bytesUnder(e.full);
    else walker.otherBytes += (await statOf(e.full))?.bytes ?? 0;
  }
  return { sources, temps: walker.temps, otherBytes: walker.otherBytes };
}

/** Total bytes on disk of a walked cache: blocks, metas, docs, refs, pins, temps. */
export function walkedBytes(w: WalkedCache): number {
  let total = w.otherBytes;
  for (const t of w.temps) total += t.bytes;
  for (const s of w.sources)
    for (const r of s.repos) {
      total += r.otherBytes;
      for (const v of r.revisions) {
        total += v.docBytes;
        for (const f of v.files) {
          total += f.otherBytes;
          for (const b of f.blocks) total += b.bytes;
        }
      }
    }
  return total;
}
