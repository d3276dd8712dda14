/**
 * Colours from a cells column, per cell_integer_id: categorical codes with their categories (dictionary encoded
 * from the raw Arrow bytes, no JS object per cell) or continuous Float32 values with their spread.
 */
import { EXPLORE_MAX_CATEGORIES, type ExploreCategory, type ExploreColors } from "../../../shared/ipc/contract";
import type * as lancedb from "@lancedb/lancedb";
import { arrow } from "../arrow";
import { fail } from "../errors";
import { chunks, columnNumbers, type Chunk } from "./arrow-read";
import { typedIpc } from "./arrow-ipc";
import { scanBatches } from "./lance-scan";
import { sortedFinite, spread } from "./quantiles";

type Vector = InstanceType<typeof arrow.Vector>;

/** Too many distinct values to draw as categories. */
export class TooManyCategories extends Error {}

/** Provisional codes in first-seen order; -1 is null. */
class Encoder {
  readonly keys: string[] = [];
  private readonly codes = new Map<string, number>();

  code(key: string | null): number {
    if (key === null) return -1;
    let c = this.codes.get(key);
    if (c === undefined) {
      if (this.keys.length >= EXPLORE_MAX_CATEGORIES) throw new TooManyCategories();
      c = this.keys.length;
      this.keys.push(key);
      this.codes.set(key, c);
    }
    return c;
  }
}

function text(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === "number" && Number.isNaN(v)) return null;
  return String(v);
}

/** Codes of one chunk's rows. */
function encodeChunk(c: Chunk, vector: Vector, at: number, enc: Encoder, out: Int32Array): void {
  const d = c.data;
  const typeId = d.type.typeId;
  if ((typeId === arrow.Type.Utf8 || typeId === arrow.Type.LargeUtf8) && d.valueOffsets && d.values) {
    const offsets = d.valueOffsets as Int32Array | BigInt64Array;
    const bytes = Buffer.from((d.values as Uint8Array).buffer, (d.values as Uint8Array).byteOffset, (d.values as Uint8Array).byteLength);
    for (let r = 0; r < c.length; r++) {
      if (c.valid && !c.valid(r)) out[r] = enc.code(null);
      else out[r] = enc.code(bytes.toString("utf8", Number(offsets[d.offset + r]), Number(offsets[d.offset + r + 1])));
    }
    return;
  }
  if (typeId === arrow.Type.Dictionary && d.dictionary) {
    const dict = d.dictionary as Vector;
    const dictCodes = Array.from({ length: dict.length }, (_, k) => enc.code(text(dict.get(k))));
    // A dictionary chunk's values buffer holds its indices.
    const indices = d.values as Int8Array | Int16Array | Int32Array | Uint8Array | Uint16Array | Uint32Array;
    for (let r = 0; r < c.length; r++) out[r] = c.valid && !c.valid(r) ? enc.code(null) : dictCodes[indices[d.offset + r]];
    return;
  }
  for (let r = 0; r < c.length; r++) out[r] = enc.code(text(vector.get(at + r)));
}

function naturalOrder(keys: string[]): number[] {
  const order = keys.map((_, k) => k);
  const numeric = keys.every((k) => k.trim() !== "" && Number.isFinite(Number(k)));
  if (numeric) return order.sort((a, b) => Number(keys[a]) - Number(keys[b]));
  const collator = new Intl.Collator("en", { numeric: true, sensitivity: "variant" });
  return order.sort((a, b) => collator.compare(keys[a], keys[b]) || (keys[a] < keys[b] ? -1 : keys[a] > keys[b] ? 1 : 0));
}

/** Reads `column` with cell_integer_id; `put(ids, vector)` receives each batch. */
async function readColumn(table: lancedb.Table, column: string, put: (ids: ArrayLike<number>, vector: Vector) => void, signal?: AbortSignal): Promise<void> {
  for await (const batch of scanBatches(table, ["cell_integer_id", column], { signal })) {
    put(columnNumbers(batch.getChild("cell_integer_id") as Vector), batch.getChild(column) as Vector);
  }
}

/** Colours plus the per-cell arrays behind them (kept in main for sets made from a category). */
export interface ColoursRead {
  colors: ExploreColors;
  codes?: Uint16Array | Int32Array;
}

export async function categoricalColours(table: lancedb.Table, column: string, nCells: number, signal?: AbortSignal): Promise<ColoursRead> {
  const enc = new Encoder();
  const provisional = new Int32Array(nCells).fill(-2);
  await readColumn(
    table,
    column,
    (ids, vector) => {
      let at = 0;
      for (const c of chunks(vector)) {
        const codes = new Int32Array(c.length);
        encodeChunk(c, vector, at, enc, codes);
        for (let r = 0; r < c.length; r++) provisional[ids[at + r]] = codes[r];
        at += c.length;
      }
    },
    signal,
  );
  // Counted first, so dictionary entries no cell uses are left out.
  const counts = new Int32Array(enc.keys.length + 1);
  for (let i = 0; i < nCells; i++) {
    const p = provisional[i];
    if (p === -2) fail("EXPLORE_DATASET_UNSUPPORTED", `cell_integer_id ${i} has no row in the cells table`);
    counts[p === -1 ? enc.keys.length : p]++;
  }
  const order = naturalOrder(enc.keys).filter((k) => counts[k] > 0);
  const remap = new Int32Array(enc.keys.length + 1);
  order.forEach((k, rank) => (remap[k] = rank));
  const categories: ExploreCategory[] = order.map((k) => ({ value: enc.keys[k], cells: counts[k] }));
  if (counts[enc.keys.length] > 0) {
    remap[enc.keys.length] = categories.length;
    categories.push({ value: null, cells: counts[enc.keys.length] });
  }
  const codes = categories.length > 65_535 ? new Int32Array(nCells) : new Uint16Array(nCells);
  for (let i = 0; i < nCells; i++) codes[i] = remap[provisional[i] === -1 ? enc.keys.length : provisional[i]];
  return { colors: { kind: "categorical", column, categories, arrow: typedIpc({ code: codes }) }, codes };
}

/** Values per cell (NaN for null) from a numeric column; EXPLORE_COLUMN_INVALID for text. */
export async function continuousValues(table: lancedb.Table, column: string, nCells: number, signal?: AbortSignal): Promise<Float32Array> {
  const values = new Float32Array(nCells).fill(NaN);
  await readColumn(
    table,
    column,
    (ids, vector) => {
      const typeId = vector.type.typeId;
      if (typeId !== arrow.Type.Int && typeId !== arrow.Type.Float && typeId !== arrow.Type.Decimal)
        fail("EXPLORE_COLUMN_INVALID", `"${column}" holds ${String(vector.type)}, not numbers: colour by it as categories`);
      const v = columnNumbers(vector);
      for (let r = 0; r < v.length; r++) values[ids[r]] = v[r];
    },
    signal,
  );
  return values;
}

export function continuousColours(column: string, values: Float32Array): ColoursRead {
  const s = spread(sortedFinite(values));
  let nulls = 0;
  for (let i = 0; i < values.length; i++) if (Number.isNaN(values[i])) nulls++;
  return { colors: { kind: "continuous", column, min: s.min, max: s.max, q01: s.q01, q99: s.q99, nulls, arrow: typedIpc({ value: values }) } };
}
