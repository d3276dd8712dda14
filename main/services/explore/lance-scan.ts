/** Large-batch Lance scans for Explore, stopped between batches when a signal aborts. */
import type * as lancedb from "@lancedb/lancedb";
import { SCAN_BATCH_ROWS, type arrow } from "../arrow";
import { fail } from "../errors";

export type RecordBatch = InstanceType<typeof arrow.RecordBatch>;
type Scan = { execute(o: { maxBatchLength: number }): AsyncGenerator<RecordBatch> };

export interface ScanOptions {
  /** A Lance (DataFusion) predicate pushed into the scan. */
  where?: string;
  /** Rows to skip first (pushed into the scan: the fragments before are not read). */
  offset?: number;
  signal?: AbortSignal;
}

/** Thrown by scans when `signal` aborts (callers name their own error). */
export function throwIfCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) fail("EXPLORE_CANCELLED", "Cancelled: a newer request replaced this one");
}

export async function* scanBatches(table: lancedb.Table, columns: string[], opts: ScanOptions = {}): AsyncGenerator<RecordBatch> {
  let query = table.query().select(columns);
  if (opts.where) query = query.where(opts.where);
  if (opts.offset) query = query.offset(opts.offset);
  throwIfCancelled(opts.signal);
  for await (const batch of (query as unknown as Scan).execute({ maxBatchLength: SCAN_BATCH_ROWS })) {
    throwIfCancelled(opts.signal);
    yield batch;
  }
}

/** Arrow bytes a batch holds (its buffers as delivered), for "bytes read" reports. */
export function batchBytes(batch: RecordBatch): number {
  let n = 0;
  const walk = (data: { values?: { byteLength: number }; valueOffsets?: { byteLength: number }; nullBitmap?: { byteLength: number }; children: unknown[] }) => {
    n += (data.values?.byteLength ?? 0) + (data.valueOffsets?.byteLength ?? 0) + (data.nullBitmap?.byteLength ?? 0);
    for (const c of data.children) walk(c as typeof data);
  };
  for (const child of batch.data.children) walk(child as unknown as Parameters<typeof walk>[0]);
  return n;
}
