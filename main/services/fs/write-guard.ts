/**
 * Nothing the app writes (exports, notebooks, conversions) may land inside a SLAF dataset. Paths are compared
 * as the file system resolves them, links included: a link into a dataset, a `..` after a link, or a link that
 * does not resolve yet all count where they lead.
 */
import fs from "node:fs/promises";
import path from "node:path";
import { fail } from "../errors";

const MAX_LINKS = 40;

function isMissing(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  return code === "ENOENT" || code === "ENOTDIR";
}

/**
 * Where writing `target` would really land: every link resolved in order, `..` applied to the real folder
 * (as the kernel does), and for parts that do not exist yet, the rest of the path appended as given.
 */
export async function realTargetPath(target: string, links = { left: MAX_LINKS }): Promise<string> {
  const absolute = path.isAbsolute(target) ? target : `${process.cwd()}${path.sep}${target}`;
  let current = path.parse(absolute).root;
  const parts = absolute
    .slice(current.length)
    .split(/[\\/]+/)
    .filter((p) => p !== "" && p !== ".");
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i];
    if (part === "..") {
      current = path.dirname(current);
      continue;
    }
    const next = path.join(current, part);
    const st = await fs.lstat(next).catch((e: unknown) => {
      if (isMissing(e)) return null;
      throw e;
    });
    if (st === null) return path.resolve(next, ...parts.slice(i + 1)); // The rest does not exist yet.
    if (!st.isSymbolicLink()) {
      current = next;
      continue;
    }
    if (--links.left < 0) return path.resolve(next, ...parts.slice(i + 1));
    const link = await fs.readlink(next);
    current = await realTargetPath(path.isAbsolute(link) ? link : `${current}${path.sep}${link}`, links);
  }
  return current;
}

/** A SLAF dataset folder: it holds config.json and at least one `*.lance` table. */
export async function isSlafDatasetFolder(dir: string): Promise<boolean> {
  const config = await fs.stat(path.join(dir, "config.json")).catch(() => null);
  if (!config) return false;
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  return names.some((n) => n.endsWith(".lance"));
}

/** The SLAF dataset folder strictly above `realPath`, nearest first, or null. */
export async function enclosingDataset(realPath: string): Promise<string | null> {
  for (let dir = path.dirname(realPath); ; dir = path.dirname(dir)) {
    if (await isSlafDatasetFolder(dir)) return dir;
    if (path.dirname(dir) === dir) return null;
  }
}

function inside(child: string, parent: string): boolean {
  return child === parent || child.startsWith(parent.endsWith(path.sep) ? parent : `${parent}${path.sep}`);
}

/**
 * Throws WRITE_INSIDE_DATASET when writing `target` would land inside any SLAF dataset (open or not), or when
 * `target` is, or holds, one of `openRoots` (so `convert --force` never replaces an open dataset).
 */
export async function refuseWriteIntoDataset(target: string, what: string, openRoots: Iterable<string>): Promise<void> {
  // A path is checked both as the kernel resolves it and as path.resolve() reads it, since writers use either.
  const candidates = [...new Set([await realTargetPath(target), await realTargetPath(path.resolve(target))])];
  const shown = path.resolve(target);
  for (const real of candidates) {
    const via = real === shown ? "" : ` (through a link: it resolves to ${real})`;
    const dataset = await enclosingDataset(real);
    if (dataset) {
      fail(
        "WRITE_INSIDE_DATASET",
        `${what}: ${shown} is inside the SLAF dataset ${dataset}${via}, and SLAF Workbench never writes into a dataset; choose another place`,
        {
          path: shown,
        },
      );
    }
    for (const root of openRoots) {
      const realRoot = await fs.realpath(root).catch(() => root);
      if (real === realRoot)
        fail("WRITE_INSIDE_DATASET", `${what}: ${shown} is the open dataset ${root}${via}; close it first or choose another place`, { path: shown });
      if (inside(realRoot, real))
        fail("WRITE_INSIDE_DATASET", `${what}: ${shown} holds the open dataset ${root}${via}; close it first or choose another place`, { path: shown });
    }
  }
}
