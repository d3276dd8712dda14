/**
 * User settings, kept as `<userDataDir>/settings.json` (shared by the app and every CLI command):
 *
 *   { "sql": { "allowedDirectories": ["/home/me/tables"] } }
 *
 * `sql.allowedDirectories` are the folders whose files notebook SQL may read (read_csv, read_parquet...); by
 * default SQL reads no file at all, since notebooks are shared documents. A setting that is not valid is
 * left out with a warning naming it, never a failed start.
 */
import fsp from "node:fs/promises";
import path from "node:path";
import { FileReadError, readRegularFile } from "./fs/read-regular-file";

export interface AppSettings {
  sql: {
    /** Absolute, existing folders (real paths) SQL may read files from. */
    allowedDirectories: string[];
  };
}

export const SETTINGS_FILE = "settings.json";
const MAX_SETTINGS_BYTES = 1024 * 1024;

export function defaultSettings(): AppSettings {
  return { sql: { allowedDirectories: [] } };
}

export function settingsPath(userDataDir: string): string {
  return path.join(userDataDir, SETTINGS_FILE);
}

/** The settings in effect, and a sentence for each setting that was left out. */
export async function loadSettings(userDataDir: string): Promise<{ settings: AppSettings; warnings: string[] }> {
  const file = settingsPath(userDataDir);
  const settings = defaultSettings();
  let text: string;
  try {
    text = (await readRegularFile(file, { maxBytes: MAX_SETTINGS_BYTES, what: "settings" })).bytes.toString("utf8");
  } catch (e) {
    if (e instanceof FileReadError && e.problem === "missing") return { settings, warnings: [] };
    return { settings, warnings: [`Settings not read: ${e instanceof Error ? e.message : String(e)}`] };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return { settings, warnings: [`Settings not read: ${file} is not valid JSON (${(e as Error).message})`] };
  }
  const sql = (json as { sql?: { allowedDirectories?: unknown } } | null)?.sql;
  const { directories, warnings } = await allowedDirectories(sql?.allowedDirectories ?? [], `${file}: sql.allowedDirectories`);
  settings.sql.allowedDirectories = directories;
  return { settings, warnings };
}

/** Checks folders given for SQL file access (settings or `--allow-dir`): absolute, existing folders, by real path. */
export async function allowedDirectories(given: unknown, where: string): Promise<{ directories: string[]; warnings: string[] }> {
  const warnings: string[] = [];
  const directories: string[] = [];
  if (!Array.isArray(given)) return { directories, warnings: [`${where} must be a list of folder paths; ignored`] };
  for (const entry of given) {
    if (typeof entry !== "string" || !path.isAbsolute(entry)) {
      warnings.push(`${where}: ${JSON.stringify(entry)} is not an absolute folder path; ignored`);
      continue;
    }
    const real = await fsp.realpath(entry).catch(() => null);
    const stat = real ? await fsp.stat(real).catch(() => null) : null;
    if (!real || !stat?.isDirectory()) {
      warnings.push(`${where}: ${entry} is not an existing folder; ignored`);
      continue;
    }
    if (real === path.parse(real).root) {
      warnings.push(`${where}: ${entry} is the root of the file system; allowing it would let SQL read every file; ignored`);
      continue;
    }
    if (!directories.includes(real)) directories.push(real);
  }
  return { directories, warnings };
}
