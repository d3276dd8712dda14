/**
 * User settings, kept as `<userDataDir>/settings.json` (shared by the app and every CLI command):
 *
 *   {
 *     "sql": { "allowedDirectories": ["/home/me/tables"] },
 *     "hub": { "endpoint": "https://hf-mirror.example.org" },
 *     "s3": { "accessKeyId": "AKIA...", "region": "us-east-1", "endpoint": "https://fly.storage.tigris.dev", "pathStyle": true }
 *   }
 *
 * `sql.allowedDirectories` are the folders whose files notebook SQL may read (read_csv, read_parquet...); by
 * default SQL reads no file at all, since notebooks are shared documents. `hub.endpoint` is the upstream Hub
 * (HF_ENDPOINT in the environment wins). `s3` describes the S3 or S3-compatible store (Tigris, R2, MinIO, Ceph).
 * Secrets (the HF token, the S3 secret key) are never here: see secrets/store.ts. A setting that is not valid is
 * left out with a warning naming it, never a failed start; saving from the app keeps keys it does not know.
 */
import fsp from "node:fs/promises";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { AppFailure } from "../../shared/result";
import { FileReadError, readRegularFile } from "./fs/read-regular-file";

export interface S3Settings {
  accessKeyId: string | null;
  region: string | null;
  /** An S3-compatible store's endpoint (null: AWS). */
  endpoint: string | null;
  /** Path-style addressing (`endpoint/bucket/key`, most S3-compatible stores) or virtual-hosted; null: path-style for a custom endpoint, else virtual-hosted. */
  pathStyle: boolean | null;
}

export interface AppSettings {
  sql: {
    /** Absolute, existing folders (real paths) SQL may read files from. */
    allowedDirectories: string[];
  };
  hub: {
    /** The upstream Hub, e.g. a mirror (null: HF_ENDPOINT or https://huggingface.co). */
    endpoint: string | null;
  };
  s3: S3Settings;
}

export const SETTINGS_FILE = "settings.json";
const MAX_SETTINGS_BYTES = 1024 * 1024;

export function defaultSettings(): AppSettings {
  return { sql: { allowedDirectories: [] }, hub: { endpoint: null }, s3: { accessKeyId: null, region: null, endpoint: null, pathStyle: null } };
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
  if (typeof json !== "object" || json === null || Array.isArray(json)) return { settings, warnings: [`Settings not read: ${file} is not a JSON object`] };
  const raw = json as { sql?: { allowedDirectories?: unknown }; hub?: Record<string, unknown>; s3?: Record<string, unknown> };
  const { directories, warnings } = await allowedDirectories(raw.sql?.allowedDirectories ?? [], `${file}: sql.allowedDirectories`);
  settings.sql.allowedDirectories = directories;
  const take = <T>(key: string, value: unknown, check: (v: unknown, field: string) => T): T | null => {
    if (value === undefined || value === null) return null;
    try {
      return check(value, key);
    } catch (e) {
      warnings.push(`${file}: ${e instanceof Error ? e.message : String(e)}; ignored`);
      return null;
    }
  };
  settings.hub.endpoint = take("hub.endpoint", raw.hub?.endpoint, checkEndpoint);
  settings.s3.accessKeyId = take("s3.accessKeyId", raw.s3?.accessKeyId, checkAccessKeyId);
  settings.s3.region = take("s3.region", raw.s3?.region, checkRegion);
  settings.s3.endpoint = take("s3.endpoint", raw.s3?.endpoint, checkEndpoint);
  settings.s3.pathStyle = take("s3.pathStyle", raw.s3?.pathStyle, checkBoolean);
  return { settings, warnings };
}

/** An http(s) endpoint without credentials, query or fragment, with no trailing slash. Throws a sentence naming `field`. */
export function checkEndpoint(value: unknown, field: string): string {
  if (typeof value !== "string" || value.trim() === "") throw new Error(`${field} must be an http(s) URL`);
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    throw new Error(`${field} is not a URL (expected https://host[:port][/path])`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new Error(`${field} must start with https:// or http://`);
  if (url.username || url.password) throw new Error(`${field} must not contain a user name or password (put credentials in their own fields)`);
  if (url.search || url.hash) throw new Error(`${field} must not have a query (?...) or fragment (#...)`);
  return url.href.replace(/\/+$/, "");
}

export function checkAccessKeyId(value: unknown, field: string): string {
  if (typeof value !== "string" || !/^[\x21-\x7e]{1,256}$/.test(value.trim()))
    throw new Error(`${field} must be an access key id: 1 to 256 printable characters without spaces`);
  return value.trim();
}

export function checkRegion(value: unknown, field: string): string {
  if (typeof value !== "string" || !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(value.trim()))
    throw new Error(`${field} must be a region name such as us-east-1 (letters, digits, -, _ and .)`);
  return value.trim();
}

function checkBoolean(value: unknown, field: string): boolean {
  if (typeof value !== "boolean") throw new Error(`${field} must be true or false`);
  return value;
}

/** What a save from the app changes; null removes a setting. */
export interface SettingsChanges {
  hub?: { endpoint: string | null };
  s3?: Partial<S3Settings>;
  sql?: { allowedDirectories: string[] };
}

/**
 * Writes changes into settings.json (temp file + rename), keeping every key it does not change, including ones
 * this version does not know. A file that is not a JSON object is left alone: SETTINGS_INVALID says how to fix it.
 */
export async function saveSettings(userDataDir: string, changes: SettingsChanges): Promise<void> {
  const file = settingsPath(userDataDir);
  let json: Record<string, unknown> = {};
  let text: string | null = null;
  try {
    text = (await readRegularFile(file, { maxBytes: MAX_SETTINGS_BYTES, what: "settings" })).bytes.toString("utf8");
  } catch (e) {
    if (!(e instanceof FileReadError && e.problem === "missing"))
      throw new AppFailure("SETTINGS_INVALID", `Settings not saved: ${(e as Error).message}`, { path: file });
  }
  if (text !== null) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      throw new AppFailure("SETTINGS_INVALID", `Settings not saved: ${file} is not valid JSON (${(e as Error).message}); fix or delete it first`, {
        path: file,
      });
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
      throw new AppFailure("SETTINGS_INVALID", `Settings not saved: ${file} is not a JSON object; fix or delete it first`, { path: file });
    json = parsed as Record<string, unknown>;
  }
  const section = (name: string): Record<string, unknown> => {
    const current = json[name];
    const fresh = typeof current === "object" && current !== null && !Array.isArray(current) ? { ...(current as Record<string, unknown>) } : {};
    json[name] = fresh;
    return fresh;
  };
  const put = (target: Record<string, unknown>, key: string, value: unknown) => {
    if (value === undefined) return;
    if (value === null) delete target[key];
    else target[key] = value;
  };
  if (changes.hub) put(section("hub"), "endpoint", changes.hub.endpoint);
  if (changes.s3) {
    const s3 = section("s3");
    for (const key of ["accessKeyId", "region", "endpoint", "pathStyle"] as const) put(s3, key, changes.s3[key]);
  }
  if (changes.sql) section("sql").allowedDirectories = changes.sql.allowedDirectories;
  for (const name of ["hub", "s3"]) if (json[name] && Object.keys(json[name] as object).length === 0) delete json[name];
  await fsp.mkdir(userDataDir, { recursive: true });
  const temp = path.join(userDataDir, `.${SETTINGS_FILE}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    await fsp.writeFile(temp, `${JSON.stringify(json, null, 2)}\n`, { flag: "wx" });
    await fsp.rename(temp, file);
  } catch (e) {
    await fsp.rm(temp, { force: true });
    throw e;
  }
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
