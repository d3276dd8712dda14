/** AnnData dataframes (obs / var, anndata ≥ 0.7 encoding) and obsm / varm arrays, read with h5wasm. */
import { fail } from "../errors";
import { attrString, attrStrings, getEntity, isDataset, isGroup, numbers, quietHdf5, readSlice, readStrings, type H5Dataset, type H5Group } from "./hdf5";
import { isCompound, readLegacyEmbeddings, readLegacyFrame } from "./legacy-frame";
import type { ColumnValues, Embedding, Frame, FrameColumn } from "./source";

/** Where AnnData < 0.7 keeps the labels of categorical columns, and which of those `uns` keys were used. */
export interface LegacyCategories {
  uns: H5Group | null;
  used: Set<string>;
}

/**
 * `name` is the entry under `root`; `label` names it in messages (raw/var is `var` in the raw group). A
 * compound dataset is the AnnData < 0.7 layout (legacy-frame.ts), its categories in `legacy.uns`.
 */
export function readFrame(root: H5Group, name: string, file: string, warnings: string[], label = name, legacy?: LegacyCategories): Frame {
  const g = getEntity(root, name);
  if (isDataset(g)) {
    if (isCompound(g)) return readLegacyFrame(g, legacy?.uns ?? null, file, label, warnings, legacy?.used ?? new Set());
    fail("CONVERT_INPUT_INVALID", `${file}: ${label} is a plain array, not a dataframe (a group, or a table in AnnData < 0.7 files)`, { path: file });
  }
  if (!isGroup(g)) fail("CONVERT_INPUT_INVALID", `${file} has no ${label} dataframe`, { path: file });
  const indexName = attrString(g, "_index") ?? "_index";
  const index = getEntity(g, indexName);
  if (!isDataset(index)) fail("CONVERT_INPUT_INVALID", `${file}: ${label} has no index (${label}/${indexName})`, { path: file });
  const length = index.shape?.[0] ?? 0;
  const order = attrStrings(g, "column-order");
  const columns: FrameColumn[] = [];
  for (const col of order) {
    if (col === indexName) continue;
    const column = frameColumn(g, col, `${label}/${col}`, file, warnings);
    if (column) columns.push(column);
  }
  return {
    length,
    readIndex: () => readStringsInSlices(index, file, length),
    columns,
  };
}

function frameColumn(g: H5Group, col: string, where: string, file: string, warnings: string[]): FrameColumn | null {
  const e = getEntity(g, col);
  if (isDataset(e)) return { name: col, read: (s, end) => datasetValues(e, file, s, end) };
  if (isGroup(e)) {
    const enc = attrString(e, "encoding-type");
    if (enc === "categorical") {
      const codes = getEntity(e, "codes");
      const categories = getEntity(e, "categories");
      if (isDataset(codes) && isDataset(categories)) {
        let cats: string[] | null = null;
        return {
          name: col,
          read: (s, end) => {
            cats ??= categoryLabels(categories, file);
            const c = readSlice(codes, [[s, end]], file);
            const values: (string | null)[] = new Array(c.length);
            for (let i = 0; i < c.length; i++) {
              const k = Number(c[i]);
              values[i] = k >= 0 && k < cats.length ? cats[k] : null;
            }
            return { type: "string", values };
          },
        };
      }
    }
    if (enc === "nullable-integer" || enc === "nullable-boolean" || enc === "nullable-string-array") {
      const values = getEntity(e, "values");
      const mask = getEntity(e, "mask");
      // anndata reads a nullable group without a mask as having no nulls.
      if (isDataset(values) && (mask === null || isDataset(mask))) {
        return { name: col, read: (s, end) => nullableValues(enc, values, isDataset(mask) ? mask : null, where, file, s, end) };
      }
    }
    warnings.push(`${where}: encoding "${enc ?? "unknown"}" is not supported; column skipped`);
    return null;
  }
  warnings.push(`${where} is listed in column-order but missing; skipped`);
  return null;
}

