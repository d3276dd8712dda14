/**
 * The cache's size cap, kept in the cache folder itself (`<cacheDir>/cache.json`, `{"capBytes": N}`) so the app
 * and every CLI command sharing the folder obey the same cap. Sizes use the app's units: 1 GB = 1024³ bytes.
 */
import fs from "node:fs/promises";
import path from "node:path";
import { AppFailure } from "../../../shared/result";
import { writeAtomic } from "./disk-cache";

export const DEFAULT_CAP_BYTES = 20 * 1024 ** 3;
export const CAP_FILE = "cache.json";

const UNITS: Record<string, number> = { B: 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/** "50GB", "512 MiB", "2t", "1000000" → bytes; null when it is not a size. */
export function parseSize(text: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(?:([KMGT])(?:i?B)?|B)?\s*$/i.exec(text);
  if (!m) return null;
  const bytes = Math.round(Number(m[1]) * UNITS[(m[2] ?? "B").toUpperCase()]);
  return Number.isSafeInteger(bytes) ? bytes : null;
}

/** The cap in effect for a cache folder: its cache.json, else the default (a damaged file counts as absent). */
export async function readCap(cacheDir: string): Promise<number> {
  try {
    const value = (JSON.parse(await fs.readFile(path.join(cacheDir, CAP_FILE), "utf8")) as { capBytes?: unknown }).capBytes;
    if (Number.isSafeInteger(value) && (value as number) >= 0) return value as number;
  } catch {
    // absent or damaged: the default
  }
  return DEFAULT_CAP_BYTES;
}

export async function writeCap(cacheDir: string, capBytes: number): Promise<void> {
  if (!Number.isSafeInteger(capBytes) || capBytes < 0)
    throw new AppFailure("INVALID_ARGUMENT", `The cache cap must be a whole number of bytes ≥ 0, got ${capBytes}`);
  await writeAtomic(path.join(cacheDir, CAP_FILE), `${JSON.stringify({ capBytes }, null, 2)}\n`);
}
