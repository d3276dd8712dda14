/**
 * Column values from several inputs put together: a common type for the parts (strings win over numbers,
 * floats over integers, booleans alone stay booleans), nulls where an input lacks the column, concatenation.
 */
import type { ColumnValues } from "./source";

type Kind = ColumnValues["type"];

export function commonKind(kinds: readonly Kind[]): Kind {
  const set = new Set(kinds);
  if (set.size === 1) return kinds[0];
  if (set.has("string")) return "string";
  if (set.has("float64") || set.has("float32") || set.has("bool")) return set.size === 1 ? kinds[0] : "float64";
  return "int64";
}

/** `n` nulls of the given kind. */
export function nullValues(kind: Kind, n: number): ColumnValues {
  const missing = new Uint8Array(n).fill(1);
  switch (kind) {
    case "string":
      return { type: "string", values: new Array<string | null>(n).fill(null) };
    case "bool":
      return { type: "bool", values: new Array<boolean | null>(n).fill(null) };
    case "float64":
      return { type: "float64", values: new Float64Array(n).fill(NaN), missing };
    case "float32":
      return { type: "float32", values: new Float32Array(n).fill(NaN), missing };
    case "int64":
      return { type: "int64", values: new BigInt64Array(n), missing };
    case "int32":
      return { type: "int32", values: new Int32Array(n), missing };
  }
}

function isNull(v: ColumnValues, i: number): boolean {
  if (v.type === "string" || v.type === "bool") return v.values[i] === null;
  return v.missing?.[i] === 1;
}

/** `v` as `kind` (see commonKind: only widening conversions are asked for). */
export function convertValues(v: ColumnValues, kind: Kind): ColumnValues {
  if (v.type === kind) return v;
  const n = v.values.length;
  const missing = new Uint8Array(n);
  for (let i = 0; i < n; i++) if (isNull(v, i)) missing[i] = 1;
  const num = (i: number) => (v.type === "bool" ? (v.values[i] ? 1 : 0) : Number(v.values[i]));
  switch (kind) {
    case "string":
      return { type: "string", values: Array.from({ length: n }, (_, i) => (missing[i] ? null : String(v.values[i]))) };
    case "float64":
      return { type: "float64", values: Float64Array.from({ length: n }, (_, i) => (missing[i] ? NaN : num(i))), missing };
    case "float32":
      return { type: "float32", values: Float32Array.from({ length: n }, (_, i) => (missing[i] ? NaN : num(i))), missing };
    case "int64":
      return { type: "int64", values: BigInt64Array.from({ length: n }, (_, i) => (missing[i] ? 0n : BigInt(num(i)))), missing };
    case "int32":
      return { type: "int32", values: Int32Array.from({ length: n }, (_, i) => (missing[i] ? 0 : num(i))), missing };
    case "bool":
      return { type: "bool", values: Array.from({ length: n }, (_, i) => (missing[i] ? null : Boolean(num(i)))) };
  }
}

/** The parts, all of `kind`, one after the other. */
export function concatValues(kind: Kind, parts: ColumnValues[]): ColumnValues {
  const ps = parts.map((p) => convertValues(p, kind));
  const n = ps.reduce((a, p) => a + p.values.length, 0);
  if (kind === "string" || kind === "bool") return { type: kind, values: ps.flatMap((p) => p.values as unknown[]) } as ColumnValues;
  const anyMissing = ps.some((p) => "missing" in p && p.missing);
  const missing = anyMissing ? new Uint8Array(n) : undefined;
  const Ctor = { float64: Float64Array, float32: Float32Array, int64: BigInt64Array, int32: Int32Array }[kind];
  const values = new Ctor(n);
  let at = 0;
  for (const p of ps) {
    values.set(p.values as never, at);
    if (missing && "missing" in p && p.missing) missing.set(p.missing, at);
    at += p.values.length;
  }
  return { type: kind, values, missing } as ColumnValues;
}

/** Row i of the result is row `rows[i]` of `parts[from[i]]` (-1 in `from`: null). */
export function pickValues(kind: Kind, parts: ColumnValues[], from: Int32Array, rows: Int32Array): ColumnValues {
  const ps = parts.map((p) => convertValues(p, kind));
  const n = from.length;
  const out = nullValues(kind, n);
  for (let i = 0; i < n; i++) {
    const k = from[i];
    if (k < 0) continue;
    const p = ps[k];
    const r = rows[i];
    if (isNull(p, r)) continue;
    (out.values as unknown[] & { [i: number]: unknown })[i] = p.values[r];
    if ("missing" in out && out.missing) out.missing[i] = 0;
  }
  return out;
}
