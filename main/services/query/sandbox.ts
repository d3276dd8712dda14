/**
 * The DuckDB database every query runs in. Notebooks are shared like documents, so their SQL is untrusted: the
 * database is configured before any connection sees it, then locked (`lock_configuration`), so no statement can
 * undo it:
 * - no extension is installed or loaded behind the user's back, and no community extension at all;
 * - no file or URL is read or written (`enable_external_access=false`) except in the folders the user allowed,
 *   DuckDB's own spill folder, and the export staging folder below;
 * - memory and spill space are capped.
 *
 * Export is the one place the app writes a file. DuckDB's settings are per database, not per connection, so the
 * target the user picks later cannot be allowed then (the configuration is locked). Instead COPY writes into a
 * private staging folder allowed before the lock (a random name inside this engine's own folder), and Node
 * moves the file to the user's target (export.ts). User SQL can only read (the parser admits queries alone), and
 * a staged file only ever holds a result that the same SQL could read from DuckDB anyway; it is moved out (or
 * deleted) as soon as COPY ends.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { stringLiteral } from "../sql-text";

const GiB = 1024 ** 3;

export interface SandboxOptions {
  /** Parent folder for this engine's own folder (spill files, export staging). */
  tempDir: string;
  /** Folders whose files SQL may read (read_csv, read_parquet...): absolute paths. None by default. */
  allowedDirectories?: readonly string[];
  /** DuckDB memory_limit in bytes. Default: half the machine's memory, at most 32 GiB. */
  memoryLimitBytes?: number;
  /** DuckDB max_temp_directory_size in bytes. Default: half the free space of tempDir, at most 100 GiB. */
  maxTempBytes?: number;
}

export interface Sandbox {
  instance: DuckDBInstance;
  /** This engine's folder: removed when the engine closes. */
  workDir: string;
  /** Where export's COPY writes before the file is moved to the user's target. */
  stagingDir: string;
  memoryLimitBytes: number;
  /** The folders user SQL may read, as given to DuckDB (with a trailing separator). */
  allowedDirectories: string[];
}

export function defaultMemoryLimit(): number {
  return Math.min(Math.floor(os.totalmem() / 2), 32 * GiB);
}

function defaultMaxTemp(dir: string): number {
  try {
    const s = fs.statfsSync(dir);
    return Math.max(GiB, Math.min(Math.floor((s.bavail * s.bsize) / 2), 100 * GiB));
  } catch {
    return 20 * GiB;
  }
}

/** A folder as an allowed_directories entry: absolute, with a trailing separator (so `/data` does not allow `/database`). */
function asPrefix(dir: string): string {
  const abs = path.resolve(dir);
  return abs.endsWith(path.sep) ? abs : `${abs}${path.sep}`;
}

const WORK_DIR = /^duckdb-(\d+)-[0-9a-f]+$/;

/** Removes the folders of engines whose process is gone (a crash leaves spill files behind). */
function removeStaleWorkDirs(tempDir: string): void {
  for (const name of fs.readdirSync(tempDir)) {
    const m = WORK_DIR.exec(name);
    if (!m || Number(m[1]) === process.pid || processAlive(Number(m[1]))) continue;
    fs.rmSync(path.join(tempDir, name), { recursive: true, force: true });
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

export async function createSandbox(options: SandboxOptions): Promise<Sandbox> {
  fs.mkdirSync(options.tempDir, { recursive: true });
  removeStaleWorkDirs(options.tempDir);
  const workDir = path.join(options.tempDir, `duckdb-${process.pid}-${randomBytes(6).toString("hex")}`);
  const spillDir = path.join(workDir, "spill");
  const stagingDir = path.join(workDir, `export-${randomBytes(12).toString("hex")}`);
  fs.mkdirSync(spillDir, { recursive: true });
  fs.mkdirSync(stagingDir, { mode: 0o700 });
  const memoryLimitBytes = options.memoryLimitBytes ?? defaultMemoryLimit();
  const maxTempBytes = options.maxTempBytes ?? defaultMaxTemp(options.tempDir);
  const allowedDirectories = [...new Set((options.allowedDirectories ?? []).map(asPrefix))];
  let instance: DuckDBInstance | null = null;
  try {
    instance = await DuckDBInstance.create(":memory:", {
      temp_directory: spillDir,
      memory_limit: `${Math.max(64, Math.floor(memoryLimitBytes / 1024 ** 2))}MiB`,
      max_temp_directory_size: `${Math.max(64, Math.floor(maxTempBytes / 1024 ** 2))}MiB`,
      autoinstall_known_extensions: "false",
      autoload_known_extensions: "false",
      allow_community_extensions: "false",
      allow_persistent_secrets: "false",
    });
    const conn = await instance.connect();
    try {
      // List settings cannot go through the create config; they are set here, before anything else connects.
      const allowed = [...allowedDirectories, asPrefix(stagingDir)].map(stringLiteral).join(", ");
      await conn.run(`SET allowed_directories = [${allowed}]`);
      await conn.run("SET enable_external_access = false");
      await conn.run("SET lock_configuration = true");
    } finally {
      conn.closeSync();
    }
    return { instance, workDir, stagingDir, memoryLimitBytes, allowedDirectories };
  } catch (e) {
    instance?.closeSync();
    fs.rmSync(workDir, { recursive: true, force: true });
    throw e;
  }
}

export function closeSandbox(sandbox: Sandbox): void {
  sandbox.instance.closeSync();
  fs.rmSync(sandbox.workDir, { recursive: true, force: true });
}
