/**
 * Where the expression table's fragments begin, in row offsets. LanceDB's Node API lists no fragments (stats()
 * gives only their count and length percentiles), but every row has a row address, `_rowaddr` = fragment id << 32 |
 * row within the fragment, and `takeOffsets(offsets).select(["_rowaddr"])` answers it from the manifest without
 * reading data pages. A fragment is one contiguous run of offsets, so wherever two probed offsets lie in the same
 * fragment everything between them does too; the boundaries are found by probing evenly, then probing again only
 * inside the gaps whose ends differ, until each boundary is pinned to adjacent offsets.
 * Measured on the 100k-cell resampled PBMC (69M rows, 80 fragments): 4 rounds, under 50 ms in all.
 */
import type * as lancedb from "@lancedb/lancedb";

/** Offsets probed per round (one takeOffsets call each). */
const PROBES_PER_ROUND = 4096;

async function fragmentIds(table: lancedb.Table, offsets: number[]): Promise<number[]> {
  const result = await table.takeOffsets(offsets).select(["_rowaddr"]).toArrow();
  const col = result.getChild("_rowaddr");
  if (!col || result.numRows !== offsets.length) throw new Error(`Row addresses: asked for ${offsets.length} offsets, got ${result.numRows} rows`);
  const out: number[] = [];
  for (const v of col.toArray() as BigUint64Array) out.push(Number(v >> 32n));
  return out;
}

/** Row offsets where each fragment starts, then `rows` (nFragments + 1 entries; [0, rows] for one fragment). */
export async function fragmentStarts(table: lancedb.Table, rows: number): Promise<number[]> {
  if (rows <= 1) return [0, rows];
  const stats = await table.stats();
  if (stats.fragmentStats.numFragments <= 1) return [0, rows];
  const known = new Map<number, number>();
  const probe = async (offsets: number[]) => {
    const fresh = [...new Set(offsets)].filter((o) => !known.has(o)).sort((a, b) => a - b);
    if (fresh.length === 0) return;
    const ids = await fragmentIds(table, fresh);
    fresh.forEach((o, i) => known.set(o, ids[i]));
  };
  const first = Math.min(rows, PROBES_PER_ROUND);
  await probe(Array.from({ length: first }, (_, i) => Math.round((i * (rows - 1)) / (first - 1))));
  for (;;) {
    const sorted = [...known.keys()].sort((a, b) => a - b);
    const gaps: [number, number][] = [];
    for (let i = 1; i < sorted.length; i++) {
      const a = sorted[i - 1];
      const b = sorted[i];
      if (b - a > 1 && known.get(a) !== known.get(b)) gaps.push([a, b]);
    }
    if (gaps.length === 0) {
      const starts = [0];
      for (let i = 1; i < sorted.length; i++) if (known.get(sorted[i - 1]) !== known.get(sorted[i])) starts.push(sorted[i]);
      starts.push(rows);
      return starts;
    }
    const per = Math.max(1, Math.floor(PROBES_PER_ROUND / gaps.length));
    const next: number[] = [];
    for (const [a, b] of gaps) {
      const m = Math.min(b - a - 1, per);
      for (let j = 1; j <= m; j++) next.push(a + Math.round((j * (b - a)) / (m + 1)));
    }
    await probe(next);
  }
}
