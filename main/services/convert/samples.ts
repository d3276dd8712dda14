/**
 * Naming the samples of a multi-input conversion: from the file or folder names (walking up past Cell
 * Ranger's generic names such as `outs/filtered_feature_bc_matrix`), from the user (`--sample name=path`), or
 * from a sample sheet (CSV or TSV with `sample` and `path` columns; any other column becomes a per-sample
 * column of cells).
 */
import fs from "node:fs/promises";
import path from "node:path";
import { fail } from "../errors";
import type { ConvertInput } from "./convert";

/** Folder and file names that say nothing about the sample (Cell Ranger, STARsolo, kallisto outputs). */
const GENERIC = new Set([
  "outs",
  "filtered_feature_bc_matrix",
  "raw_feature_bc_matrix",
  "filtered_gene_bc_matrices",
  "raw_gene_bc_matrices",
  "sample_filtered_feature_bc_matrix",
  "sample_raw_feature_bc_matrix",
  "count",
  "counts",
  "matrix",
  "gene",
  "genefull",
  "filtered",
  "raw",
  "solo.out",
  "per_sample_outs",
]);

function stem(name: string): string {
  return name.replace(/\.(h5ad|loom|h5|hdf5|mtx|mtx\.gz)$/i, "");
}

/** "data/donor1/outs/filtered_feature_bc_matrix.h5" → "donor1"; "pbmc_a.h5ad" → "pbmc_a". */
export function sampleNameFromPath(p: string): string {
  let at = path.resolve(p);
  if (/^matrix\.mtx(\.gz)?$/i.test(path.basename(at))) at = path.dirname(at);
  let name = stem(path.basename(at));
  // Genome folders (Cell Ranger 2: filtered_gene_bc_matrices/GRCh38) count as generic under a generic parent.
  while (at !== path.dirname(at)) {
    const parent = path.dirname(at);
    const generic = GENERIC.has(name.toLowerCase()) || (GENERIC.has(path.basename(parent).toLowerCase()) && /^(grch|hg|mm|grcm)\d/i.test(name));
    if (!generic) break;
    at = parent;
    name = stem(path.basename(at));
  }
  return name || "sample";
}

/** Sample names checked: none empty, none repeated (names the user gave are never changed). */
export function checkSampleNames(inputs: ConvertInput[]): void {
  const seen = new Map<string, string>();
  for (const input of inputs) {
    const name = input.sample?.trim();
    if (!name) fail("INVALID_ARGUMENT", `The sample of ${input.path} has an empty name`);
    if (/\p{Cc}/u.test(name)) fail("INVALID_ARGUMENT", `The sample name for ${input.path} contains control characters`);
    const other = seen.get(name);
    if (other) fail("INVALID_ARGUMENT", `Two inputs are named "${name}" (${other} and ${input.path}); sample names must differ`);
    seen.set(name, input.path);
  }
}

/**
 * Fills in the missing sample names from the paths; names that come out equal get "-2", "-3"... Returns the
 * inputs and a note for each name that had to be changed.
 */
export function nameSamples(inputs: ConvertInput[]): { inputs: ConvertInput[]; notes: string[] } {
  const taken = new Set(inputs.filter((i) => i.sample?.trim()).map((i) => i.sample!.trim()));
  const notes: string[] = [];
  const out = inputs.map((input) => {
    if (input.sample?.trim()) return { ...input, sample: input.sample.trim() };
    const base = sampleNameFromPath(input.path);
    let name = base;
    for (let k = 2; taken.has(name); k++) name = `${base}-${k}`;
    if (name !== base) notes.push(`${input.path} is named "${name}" ("${base}" was taken)`);
    taken.add(name);
    return { ...input, sample: name };
  });
  checkSampleNames(out);
  return { inputs: out, notes };
}

/** `name=path` (the first "=" splits, so paths may hold "="). */
export function parseSampleFlag(text: string): ConvertInput {
  const eq = text.indexOf("=");
  if (eq <= 0 || eq === text.length - 1) fail("INVALID_ARGUMENT", `--sample needs NAME=PATH, got "${text}"`);
  return { sample: text.slice(0, eq).trim(), path: text.slice(eq + 1).trim() };
}

function splitLine(line: string, sep: string): string[] {
  const out: string[] = [];
  let cur = "";
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"' && cur === "") quoted = true;
    else if (ch === sep) {
      out.push(cur.trim());
      cur = "";
    } else cur += ch;
  }
  out.push(cur.trim());
  return out;
}

/**
 * A sample sheet: a header with `sample` and `path` (or `file`) columns, one input per row, paths relative to
 * the sheet's folder; the other columns are kept per sample (they become columns of cells).
 */
export async function readSampleSheet(file: string): Promise<ConvertInput[]> {
  let text: string;
  try {
    text = await fs.readFile(file, "utf8");
  } catch (e) {
    fail("CONVERT_INPUT_INVALID", `Cannot read the sample sheet ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { path: file });
  }
  const lines = text
    .replace(/^\uFEFF/, "")
    .split(/\r?\n/)
    .filter((l) => l.trim() !== "" && !l.startsWith("#"));
  if (lines.length < 2) fail("CONVERT_INPUT_INVALID", `${file}: a sample sheet needs a header line and one line per sample`, { path: file });
  const sep = lines[0].includes("\t") ? "\t" : ",";
  const header = splitLine(lines[0], sep);
  const lower = header.map((h) => h.toLowerCase());
  const sampleAt = lower.indexOf("sample");
  const pathAt = lower.indexOf("path") >= 0 ? lower.indexOf("path") : lower.indexOf("file");
  if (sampleAt < 0 || pathAt < 0) {
    fail("CONVERT_INPUT_INVALID", `${file}: the header must name a "sample" and a "path" column; it has: ${header.join(", ")}`, { path: file });
  }
  const dir = path.dirname(path.resolve(file));
  return lines.slice(1).map((line, i) => {
    const cells = splitLine(line, sep);
    if (cells.length !== header.length) {
      fail("CONVERT_INPUT_INVALID", `${file}: line ${i + 2} has ${cells.length} fields but the header has ${header.length}`, { path: file });
    }
    if (!cells[pathAt]) fail("CONVERT_INPUT_INVALID", `${file}: line ${i + 2} has no path`, { path: file });
    const columns: Record<string, string> = {};
    header.forEach((h, k) => {
      if (k !== sampleAt && k !== pathAt) columns[h] = cells[k];
    });
    return { sample: cells[sampleAt], path: path.resolve(dir, cells[pathAt]), ...(Object.keys(columns).length ? { columns } : {}) };
  });
}
