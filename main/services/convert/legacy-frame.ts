/**
 * AnnData < 0.7 (2017–2019 files): obs / var / raw.var are compound datasets (one member per column, the first
 * member is the index whatever its name, as anndata's `read_dataframe_legacy` takes it), categorical columns
 * hold integer codes with their labels in `uns/<column>_categories`, and obsm / varm are one compound dataset
 * whose members are (n, d) sub-arrays. h5wasm reads a compound slice as rows of member values; a slice is read
 * once and shared by every column of the same row range.
 */
import { fail } from "../errors";
import { getEntity, isDataset, isGroup, quietHdf5, readStrings, type H5Dataset, type H5Group } from "./hdf5";
import type { ColumnValues, Embedding, Frame, FrameColumn } from "./source";

interface Member {
  name: string;
  type: number;
  size: number;
  signed: boolean;
  vlen?: boolean;
  array_type?: { type: number; size: number; shape?: number[]; total_size?: number };
}

/** HDF5 type classes as h5wasm reports them. */
const INTEGER = 0;
const FLOAT = 1;
const STRING = 3;
const ENUM = 8;
const ARRAY = 10;

export function isCompound(ds: H5Dataset): boolean {
  return quietHdf5(() => ds.metadata.type) === 6;
}

function members(ds: H5Dataset): Member[] {
  const ct = quietHdf5(() => ds.metadata.compound_type) as { members: Member[] } | undefined;
  return ct?.members ?? [];
}

/** Rows [s, e) of a compound dataset as arrays of member values, the last range read kept for the next column. */
function sliceReader(ds: H5Dataset, file: string): (s: number, e: number) => unknown[][] {
  let last: { s: number; e: number; rows: unknown[][] } | null = null;
  return (s, e) => {
    if (last && last.s === s && last.e === e) return last.rows;
    let rows: unknown;
    try {
      rows = e > s ? quietHdf5(() => ds.slice([[s, e]])) : [];
    } catch {
      fail("CONVERT_INPUT_INVALID", `${file}: cannot read ${ds.path} (the file is truncated or damaged)`, { path: file });
    }
    if (!Array.isArray(rows)) fail("CONVERT_INPUT_INVALID", `${file}: ${ds.path} is not a table of rows`, { path: file });
    last = { s, e, rows: rows as unknown[][] };
    return last.rows;
  };
}

function text(v: unknown): string {
  if (typeof v === "string") return v.replace(/\0+$/, "");
  if (v instanceof Uint8Array) return Buffer.from(v).toString("utf8").replace(/\0+$/, "");
  return String(v);
}

/** Categories of a legacy categorical column: `uns/<name>_categories` (strings, or numbers shown as text). */
function legacyCategories(uns: H5Group | null, name: string, file: string): string[] | null {
  if (!uns) return null;
  const ds = getEntity(uns, `${name}_categories`);
  if (!isDataset(ds)) return null;
  const meta = quietHdf5(() => ds.metadata);
  if (meta.type === STRING) return readStrings(ds, file);
  const values = quietHdf5(() => ds.value) as ArrayLike<number | bigint> | number;
  return typeof values === "number" ? [String(values)] : Array.from(values, (x) => String(x));
}

function memberColumn(m: Member, k: number, read: (s: number, e: number) => unknown[][], where: string, file: string, cats: string[] | null): FrameColumn {
  const pick = (s: number, e: number) => read(s, e).map((row) => row[k]);
  if (cats && m.type === INTEGER) {
    return {
      name: m.name,
      read: (s, e) => {
        const values = pick(s, e).map((c, i) => {
          const code = Number(c);
          if (code === -1) return null;
          if (!(code >= 0 && code < cats.length) || !Number.isInteger(code)) {
            fail(
              "CONVERT_INPUT_INVALID",
              `${file}: ${where} has category code ${code} at row ${s + i}, but uns/${m.name}_categories lists only ${cats.length} categories (codes must be -1..${cats.length - 1})`,
              { path: file },
            );
          }
          return cats[code];
        });
        return { type: "string", values };
      },
    };
  }
  if (m.type === STRING) return { name: m.name, read: (s, e) => ({ type: "string", values: pick(s, e).map(text) }) };
  if (m.type === ENUM) return { name: m.name, read: (s, e) => ({ type: "bool", values: pick(s, e).map((v) => Boolean(Number(v))) }) };
  if (m.type === FLOAT) {
    return {
      name: m.name,
      read: (s, e): ColumnValues => {
        const v = pick(s, e);
        return m.size === 4 ? { type: "float32", values: Float32Array.from(v, Number) } : { type: "float64", values: Float64Array.from(v, Number) };
      },
    };
  }
  if (m.type === INTEGER) {
    const wide = m.size > 4 || (m.size === 4 && !m.signed);
    return {
      name: m.name,
      read: (s, e): ColumnValues => {
        const v = pick(s, e);
        return wide
          ? { type: "int64", values: BigInt64Array.from(v, (x) => BigInt(x as number | bigint)) }
          : { type: "int32", values: Int32Array.from(v, Number) };
      },
    };
  }
  fail("CONVERT_INPUT_INVALID", `${file}: ${where} has HDF5 type class ${m.type}, which a dataframe column cannot hold`, { path: file });
}

