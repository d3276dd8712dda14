/**
 * The gene indexes' folders under the app's cache (`<cache>/gene-index/`, counted in cache usage, removed by
 * cache clear):
 *
 *   <pathHash>-<stateHash>/            a complete index (gene-index-key.ts names it)
 *     offsets, cells, values           the gene-major copy of the expression rows (gene-index-files.ts)
 *     gene-index.json                  format, what it was built from, its layout, when, how long it took, its bytes
 *   .tmp-<folder>-<pid>-<random>/      a build under way (or left by a crash: removed once its process is gone)
 *
 * A folder appears complete or not at all: it is built under `.tmp-…` and renamed into place at the end. One that
 * does not check out on open (damaged, truncated, another key, an older format such as v1's Lance clone) is
 * removed.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import type { CacheGeneIndex } from "../../../shared/ipc/contract";
import { GeneIndexFiles, type ValueType } from "./gene-index-files";
import { GENE_INDEX_FORMAT, type GeneIndexKey } from "./gene-index-key";

export const GENE_INDEX_FOLDER = "gene-index";
const META = "gene-index.json";
const TEMP = /^\.tmp-.+-(\d+)-[0-9a-f]+$/;

export interface GeneIndexMeta {
  format: typeof GENE_INDEX_FORMAT;
  tablePath: string;
  version: number;
  manifest: GeneIndexKey["manifest"];
  folder: string;
  nGenes: number;
  rows: number;
  valueType: ValueType;
  builtAt: string;
  buildMs: number;
  /** The index's files, without this one. */
  bytes: number;
}

/** Temp folders this process is building into (a temp folder of our pid not listed here is a leftover). */
const building = new Set<string>();

export function geneIndexRoot(cacheDir: string): string {
  return path.join(cacheDir, GENE_INDEX_FOLDER);
}

export async function readGeneIndexMeta(dir: string): Promise<GeneIndexMeta | null> {
  try {
    return JSON.parse(await fs.readFile(path.join(dir, META), "utf8")) as GeneIndexMeta;
  } catch {
    return null;
  }
}

const sameKey = (meta: GeneIndexMeta | null, key: GeneIndexKey) =>
  meta !== null &&
  meta.format === GENE_INDEX_FORMAT &&
  meta.folder === key.folder &&
  meta.tablePath === key.tablePath &&
  meta.version === key.version &&
  JSON.stringify(meta.manifest) === JSON.stringify(key.manifest);

/** The complete index of `key`, its files checked; a folder of that name that does not check out is removed. */
export async function openGeneIndex(root: string, key: GeneIndexKey): Promise<GeneIndexFiles | null> {
  const dir = path.join(root, key.folder);
  if (!(await fs.stat(dir).catch(() => null))) return null;
  const meta = await readGeneIndexMeta(dir);
  const files = sameKey(meta, key) ? await GeneIndexFiles.open(dir, meta!) : null;
  if (!files) await fs.rm(dir, { recursive: true, force: true });
  return files;
}

/** Whether a complete index is still on disk (cache clear removes it under a reader). */
export async function geneIndexPresent(dir: string): Promise<boolean> {
  return (await fs.stat(path.join(dir, META)).catch(() => null)) !== null;
}

function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Removes what no build of `key` needs: other folders of the same table (stale versions), a folder of this key
 * that is not complete, folders of an older format (any table) and temp folders whose process is gone (or ours,
 * no longer building).
 */
export async function removeLeftovers(root: string, key: GeneIndexKey): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await fs.readdir(root).catch(() => [] as string[])) {
    const full = path.join(root, name);
    const temp = TEMP.exec(name);
    const meta = temp ? null : await readGeneIndexMeta(full);
    const leftover = temp
      ? !building.has(full) && (Number(temp[1]) === process.pid || !alive(Number(temp[1])))
      : (name.startsWith(`${key.pathHash}-`) && (name !== key.folder || meta === null)) || (meta !== null && meta.format !== GENE_INDEX_FORMAT);
    if (!leftover) continue;
    await fs.rm(full, { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}

/** The complete indexes under `root` (build folders left out), as the cache's usage lists them. */
export async function listGeneIndexes(root: string): Promise<CacheGeneIndex[]> {
  const out: CacheGeneIndex[] = [];
  for (const e of await fs.readdir(root, { withFileTypes: true }).catch(() => [])) {
    if (!e.isDirectory() || e.name.startsWith(".")) continue;
    const dir = path.join(root, e.name);
    const meta = await readGeneIndexMeta(dir);
    const bytes = await folderBytes(dir);
    const known = meta !== null && typeof meta.tablePath === "string";
    out.push({
      tablePath: known ? meta.tablePath : e.name,
      version: known && Number.isSafeInteger(meta.version) ? meta.version : 0,
      rows: known && Number.isSafeInteger(meta.rows) ? meta.rows : 0,
      bytes,
      builtAt: known && typeof meta.builtAt === "string" ? meta.builtAt : null,
    });
  }
  return out.sort((a, b) => (a.tablePath < b.tablePath ? -1 : a.tablePath > b.tablePath ? 1 : a.version - b.version));
}

/** Bytes of the files under `dir`. */
export async function folderBytes(dir: string): Promise<number> {
  let total = 0;
  for (const e of await fs.readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) total += await folderBytes(full);
    else total += (await fs.stat(full).catch(() => null))?.size ?? 0;
  }
  return total;
}

/** A fresh temp folder for a build of `key` (the root is created when missing). */
export async function makeBuildFolder(root: string, key: GeneIndexKey): Promise<string> {
  await fs.mkdir(root, { recursive: true });
  const dir = path.join(root, `.tmp-${key.folder}-${process.pid}-${randomBytes(4).toString("hex")}`);
  building.add(dir);
  try {
    await fs.mkdir(dir);
  } catch (e) {
    building.delete(dir);
    throw e;
  }
  return dir;
}

/** Removes a build folder that will not be committed. */
export async function dropBuildFolder(dir: string): Promise<void> {
  await fs.rm(dir, { recursive: true, force: true }).catch(() => undefined);
  building.delete(dir);
}

/**
 * Writes the meta and renames the build folder into place. When another build of the same key got there first,
 * its folder is kept and ours removed. Returns the complete folder.
 */
export async function commitBuildFolder(root: string, temp: string, meta: Omit<GeneIndexMeta, "bytes">): Promise<{ dir: string; meta: GeneIndexMeta }> {
  const full: GeneIndexMeta = { ...meta, bytes: await folderBytes(temp) };
  await fs.writeFile(path.join(temp, META), JSON.stringify(full));
  const dir = path.join(root, meta.folder);
  try {
    await fs.rename(temp, dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if ((code !== "ENOTEMPTY" && code !== "EEXIST") || (await readGeneIndexMeta(dir))?.folder !== meta.folder) throw e;
    await dropBuildFolder(temp);
    return { dir, meta: (await readGeneIndexMeta(dir)) as GeneIndexMeta };
  }
  building.delete(temp);
  return { dir, meta: full };
}
