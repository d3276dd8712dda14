/**
 * Moments a markers pass found, kept per open dataset for later requests: the moments of every cell ("whole", from
 * any pass that read every row) and the moments of every category of a column. Each is keyed by the normalization
 * and the very per-cell totals array its y values came from, so kept sums are the sums a fresh pass would make: a
 * group's sums are its cells' rows in row order either way, and a rest is always the whole minus the group. A whole
 * is the sum of its pass's class sums (moments-accumulator.ts), so a whole kept from a pass with other classes may
 * differ from a fresh pass's in the last bits.
 */
import type { MarkersApplied } from "../../../shared/ipc/contract";
import type { WholeMoments } from "./comparisons";
import type { ClassMoments } from "./moments-pass";

export interface MomentsKey {
  applied: MarkersApplied;
  /** The per-cell totals behind log1p(CP10k); null for "none". */
  totals: Float64Array | null;
}

/** Columns whose category moments are kept (the newest), within KEEP_BYTES. */
const KEEP_COLUMNS = 4;
const KEEP_BYTES = 256 * 1024 * 1024;

const bytesOf = (m: ClassMoments) => m.sum.byteLength + m.sumSq.byteLength + m.expressing.byteLength;

const same = (a: MomentsKey, b: MomentsKey) => a.applied === b.applied && a.totals === b.totals;

export class MomentsCache {
  private readonly wholes: { key: MomentsKey; whole: WholeMoments }[] = [];
  /** By column, newest last. */
  private readonly columns = new Map<string, { key: MomentsKey; moments: ClassMoments; whole: WholeMoments }>();

  whole(key: MomentsKey): WholeMoments | null {
    return this.wholes.find((w) => same(w.key, key))?.whole ?? null;
  }

  /** The moments of every category of `column` (class = category code) and the whole they came with. */
  column(column: string, key: MomentsKey): { moments: ClassMoments; whole: WholeMoments } | null {
    const kept = this.columns.get(column);
    return kept && same(kept.key, key) ? kept : null;
  }

  keepWhole(key: MomentsKey, whole: WholeMoments): void {
    // One per normalization: totals counted again replace the old ones.
    const i = this.wholes.findIndex((w) => w.key.applied === key.applied);
    if (i >= 0) this.wholes.splice(i, 1);
    this.wholes.push({ key, whole });
  }

  keepColumn(column: string, key: MomentsKey, moments: ClassMoments, whole: WholeMoments): void {
    this.columns.delete(column);
    if (bytesOf(moments) > KEEP_BYTES) return;
    this.columns.set(column, { key, moments, whole });
    let bytes = 0;
    for (const c of this.columns.values()) bytes += bytesOf(c.moments);
    while (this.columns.size > KEEP_COLUMNS || bytes > KEEP_BYTES) {
      const oldest = this.columns.keys().next().value as string;
      bytes -= bytesOf(this.columns.get(oldest)!.moments);
      this.columns.delete(oldest);
    }
  }
}
