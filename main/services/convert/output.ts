/**
 * The output folder is written as a hidden temp folder beside it and renamed into place at the end, so a
 * failed or cancelled conversion leaves nothing behind; a killed one leaves the folder with its owner file,
 * removed by the next conversion into the same folder (stale.ts). Lance commits (and our final rename) need atomic
 * rename, which FAT/exFAT/NTFS-over-FUSE do not give: such targets are refused up front (as SLAF PR #56 does).
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import { fail } from "../errors";
import { baseTempDir, cleanStaleConversions, OWNER_FILE, writeOwner } from "./stale";

/** statfs f_type values of filesystems without a reliable atomic rename. */
const NO_ATOMIC_RENAME: Record<number, string> = {
  0x4d44: "FAT",
  0x2011bab0: "exFAT",
  0x5346544e: "NTFS",
  0x7366746e: "NTFS",
  0x65735546: "FUSE block device (ntfs-3g / exfat-fuse)",
};

export interface FsProbe {
  statfs(dir: string): Promise<{ type: number }>;
  rename(from: string, to: string): Promise<void>;
}

const realFs: FsProbe = { statfs: (d) => fs.statfs(d), rename: (a, b) => fs.rename(a, b) };

export async function checkAtomicRename(dir: string, probe: FsProbe = realFs): Promise<void> {
  const { type } = await probe.statfs(dir);
  const name = NO_ATOMIC_RENAME[type];
  if (name)
    fail("CONVERT_OUTPUT_INVALID", `${dir} is on a ${name} filesystem, which has no atomic rename; Lance needs it. Choose a folder on another disk`, {
      path: dir,
    });
  const a = path.join(dir, `.slafwb-rename-probe-${process.pid}-${randomBytes(4).toString("hex")}`);
  const b = `${a}-renamed`;
  await fs.mkdir(a);
  try {
    await probe.rename(a, b);
  } catch (e) {
    await fs.rm(a, { recursive: true, force: true });
    fail(
      "CONVERT_OUTPUT_INVALID",
      `${dir} does not support renaming folders (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); Lance needs atomic rename. Choose a folder on another disk`,
      { path: dir },
    );
  }
  await fs.rm(b, { recursive: true, force: true });
}

export interface PendingOutput {
  /** Where to write; does not exist yet. */
  root: string;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

async function exists(p: string): Promise<boolean> {
  return fs.lstat(p).then(
    () => true,
    () => false,
  );
}

async function replaceable(output: string): Promise<void> {
  const stat = await fs.lstat(output);
  if (!stat.isDirectory()) fail("CONVERT_OUTPUT_EXISTS", `${output} exists and is a file, not a SLAF dataset; not replacing it`, { path: output });
  const entries = await fs.readdir(output);
  if (entries.length > 0 && !entries.includes("config.json")) {
    fail("CONVERT_OUTPUT_EXISTS", `${output} exists and is not a SLAF dataset (no config.json); not replacing it`, { path: output });
  }
}

export async function prepareOutput(output: string, opts: { force?: boolean; probe?: FsProbe } = {}): Promise<PendingOutput> {
  const target = path.resolve(output);
  if (await exists(target)) {
    if (!opts.force) fail("CONVERT_OUTPUT_EXISTS", `${target} already exists; pass --force to replace it`, { path: target });
    await replaceable(target);
  }
  const parent = path.dirname(target);
  try {
    await fs.mkdir(parent, { recursive: true });
    await fs.access(parent, fs.constants.W_OK);
  } catch (e) {
    fail("CONVERT_OUTPUT_INVALID", `Cannot write into ${parent}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { path: parent });
  }
  await checkAtomicRename(parent, opts.probe);
  await cleanStaleConversions([parent, baseTempDir()]);
  const tag = `${process.pid}-${randomBytes(4).toString("hex")}`;
  const root = path.join(parent, `.${path.basename(target)}.converting-${tag}`);
  await fs.mkdir(root);
  await writeOwner(root);
  return {
    root,
    async commit() {
      await fs.rm(path.join(root, OWNER_FILE), { force: true });
      const old = path.join(parent, `.${path.basename(target)}.replaced-${tag}`);
      const replacing = await exists(target);
      if (replacing) {
        if (!opts.force) fail("CONVERT_OUTPUT_EXISTS", `${target} appeared while converting; not replacing it`, { path: target });
        await fs.rename(target, old);
      }
      try {
        await fs.rename(root, target);
      } catch (e) {
        if (replacing) await fs.rename(old, target).catch(() => {});
        throw e;
      }
      if (replacing) await fs.rm(old, { recursive: true, force: true });
    },
    async abort() {
      await fs.rm(root, { recursive: true, force: true });
    },
  };
}
