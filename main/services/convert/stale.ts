/**
 * Leftovers of conversions whose process died (killed, crashed, power cut): the hidden
 * `.<name>.converting-<pid>-<id>` folder beside the output (hundreds of MB), a `.<name>.replaced-<pid>-<id>`
 * folder when it died while swapping an old output out, and the per-process temp folder in $TMPDIR where Lance
 * keeps its own temp folders. Each holds an owner file (pid, host, process start time); a leftover is removed
 * only when its process is gone. The start time tells a reused PID apart (Linux: /proc/<pid>/stat); where it
 * cannot be read, a live PID counts as the owner, so a live conversion's folder is never removed.
 */
import { randomBytes } from "node:crypto";
import { readFileSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { isMainThread } from "node:worker_threads";

export const OWNER_FILE = ".slafwb-owner.json";

export interface Owner {
  pid: number;
  host?: string;
  /** Process start time as the OS records it (Linux: clock ticks after boot), or null where unknown. */
  started?: string | null;
}

/** Field 22 of /proc/<pid>/stat, after the parenthesised command name (which may hold spaces). */
export function processStart(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? null;
  } catch {
    return null;
  }
}

export function currentOwner(): Required<Owner> {
  return { pid: process.pid, host: os.hostname(), started: processStart(process.pid) };
}

export function ownerAlive(owner: Owner): boolean {
  // A folder on a shared disk written by another machine: its process cannot be checked from here.
  if (owner.host && owner.host !== os.hostname()) return true;
  try {
    process.kill(owner.pid, 0);
  } catch (e) {
    // EPERM: the process exists but belongs to another user.
    return (e as NodeJS.ErrnoException).code !== "ESRCH";
  }
  if (!owner.started) return true;
  const now = processStart(owner.pid);
  return now === null || now === owner.started;
}

export async function writeOwner(dir: string): Promise<void> {
  await fs.writeFile(path.join(dir, OWNER_FILE), JSON.stringify(currentOwner()));
}

async function readOwner(dir: string, pidFromName: number): Promise<Owner> {
  try {
    const o = JSON.parse(await fs.readFile(path.join(dir, OWNER_FILE), "utf8")) as Owner;
    if (Number.isInteger(o.pid) && o.pid > 0) return o;
  } catch {
    // No owner file yet (the folder was just created, or written by an older version): the PID in its name decides.
  }
  return { pid: pidFromName };
}

/** `.<name>.converting-<pid>-<hex>` / `.<name>.replaced-<pid>-<hex>` beside outputs; `slafwb-run-<pid>-<hex>` in $TMPDIR. */
const LEFTOVER = /^\.(.+)\.(converting|replaced)-(\d+)-[0-9a-f]+$/;
const RUN_TEMP = /^slafwb-run-(\d+)-[0-9a-f]+$/;

async function removeLeftover(dir: string, name: string): Promise<boolean> {
  const m = LEFTOVER.exec(name);
  const run = m ? null : RUN_TEMP.exec(name);
  if (!m && !run) return false;
  const full = path.join(dir, name);
  const stat = await fs.lstat(full).catch(() => null);
  if (!stat?.isDirectory()) return false;
  if (ownerAlive(await readOwner(full, Number(m ? m[3] : run![1])))) return false;
  if (m?.[2] === "replaced") {
    // It died between moving the old output aside and moving the new one in: put the old one back.
    const target = path.join(dir, m[1]);
    if (!(await fs.lstat(target).catch(() => null))) {
      await fs.rename(full, target);
      return true;
    }
  }
  await fs.rm(full, { recursive: true, force: true });
  return true;
}

/**
 * Removes the leftovers of dead conversions in each of `dirs` (output folders, the user-data folders, the
 * temp folder); returns the paths removed or restored. Best effort: a folder that cannot be read is skipped.
 */
export async function cleanStaleConversions(dirs: string[]): Promise<string[]> {
  const done: string[] = [];
  for (const dir of new Set(dirs.map((d) => path.resolve(d)))) {
    const names = await fs.readdir(dir).catch(() => [] as string[]);
    for (const name of names) {
      if (await removeLeftover(dir, name).catch(() => false)) done.push(path.join(dir, name));
    }
  }
  return done;
}

let claimed: { dir: string; base: string } | null = null;

/** The temp folder as it was before claimProcessTempDir moved it: where other processes' run folders are. */
export function baseTempDir(): string {
  return claimed?.base ?? os.tmpdir();
}

/**
 * Points this process's temp folder (TMPDIR, which Lance and DataFusion read for their own temp folders) at a
 * folder of its own, `slafwb-run-<pid>-<hex>` with an owner file, removed at exit; after a kill the next
 * start or conversion finds it by its owner. Once per process, main thread only (workers share the process
 * environment, so a conversion worker's Lance uses it too).
 */
export function claimProcessTempDir(): string {
  if (claimed) return claimed.dir;
  const base = os.tmpdir();
  if (!isMainThread) return base;
  const dir = path.join(base, `slafwb-run-${process.pid}-${randomBytes(4).toString("hex")}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, OWNER_FILE), JSON.stringify(currentOwner()));
  claimed = { dir, base };
  for (const key of ["TMPDIR", "TMP", "TEMP"]) process.env[key] = dir;
  process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
