/** Bytes each row of an Arrow table takes (values, offsets, validity bits), so a page can stop at a byte cap. */
import type { Data } from "apache-arrow";
import { arrow } from "../arrow";

type AnyData = Data;

function prefixSums(sizes: Float64Array): Float64Array {
  const out = new Float64Array(sizes.length + 1);
  for (let i = 0; i < sizes.length; i++) out[i + 1] = out[i] + sizes[i];
  return out;
}

/** Per-row sizes of one column chunk (or a record batch's struct); nested types recurse into their children. */
export function dataRowBytes(data: AnyData): Float64Array {
  const n = data.length;
  const out = new Float64Array(n);
  const validity = data.nullBitmap && data.nullBitmap.length > 0 ? 1 / 8 : 0;
  const offsets = data.valueOffsets as ArrayLike<number | bigint> | undefined;
  const children = data.children as AnyData[];
  const { DataType } = arrow;
  if (offsets && children.length === 0) {
    // Utf8 / Binary and their Large variants: the value bytes between two offsets.
    const width = (offsets as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
    for (let i = 0; i < n; i++) out[i] = Number(offsets[i + 1]) - Number(offsets[i]) + width + validity;
  } else if (offsets && children.length > 0) {
    // List / LargeList / Map: the child rows between two offsets.
    const width = (offsets as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
    const child = prefixSums(dataRowBytes(children[0]));
    for (let i = 0; i < n; i++) out[i] = child[Number(offsets[i + 1])] - child[Number(offsets[i])] + width + validity;
  } else if (DataType.isFixedSizeList(data.type)) {
    const size = data.type.listSize;
    const child = prefixSums(dataRowBytes(children[0]));
    for (let i = 0; i < n; i++) out[i] = child[(i + 1) * size] - child[i * size] + validity;
  } else if (DataType.isStruct(data.type)) {
    out.fill(validity);
    for (const c of children) {
      const sizes = dataRowBytes(c);
      for (let i = 0; i < n; i++) out[i] += sizes[i];
    }
  } else if (children.length > 0) {
    // Unions: children are not row-aligned; spread their total evenly.
    let total = 0;
    for (const c of children) total += dataRowBytes(c).reduce((a, b) => a + b, 0);
    out.fill(n > 0 ? total / n + 1 : 0);
  } else if (DataType.isBool(data.type)) {
    out.fill(1 / 8 + validity);
  } else {
    // Fixed width (numbers, dates, decimals, FixedSizeBinary) and dictionary indices.
    const values = data.values as { BYTES_PER_ELEMENT?: number } | undefined;
    out.fill((values?.BYTES_PER_ELEMENT ?? 0) * (data.stride || 1) + validity);
  }
  return out;
}

/** Per-row sizes of a whole table (all its record batches, in order). */
export function tableRowBytes(table: { batches: { data: AnyData }[]; numRows: number }): Float64Array {
  const out = new Float64Array(table.numRows);
  let at = 0;
  for (const batch of table.batches) {
    const sizes = dataRowBytes(batch.data);
    out.set(sizes, at);
    at += sizes.length;
  }
  return out;
}