/**
 * A legacy dataframe: `label` names it in messages ("obs", "raw.var"); `uns` holds the `<column>_categories`
 * lists. `usedCategories` collects the uns keys consumed, which are not AnnData's uns proper.
 */
export function readLegacyFrame(ds: H5Dataset, uns: H5Group | null, file: string, label: string, warnings: string[], usedCategories: Set<string>): Frame {
  const shape = ds.shape ?? [];
  if (shape.length !== 1)
    fail("CONVERT_INPUT_INVALID", `${file}: ${label} is a ${shape.length}-D table; expected one row per ${label === "obs" ? "cell" : "gene"}`, { path: file });
  const list = members(ds);
  if (list.length === 0) fail("CONVERT_INPUT_INVALID", `${file}: ${label} is a table without columns`, { path: file });
  const read = sliceReader(ds, file);
  const columns: FrameColumn[] = [];
  list.forEach((m, k) => {
    if (k === 0) return;
    if (m.type === ARRAY) {
      warnings.push(`${label}/${m.name} holds ${m.array_type?.shape?.join(" × ") ?? "several"} values per row; a dataframe column needs one, so it is skipped`);
      return;
    }
    const cats = m.type === INTEGER ? legacyCategories(uns, m.name, file) : null;
    if (cats) usedCategories.add(`${m.name}_categories`);
    if (m.type !== STRING && m.type !== INTEGER && m.type !== FLOAT && m.type !== ENUM) {
      warnings.push(`${label}/${m.name} has HDF5 type class ${m.type}; column skipped`);
      return;
    }
    columns.push(memberColumn(m, k, read, `${label}/${m.name}`, file, cats));
  });
  return { length: shape[0], readIndex: () => read(0, shape[0]).map((row) => text(row[0])), columns };
}

/** obsm / varm stored as one compound dataset: each member is an embedding, (n, d) sub-arrays or scalars (d = 1). */
export function readLegacyEmbeddings(ds: H5Dataset, name: "obsm" | "varm", rows: number, file: string, warnings: string[]): Embedding[] {
  const shape = ds.shape ?? [];
  if (shape.length !== 1 || shape[0] !== rows) {
    fail("CONVERT_INPUT_INVALID", `${file}: ${name} has ${shape[0] ?? 0} rows but ${name === "obsm" ? "obs" : "var"} has ${rows}`, { path: file });
  }
  const read = sliceReader(ds, file);
  const out: Embedding[] = [];
  members(ds).forEach((m, k) => {
    const base = m.type === ARRAY ? m.array_type : m;
    if (!base || (base.type !== FLOAT && base.type !== INTEGER)) {
      warnings.push(`${name}/${m.name} is not numeric; skipped`);
      return;
    }
    const dims = m.type === ARRAY ? (m.array_type?.shape ?? []) : [];
    const dim = dims.reduce((a, b) => a * b, 1);
    out.push({
      name: m.name,
      dim,
      read: (s, e) => {
        const values = new Float32Array((e - s) * dim);
        read(s, e).forEach((row, i) => {
          const v = row[k];
          if (dim === 1 && !Array.isArray(v)) values[i] = Number(v);
          else (v as unknown[]).flat(dims.length).forEach((x, d) => (values[i * dim + d] = Number(x)));
        });
        return values;
      },
    });
  });
  return out;
}

/** The root's `uns` group, where legacy categories live. */
export function unsGroup(root: H5Group): H5Group | null {
  const g = getEntity(root, "uns");
  return isGroup(g) ? g : null;
}
