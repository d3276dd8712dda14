/** Cell sets as CSV files of cell_id (header `cell_id`, one per line, RFC 4180 quoting). */
import type * as lancedb from "@lancedb/lancedb";
import type { arrow } from "../arrow";
import { fail } from "../errors";
import { FileReadError, readRegularFile } from "../fs/read-regular-file";
import { columnNumbers } from "./arrow-read";
import { scanBatches } from "./lance-scan";

type Vector = InstanceType<typeof arrow.Vector>;

/** The largest CSV accepted for import. */
export const MAX_IMPORT_BYTES = 512 * 1024 * 1024;

function csvField(s: string): string {
  return /[",\r\n]/.test(s) || s !== s.trim() ? `"${s.replaceAll('"', '""')}"` : s;
}

/** Reads cell_id for every cell (callback per batch: ids and the cell_id vector). */
async function scanCellIds(table: lancedb.Table, each: (ids: ArrayLike<number>, cellIds: Vector) => void): Promise<void> {
  for await (const batch of scanBatches(table, ["cell_integer_id", "cell_id"])) {
    each(columnNumbers(batch.getChild("cell_integer_id") as Vector), batch.getChild("cell_id") as Vector);
  }
}

/** The CSV text of a set: cell_id of each member in ascending cell_integer_id. */
export async function setCsv(cells: lancedb.Table, members: Int32Array, nCells: number): Promise<string> {
  const slot = new Int32Array(nCells).fill(-1);
  members.forEach((id, k) => (slot[id] = k));
  const names: string[] = new Array<string>(members.length).fill("");
  await scanCellIds(cells, (ids, cellIds) => {
    for (let r = 0; r < ids.length; r++) {
      const k = slot[ids[r]];
      if (k >= 0) names[k] = String(cellIds.get(r) ?? "");
    }
  });
  return `cell_id\n${names.map((n) => `${csvField(n)}\n`).join("")}`;
}

/** Rows of a CSV text (quoted fields, "" escapes, CRLF or LF); a trailing empty line is dropped. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  let i = 0;
  const t = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  while (i < t.length) {
    const ch = t[i];
    if (quoted) {
      if (ch === '"' && t[i + 1] === '"') {
        field += '"';
        i += 2;
        continue;
      }
      if (ch === '"') quoted = false;
      else field += ch;
      i++;
      continue;
    }
    if (ch === '"' && field === "") quoted = true;
    else if (ch === ",") {
      row.push(field);
      field = "";
    } else if (ch === "\n" || ch === "\r") {
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
      if (ch === "\r" && t[i + 1] === "\n") i++;
    } else field += ch;
    i++;
  }
  if (field !== "" || row.length) {
    row.push(field);
    rows.push(row);
  }
  return rows.filter((r) => !(r.length === 1 && r[0] === ""));
}

export interface ImportedIds {
  ids: Int32Array;
  unknown: number;
  unknownExamples: string[];
}

/** cell_integer_ids of the cell_ids listed in a CSV file (column `cell_id`, else the first). */
export async function importCsv(file: string, cells: lancedb.Table): Promise<ImportedIds> {
  let bytes: Buffer;
  try {
    ({ bytes } = await readRegularFile(file, { maxBytes: MAX_IMPORT_BYTES, what: "cell set CSV" }));
  } catch (e) {
    if (e instanceof FileReadError) fail(e.problem === "missing" ? "INVALID_ARGUMENT" : "EXPLORE_IMPORT_INVALID", e.message, { path: file });
    throw e;
  }
  const rows = parseCsv(bytes.toString("utf8"));
  if (rows.length === 0) fail("EXPLORE_IMPORT_INVALID", `${file} is empty; it needs a header line (cell_id) and one cell_id per line`, { path: file });
  const header = rows[0].map((h) => h.trim().toLowerCase());
  const col = Math.max(0, header.indexOf("cell_id"));
  const wanted = new Map<string, number>();
  for (const r of rows.slice(1)) {
    const v = (r[col] ?? "").trim();
    if (v !== "" && !wanted.has(v)) wanted.set(v, -1);
  }
  if (wanted.size === 0) fail("EXPLORE_IMPORT_INVALID", `${file} lists no cell ids under "${rows[0][col] ?? ""}"`, { path: file });
  await scanCellIds(cells, (ids, cellIds) => {
    for (let r = 0; r < ids.length; r++) {
      const name = cellIds.get(r) as string | null;
      if (name !== null && wanted.has(name)) wanted.set(name, ids[r]);
    }
  });
  const found: number[] = [];
  const missing: string[] = [];
  for (const [name, id] of wanted) {
    if (id >= 0) found.push(id);
    else missing.push(name);
  }
  if (found.length === 0)
    fail("EXPLORE_IMPORT_INVALID", `None of the ${wanted.size} cell ids in ${file} is a cell of this dataset (first: ${missing.slice(0, 3).join(", ")})`, {
      path: file,
    });
  return { ids: Int32Array.from(found).sort(), unknown: missing.length, unknownExamples: missing.slice(0, 5) };
}
