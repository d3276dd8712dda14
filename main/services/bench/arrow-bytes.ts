/** Arrow bytes a reader received in one batch: the buffers of every column (values, offsets, validity), children included. */
import type { Data } from "apache-arrow";

interface DataLike {
  values?: { byteLength: number } | null;
  valueOffsets?: { byteLength: number } | null;
  nullBitmap?: { byteLength: number } | null;
  typeIds?: { byteLength: number } | null;
  children?: DataLike[];
  dictionary?: { data: DataLike[] } | null;
}

export function dataBytes(data: DataLike): number {
  let n = (data.values?.byteLength ?? 0) + (data.valueOffsets?.byteLength ?? 0) + (data.nullBitmap?.byteLength ?? 0) + (data.typeIds?.byteLength ?? 0);
  for (const child of data.children ?? []) n += dataBytes(child);
  for (const d of data.dictionary?.data ?? []) n += dataBytes(d);
  return n;
}

/** A record batch's bytes (its struct data holds one child per column). */
export function batchBytes(batch: { data: Data }): number {
  return dataBytes(batch.data as unknown as DataLike);
}