/** AnnData's nullable-integer / -boolean / -string-array: `values` plus `mask` (true = missing) → nulls. */
function nullableValues(enc: string, values: H5Dataset, mask: H5Dataset | null, where: string, file: string, s: number, end: number): ColumnValues {
  let missing: Uint8Array | undefined;
  if (mask && end > s) {
    const m = readSlice(mask, [[s, end]], file);
    if (m.length !== end - s) fail("CONVERT_INPUT_INVALID", `${file}: ${where}/mask has fewer rows than ${where}/values`, { path: file });
    missing = Uint8Array.from(m as ArrayLike<number>, (x) => (Number(x) ? 1 : 0));
  }
  if (enc === "nullable-string-array") {
    const v = end > s ? readStrings(values, file, s, end) : [];
    return { type: "string", values: missing ? v.map((x, i) => (missing[i] ? null : x)) : v };
  }
  if (enc === "nullable-boolean") {
    const v = end > s ? toNumbers(readSlice(values, [[s, end]], file)) : [];
    return { type: "bool", values: v.map((x, i) => (missing?.[i] ? null : Boolean(x))) };
  }
  const v = datasetValues(values, file, s, end);
  if (v.type === "string" || v.type === "bool")
    fail("CONVERT_INPUT_INVALID", `${file}: ${where}/values should hold integers (encoding nullable-integer)`, { path: file });
  return missing ? { ...v, missing } : v;
}

function categoryLabels(ds: H5Dataset, file: string): string[] {
  if (quietHdf5(() => ds.metadata.type) === 3) return readStrings(ds, file);
  return toNumbers(readSlice(ds, [], file)).map(String);
}

/**
 * All strings of a dataset, read a slice at a time: libhdf5 needs room for a slice's strings in the wasm heap,
 * which never shrinks, so a million names read at once would keep tens of MB for the rest of the conversion.
 */
export function readStringsInSlices(ds: H5Dataset, file: string, length: number): string[] {
  const out: string[] = [];
  for (let s = 0; s < length; s += STRING_SLICE) for (const x of readStrings(ds, file, s, Math.min(length, s + STRING_SLICE))) out.push(x);
  return out;
}

const STRING_SLICE = 65_536;

export function datasetValues(ds: H5Dataset, file: string, start: number, end: number): ColumnValues {
  const meta = quietHdf5(() => ds.metadata);
  if (meta.type === 3) return { type: "string", values: readStrings(ds, file, start, end) };
  const raw = end > start ? readSlice(ds, [[start, end]], file) : new Float64Array(0);
  if (meta.type === 8 || (meta.type === 0 && meta.size === 1 && /bool/i.test(String(ds.attrs["encoding-type"]?.value ?? "")))) {
    return { type: "bool", values: toNumbers(raw).map(Boolean) };
  }
  if (raw instanceof Float64Array) return { type: "float64", values: raw };
  if (raw instanceof Float32Array) return { type: "float32", values: raw };
  if (raw instanceof BigInt64Array) return { type: "int64", values: raw };
  if (raw instanceof BigUint64Array || raw instanceof Uint32Array) return { type: "int64", values: BigInt64Array.from(toNumbers(raw), (x) => BigInt(x)) };
  return { type: "int32", values: Int32Array.from(raw as ArrayLike<number>) };
}

/** Each 1-D or 2-D dataset under obsm / varm becomes a float32 embedding; anything else is skipped with a warning. */
export function readEmbeddings(root: H5Group, name: "obsm" | "varm", rows: number, file: string, warnings: string[]): Embedding[] {
  const g = getEntity(root, name);
  if (isDataset(g) && isCompound(g)) return readLegacyEmbeddings(g, name, rows, file, warnings);
  if (!isGroup(g)) return [];
  const out: Embedding[] = [];
  for (const key of g.keys()) {
    const ds = getEntity(g, key);
    if (!isDataset(ds)) {
      warnings.push(`${name}/${key} is not a dense array (dataframe or sparse); skipped`);
      continue;
    }
    const shape = ds.shape ?? [];
    if (shape.length < 1 || shape.length > 2 || quietHdf5(() => ds.metadata.type) > 1) {
      warnings.push(`${name}/${key} is not a numeric 1-D or 2-D array; skipped`);
      continue;
    }
    if (shape[0] !== rows) {
      fail("CONVERT_INPUT_INVALID", `${file}: ${name}/${key} has ${shape[0]} rows but ${name === "obsm" ? "obs" : "var"} has ${rows}`, { path: file });
    }
    const dim = shape.length === 2 ? shape[1] : 1;
    out.push({
      name: key,
      dim,
      read: (start, end) => {
        const ranges: [number, number][] =
          shape.length === 2
            ? [
                [start, end],
                [0, dim],
              ]
            : [[start, end]];
        const raw = readSlice(ds, ranges, file);
        return raw instanceof Float32Array ? raw : Float32Array.from(raw as ArrayLike<number>, Number);
      },
    });
  }
  return out;
}

function toNumbers(raw: ArrayLike<number | bigint>): number[] {
  return Array.from(raw, Number);
}

export { numbers };
