/** One page of a Lance table by row offsets, capped by rows and by bytes (a page of very wide rows carries fewer rows). */
import type * as lancedb from "@lancedb/lancedb";
import { MAX_PAGE_BYTES } from "../../../shared/ipc/contract";
import type { arrow } from "../arrow";
import { rethrowLanceError, type LanceErrorContext } from "./lance-errors";
import { tableRowBytes } from "./row-bytes";

type ArrowTable = InstanceType<typeof arrow.Table>;

/**
 * The rows at `offsets` (in order) until their bytes reach `maxBytes`: never more than the cap plus one row. Rows
 * are taken in batches sized from the rows seen so far, starting with one, so a page of huge rows is not read whole.
 */
export async function takeRowsCapped(
  table: lancedb.Table,
  offsets: number[],
  columns: string[] | undefined,
  where: LanceErrorContext,
  maxBytes = MAX_PAGE_BYTES,
): Promise<ArrowTable | null> {
  const parts: ArrowTable[] = [];
  let bytes = 0;
  let rows = 0;
  let at = 0;
  let batch = 1;
  while (at < offsets.length) {
    let query = table.takeOffsets(offsets.slice(at, at + batch));
    if (columns) query = query.select(columns);
    const got = (await query.toArrow().catch((e) => rethrowLanceError(e, where))) as unknown as ArrowTable;
    const sizes = tableRowBytes(got);
    let keep = 0;
    let full = false;
    while (keep < sizes.length && !full) {
      bytes += sizes[keep++];
      full = bytes >= maxBytes;
    }
    parts.push(keep === got.numRows ? got : got.slice(0, keep));
    rows += keep;
    if (full) break;
    at += batch;
    const perRow = Math.max(1, bytes / Math.max(1, rows));
    batch = Math.max(1, Math.min(offsets.length - at, Math.floor((maxBytes - bytes) / perRow) + 1));
  }
  if (parts.length === 0) return null;
  return parts.length === 1 ? parts[0] : parts[0].concat(...parts.slice(1));
}
