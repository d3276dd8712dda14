/**
 * cells.lance / genes.lance from a source frame (slaf-format.md §1.4–1.5): frame columns (names sanitized),
 * then `<kind>_id`, `<kind>_integer_id` (int64), for cells `cell_start_index` (int64, counted from X), then
 * one FixedSizeList<float32, d> column per obsm / varm key. Written in slices of rows.
 */
import type { Vector as ArrowVector } from "apache-arrow";
import { arrow } from "../arrow";
import { CompactStrings, makeUnique, sanitizeColumn } from "./names";
import { fail } from "../errors";
import type { ColumnValues, Embedding, Frame, FrameColumn } from "./source";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Vector = ArrowVector<any>;
type ArrowTable = InstanceType<typeof arrow.Table>;

/** Rows built at a time (their JS objects die young), and rows per Lance append (one fragment each). */
const SLICE_ROWS = 5_000;
const WRITE_ROWS = 100_000;

export interface PreparedFrame {
  ids: CompactStrings;
  /** Source columns under their SLAF names. */
  columns: { name: string; column: FrameColumn }[];
  warnings: string[];
}

/** Reads the index and columns, makes names unique and column names Lance-safe. */
export function prepareFrame(frame: Frame, kind: "cell" | "gene", label: "obs" | "var"): PreparedFrame {
  const warnings: string[] = [];
  const unique = makeUnique(frame.readIndex());
  if (unique.changed > 0) warnings.push(`${label} names: ${unique.changed.toLocaleString("en-US")} duplicates made unique (e.g. ${unique.example})`);
  const reserved = new Set([`${kind}_id`, `${kind}_integer_id`, ...(kind === "cell" ? ["cell_start_index"] : [])]);
  const used = new Set<string>();
  const columns: PreparedFrame["columns"] = [];
  for (const col of frame.columns) {
    let name = sanitizeColumn(col.name);
    if (reserved.has(name)) {
      warnings.push(`${label} column "${col.name}" is replaced by SLAF's own ${name}`);
      continue;
    }
    if (used.has(name)) {
      let k = 1;
      while (used.has(`${name}_${k}`)) k++;
      warnings.push(`${label} column "${col.name}" renamed to "${name}_${k}" (another column sanitizes to "${name}")`);
      name = `${name}_${k}`;
    }
    used.add(name);
    columns.push({ name, column: col });
  }
  return { ids: CompactStrings.from(unique.names), columns, warnings };
}

function columnVector(v: ColumnValues): Vector {
  const { vectorFromArray, makeVector, Utf8, Bool } = arrow;
  switch (v.type) {
    case "string":
      return vectorFromArray(v.values, new Utf8());
    case "bool":
      return vectorFromArray(v.values, new Bool());
    default:
      return v.missing ? nullableVector(v.type, v.values, v.missing) : (makeVector(v.values) as unknown as Vector);
  }
}

/** A numeric column with nulls where `missing` is 1 (Arrow validity bitmap: 1 = present). */
function nullableVector(
  type: "float64" | "float32" | "int64" | "int32",
  values: Float64Array | Float32Array | BigInt64Array | Int32Array,
  missing: Uint8Array,
): Vector {
  const { makeData, makeVector, Float64, Float32, Int64, Int32 } = arrow;
  const n = values.length;
  const validity = new Uint8Array(Math.ceil(n / 8));
  let nullCount = 0;
  for (let i = 0; i < n; i++) {
    if (missing[i]) nullCount++;
    else validity[i >> 3] |= 1 << (i & 7);
  }
  const arrowType = { float64: new Float64(), float32: new Float32(), int64: new Int64(), int32: new Int32() }[type];
  return makeVector(makeData({ type: arrowType, length: n, nullCount, nullBitmap: validity, data: values } as never)) as unknown as Vector;
}

export function embeddingVector(e: Embedding, s: number, end: number): Vector {
  const { makeData, makeVector, FixedSizeList, Field, Float32 } = arrow;
  const n = end - s;
  const values = e.read(s, end);
  const child = makeData({ type: new Float32(), length: n * e.dim, data: values });
  const type = new FixedSizeList(e.dim, new Field("item", new Float32(), true));
  return makeVector(makeData({ type, length: n, nullCount: 0, child })) as unknown as Vector;
}

/** The table in parts of up to WRITE_ROWS rows, each ready for one Lance write, built SLICE_ROWS rows at a time. */
export function* metadataSlices(
  kind: "cell" | "gene",
  prepared: PreparedFrame,
  embeddings: Embedding[],
  startIndex: Float64Array | null,
): Generator<ArrowTable> {
  const n = prepared.ids.length;
  let part: ArrowTable | null = null;
  for (let s = 0; s < Math.max(n, 1); s += SLICE_ROWS) {
    const slice = metadataSlice(kind, prepared, embeddings, startIndex, s, Math.min(n, s + SLICE_ROWS));
    part = part ? part.concat(slice) : slice;
    if (part.numRows >= WRITE_ROWS) {
      yield part;
      part = null;
    }
    if (n === 0) break;
  }
  if (part) yield part;
}

function metadataSlice(
  kind: "cell" | "gene",
  prepared: PreparedFrame,
  embeddings: Embedding[],
  startIndex: Float64Array | null,
  s: number,
  e: number,
): ArrowTable {
  const { makeData, makeVector, Utf8, Table } = arrow;
  const cols: Record<string, Vector> = {};
  for (const c of prepared.columns) {
    const values = c.column.read(s, e);
    if (values.values.length !== e - s)
      fail("CONVERT_INPUT_INVALID", `${kind === "cell" ? "obs" : "var"} column "${c.column.name}" has ${values.values.length} values for rows ${s}..${e - 1}`);
    cols[c.name] = columnVector(values);
  }
  cols[`${kind}_id`] = makeVector(makeData({ type: new Utf8(), length: e - s, nullCount: 0, ...prepared.ids.utf8Slice(s, e) })) as unknown as Vector;
  cols[`${kind}_integer_id`] = makeVector(BigInt64Array.from({ length: e - s }, (_, i) => BigInt(s + i))) as unknown as Vector;
  if (startIndex) cols.cell_start_index = makeVector(BigInt64Array.from(startIndex.subarray(s, e), (x) => BigInt(x))) as unknown as Vector;
  for (const emb of embeddings) cols[sanitizeColumn(emb.name)] = embeddingVector(emb, s, e);
  return new Table(cols) as ArrowTable;
}
