/**
 * What a gene index is built from: the expression table's resolved path, the Lance version the dataset is open
 * at and that version's manifest file (name, size, mtime), so a table rewritten in place (same version number,
 * new files) gets a new key. The folder name is `<hash of the path>-<hash of the rest>`: folders of the same
 * table with another second half are stale.
 */
import { createHash } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import type * as lancedb from "@lancedb/lancedb";
import { fail } from "../errors";

/** Bumped when the index's layout changes, so older folders count as stale. */
export const GENE_INDEX_FORMAT = 2;
const U64_MAX = (1n << 64n) - 1n;

export interface GeneIndexKey {
  /** The expression table folder, links resolved. */
  tablePath: string;
  version: number;
  manifest: { name: string; size: number; mtimeMs: number };
  /** Same for every index of this table. */
  pathHash: string;
  /** `<pathHash>-<state hash>`. */
  folder: string;
}

const hash = (text: string) => createHash("sha256").update(text).digest("hex").slice(0, 16);

/** Lance names manifests `<version>.manifest` (V1) or `<u64::MAX - version>.manifest` (V2). */
function manifestVersion(name: string): number | null {
  const m = /^(\d+)\.manifest$/.exec(name);
  if (!m) return null;
  const n = BigInt(m[1]);
  return Number(n > U64_MAX >> 1n ? U64_MAX - n : n);
}

export async function geneIndexKey(tablePath: string, table: lancedb.Table): Promise<GeneIndexKey> {
  const real = await fs.realpath(tablePath);
  const version = await table.version();
  const versions = path.join(real, "_versions");
  const name = (await fs.readdir(versions).catch(() => [] as string[])).find((n) => manifestVersion(n) === version);
  if (!name) fail("EXPLORE_DATASET_UNSUPPORTED", `No manifest of version ${version} in ${versions}: cannot key a gene index to it`, { path: versions });
  const st = await fs.stat(path.join(versions, name));
  const manifest = { name, size: st.size, mtimeMs: st.mtimeMs };
  const pathHash = hash(real);
  return {
    tablePath: real,
    version,
    manifest,
    pathHash,
    folder: `${pathHash}-${hash(JSON.stringify([`gene-index-${GENE_INDEX_FORMAT}`, version, manifest]))}`,
  };
}
