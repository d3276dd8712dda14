import fs from "node:fs/promises";
import path from "node:path";
import type { SlafConfigFacts } from "../../../shared/ipc/contract";
import { fail } from "../errors";
import { FileReadError, readRegularFile } from "../fs/read-regular-file";

/** config.json of a SLAF dataset, as SLAF writes it (../shared/notes/slaf-format.md §1.2); only what we read is typed. */
export interface SlafConfig {
  format_version?: string;
  array_shape?: [number, number];
  n_cells?: number;
  n_genes?: number;
  tables: Record<string, string>;
  metadata?: {
    expression_count?: number;
    sparsity?: number;
    density?: number;
    [k: string]: unknown;
  };
  created_at?: string;
  [k: string]: unknown;
}

export const REQUIRED_TABLES = ["cells", "genes", "expression"] as const;

/** config.json is a few KB; anything near this is not a SLAF config (and is not read whole into memory). */
export const CONFIG_MAX_BYTES = 4 * 1024 * 1024;

/** Reads and validates `<root>/config.json` of a local dataset, with one distinct error per failure. */
export async function readLocalConfig(root: string): Promise<SlafConfig> {
  let stat;
  try {
    stat = await fs.stat(root);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EACCES" || code === "EPERM")
      fail("PERMISSION_DENIED", `Permission denied opening ${root}: a folder on the way is not readable by you`, { path: root, detail: String(e) });
    if (code === "ENOTDIR") fail("DATASET_NOT_FOUND", `No folder at ${root}: a part of the path is a file, not a folder`, { path: root });
    if (code === "ELOOP") fail("DATASET_NOT_FOUND", `${root} is a link that loops back on itself`, { path: root });
    fail("DATASET_NOT_FOUND", `No file or folder at ${root}`, { path: root });
  }
  if (!stat.isDirectory()) fail("NOT_A_DIRECTORY", `${root} is a file; a SLAF dataset is a folder holding config.json`, { path: root });
  const configPath = path.join(root, "config.json");
  let bytes: Buffer;
  try {
    ({ bytes } = await readRegularFile(configPath, { maxBytes: CONFIG_MAX_BYTES, what: "config.json" }));
  } catch (e) {
    if (!(e instanceof FileReadError)) throw e;
    const extra = { path: configPath, detail: e.cause === undefined ? undefined : String(e.cause) };
    if (e.problem === "missing") fail("NOT_A_SLAF_DATASET", `${root} has no config.json, so it is not a SLAF dataset`, extra);
    if (e.problem === "permission")
      fail("PERMISSION_DENIED", `Permission denied reading ${configPath}; check who owns the dataset's files and their permissions`, extra);
    if (e.problem === "directory") fail("CONFIG_INVALID", `${configPath} is a folder; a SLAF dataset's config.json is a JSON file`, extra);
    if (e.problem === "stalled") fail("SOURCE_UNREACHABLE", e.message, { ...extra, retryable: true });
    fail("CONFIG_INVALID", e.message, extra);
  }
  return parseConfig(bytes.toString("utf8"), configPath);
}

export function parseConfig(text: string, configPath: string): SlafConfig {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    fail("CONFIG_INVALID", `${configPath} is not valid JSON: ${(e as Error).message}`, { path: configPath });
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    fail("CONFIG_INVALID", `${configPath} must hold a JSON object`, { path: configPath });
  }
  const config = json as Partial<SlafConfig>;
  const tables = config.tables;
  if (typeof tables !== "object" || tables === null || Array.isArray(tables)) {
    fail("CONFIG_INVALID", `${configPath} has no "tables" map naming the Lance tables`, { path: configPath });
  }
  for (const [name, rel] of Object.entries(tables)) {
    if (typeof rel !== "string") fail("CONFIG_INVALID", `${configPath}: tables.${name} must be a path string`, { path: configPath });
  }
  const missing = REQUIRED_TABLES.filter((t) => !(t in tables));
  if (missing.length > 0) {
    fail("CONFIG_INVALID", `${configPath}: "tables" lacks ${missing.join(", ")} (a SLAF dataset needs cells, genes and expression)`, { path: configPath });
  }
  return config as SlafConfig;
}

function num(x: unknown): number | null {
  return typeof x === "number" && Number.isFinite(x) ? x : null;
}

export function configFacts(config: SlafConfig): SlafConfigFacts {
  const shape = Array.isArray(config.array_shape) ? config.array_shape : [];
  return {
    formatVersion: typeof config.format_version === "string" ? config.format_version : null,
    nCells: num(config.n_cells) ?? num(shape[0]),
    nGenes: num(config.n_genes) ?? num(shape[1]),
    expressionCount: num(config.metadata?.expression_count),
    sparsity: num(config.metadata?.sparsity),
    density: num(config.metadata?.density),
    createdAt: typeof config.created_at === "string" ? config.created_at : null,
    raw: config,
  };
}
