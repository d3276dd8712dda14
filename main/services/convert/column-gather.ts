import type { ColumnValues } from "./source";

/** Rows `rows[i]` of `v`, in that order; a row of -1 gives a null (numeric columns get a `missing` mask). */
export function gatherColumn(v: ColumnValues, rows: ArrayLike<number>): ColumnValues {
  const n = rows.length;
  const from = "missing" in v ? v.missing : undefined;
  let missing: Uint8Array | undefined;
  for (let i = 0; i < n; i++) {
    if (rows[i] < 0 || from?.[rows[i]]) (missing ??= new Uint8Array(n))[i] = 1;
  }
  const at =
    <T>(values: ArrayLike<T>, empty: T) =>
    (_: unknown, i: number) =>
      rows[i] < 0 ? empty : values[rows[i]];
  switch (v.type) {
    case "string":
      return { type: "string", values: Array.from({ length: n }, at<string | null>(v.values, null)) };
    case "bool":
      return { type: "bool", values: Array.from({ length: n }, at<boolean | null>(v.values, null)) };
    case "float64":
      return { type: "float64", values: Float64Array.from({ length: n }, at(v.values, NaN)), missing };
    case "float32":
      return { type: "float32", values: Float32Array.from({ length: n }, at(v.values, NaN)), missing };
    case "int64":
      return { type: "int64", values: BigInt64Array.from({ length: n }, at(v.values, 0n)), missing };
    case "int32":
      return { type: "int32", values: Int32Array.from({ length: n }, at(v.values, 0)), missing };
  }
}
