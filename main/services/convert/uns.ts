/**
 * AnnData's `uns` as the JSON SLAF writes to uns.json (slaf-format.md §1.8: arrays become lists, numpy scalars
 * plain values, dicts recursed): read from the HDF5 group with h5wasm. anndata's encodings are honoured
 * (dict, string / numeric scalars, arrays, categorical, nullable arrays, dataframes as {column: list}); sparse
 * matrices and anything else that has no JSON form is left out with a warning, as is any array over
 * MAX_ELEMENTS values (uns is metadata; a matrix that large belongs in obsm / obsp / layers).
 */
import { attrString, getEntity, isDataset, isGroup, quietHdf5, type H5Dataset, type H5Group } from "./hdf5";

const MAX_ELEMENTS = 5_000_000;

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** One HDF5 value (number, bigint, string, bytes, typed array) as JSON. */
export function valueJson(v: unknown): Json {
  if (v === null || v === undefined) return null;
  if (typeof v === "bigint") return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (typeof v === "number") return Number.isFinite(v) ? v : null;
  if (typeof v === "boolean" || typeof v === "string") return v;
  if (v instanceof Uint8Array) return Buffer.from(v).toString("utf8");
  if (Array.isArray(v)) return v.map(valueJson);
  if (ArrayBuffer.isView(v)) return Array.from(v as unknown as ArrayLike<number | bigint>, valueJson);
  return String(v);
}

/** A flat list of values reshaped to `shape` (row-major), as numpy's tolist() gives it. */
function reshape(flat: Json[], shape: number[]): Json {
  if (shape.length <= 1) return flat;
  const [, ...rest] = shape;
  const step = rest.reduce((a, b) => a * b, 1);
  const out: Json[] = [];
  for (let i = 0; i < flat.length; i += step) out.push(reshape(flat.slice(i, i + step), rest));
  return out;
}

function datasetJson(ds: H5Dataset, where: string, warnings: string[]): Json | undefined {
  const meta = quietHdf5(() => ds.metadata);
  const shape = ds.shape ?? [];
  const size = shape.reduce((a, b) => a * b, 1);
  if (size > MAX_ELEMENTS) {
    warnings.push(`uns/${where} has ${size.toLocaleString("en-US")} values; left out of uns.json`);
    return undefined;
  }
  let value: unknown;
  try {
    value = quietHdf5(() => ds.value);
  } catch {
    warnings.push(`uns/${where} cannot be read; left out of uns.json`);
    return undefined;
  }
  const isBool = meta.type === 8 && meta.size === 1;
  const convert = (v: unknown): Json => (isBool && typeof v === "number" ? v !== 0 : valueJson(v));
  if (shape.length === 0) return convert(Array.isArray(value) && meta.type !== 6 ? value[0] : value);
  const flat = Array.isArray(value)
    ? value.map(convert)
    : ArrayBuffer.isView(value)
      ? Array.from(value as unknown as ArrayLike<unknown>, convert)
      : [convert(value)];
  return reshape(flat, shape);
}

/** A group as a JSON object (anndata encodings honoured); `where` is its path under uns, for messages. */
export function groupJson(g: H5Group, where: string, warnings: string[], skip: ReadonlySet<string>): Json | undefined {
  const enc = attrString(g, "encoding-type");
  const child = (name: string) => getEntity(g, name);
  if (enc === "categorical") {
    const codes = child("codes");
    const cats = child("categories");
    if (!isDataset(codes) || !isDataset(cats)) return undefined;
    const labels = datasetJson(cats, `${where}/categories`, warnings) as Json[] | undefined;
    const c = datasetJson(codes, `${where}/codes`, warnings) as number[] | undefined;
    if (!labels || !c) return undefined;
    return c.map((k) => (k >= 0 && k < labels.length ? labels[k] : null));
  }
  if (enc === "nullable-integer" || enc === "nullable-boolean" || enc === "nullable-string-array") {
    const values = child("values");
    const mask = child("mask");
    if (!isDataset(values)) return undefined;
    const v = datasetJson(values, `${where}/values`, warnings) as Json[] | undefined;
    const m = isDataset(mask) ? (datasetJson(mask, `${where}/mask`, warnings) as Json[] | undefined) : undefined;
    if (!v) return undefined;
    return v.map((x, i) => (m?.[i] ? null : enc === "nullable-boolean" && typeof x === "number" ? x !== 0 : x));
  }
  if (enc === "csr_matrix" || enc === "csc_matrix" || enc === "awkward-array" || attrString(g, "h5sparse_format")) {
    warnings.push(`uns/${where} is a ${enc ?? "sparse matrix"}; left out of uns.json`);
    return undefined;
  }
  const out: { [k: string]: Json } = {};
  for (const key of g.keys()) {
    if (where === "" && skip.has(key)) continue;
    const path = where ? `${where}/${key}` : key;
    const e = child(key);
    const v = isDataset(e) ? datasetJson(e, path, warnings) : isGroup(e) ? groupJson(e, path, warnings, skip) : undefined;
    if (v !== undefined) out[key] = v;
  }
  if (enc === "dataframe") {
    const index = attrString(g, "_index") ?? "_index";
    const order = quietHdf5(() => g.attrs["column-order"]?.value);
    const cols = Array.isArray(order) ? order.map(String) : typeof order === "string" ? [order] : Object.keys(out).filter((k) => k !== index);
    const frame: { [k: string]: Json } = { index: out[index] ?? null };
    for (const c of cols) if (c in out) frame[c] = out[c];
    return frame;
  }
  return out;
}

/** `uns` as JSON, or null when there is none (or nothing in it has a JSON form). `skip`: top-level keys to leave out. */
export function readUns(root: H5Group, warnings: string[], skip: ReadonlySet<string> = new Set()): Record<string, Json> | null {
  const g = getEntity(root, "uns");
  if (!isGroup(g)) return null;
  const json = groupJson(g, "", warnings, skip);
  return json && typeof json === "object" && !Array.isArray(json) && Object.keys(json).length > 0 ? json : null;
}
