/**
 * One scan read as two row ranges by two scan workers at once (scan-workers.ts), so a query's scan, id filter and
 * early aggregation use both cores. Only scans without a Lance filter are split: with one, Lance's offset counts
 * filtered rows, so the second part would read the first half too. The parts' batches are merged here:
 * - appended rows keep table order: part 1's batches, then part 2's, which are read ahead meanwhile (up to
 *   AHEAD_BYTES kept here, acknowledged so its worker goes on): a selective id filter leaves little to keep, so
 *   both halves are scanned at once;
 * - partial aggregates (`spec.aggregate`) arrive as each part sends them: each part aggregates its own rows, so a
 *   key on both sides of the split point has two partial rows, which the rewritten query combines as it combines
 *   any (pre-aggregate.ts: SUM of sums, MIN of minima...).
 * The first failure of either part stops the other and is the scan's error.
 */
import { throwIfAborted } from "../errors";
import { flatBytes } from "./flat-batch";
import type { FlatScanSpec, RowRange, ScannedBatch } from "./flat-scan";

/** Scans of fewer rows are not split: they take a few tens of ms (~5 ns a row), little to gain for a second worker. */
export const DEFAULT_SPLIT_MIN_ROWS = 2_000_000;

/** How much of part 2 (appended rows) is kept on this thread while part 1 is still being appended. */
export const AHEAD_BYTES = 64 * 1024 ** 2;

/** The two row ranges a scan splits into, or null when it is not split. */
export function splitRanges(spec: FlatScanSpec, minRows: number): [RowRange, RowRange] | null {
  const rows = spec.tableRows;
  if (spec.filter || spec.range || !rows || rows < Math.max(2, minRows)) return null;
  const half = Math.floor(rows / 2);
  // Part 2 reads to the end, whatever the count said.
  return [
    { offset: 0, limit: half },
    { offset: half, limit: null },
  ];
}

/** A part of a split scan: its batches, read with the signal it is given (aborted when the other part fails). */
export type ScanPart = (signal: AbortSignal) => AsyncGenerator<ScannedBatch>;

/** The batches of both parts, merged as the header says. Both start at once. */
export async function* mergeParts(parts: [ScanPart, ScanPart], ordered: boolean, signal: AbortSignal, aheadBytes = AHEAD_BYTES): AsyncGenerator<ScannedBatch> {
  const stop = new AbortController();
  const both = AbortSignal.any([signal, stop.signal]);
  let failure = null as { error: unknown } | null;
  let wakeReader: (() => void) | null = null;
  const wake = () => {
    const w = wakeReader;
    wakeReader = null;
    w?.();
  };
  const fail = (error: unknown) => {
    failure ??= { error };
    stop.abort();
    wake();
  };
  // Part 1 of ordered rows is kept one batch ahead, as its worker's own double-buffering already does.
  const pumps = parts.map((part, i) => new Pump(part(both), ordered && i === 1 ? aheadBytes : 0, wake, fail));
  try {
    for (;;) {
      if (failure || signal.aborted) break;
      const from = ordered ? pumps.find((p) => !p.drained) : (pumps.find((p) => p.queue.length > 0) ?? pumps.find((p) => !p.drained));
      if (!from) return;
      const batch = from.take();
      if (batch) {
        yield batch;
        continue;
      }
      await new Promise<void>((r) => (wakeReader = r));
    }
    throwIfAborted(signal, "QUERY_CANCELLED");
    throw failure!.error;
  } finally {
    // Stopped early (a failure, a cancel, the reader gone): the parts still reading end as cancelled.
    if (!pumps.every((p) => p.drained)) stop.abort();
    for (const p of pumps) p.stop();
    await Promise.all(pumps.map((p) => p.done));
  }
}

/** Reads one part into a queue, at most `limit` bytes of batches kept (at least one batch). */
class Pump {
  readonly queue: ScannedBatch[] = [];
  private bytes = 0;
  private ended = false;
  private stopped = false;
  private wakePump: (() => void) | null = null;
  readonly done: Promise<void>;

  constructor(
    private readonly source: AsyncGenerator<ScannedBatch>,
    private readonly limit: number,
    private readonly wakeReader: () => void,
    fail: (error: unknown) => void,
  ) {
    this.done = this.run(fail);
  }

  /** Every batch of the part taken. */
  get drained(): boolean {
    return this.ended && this.queue.length === 0;
  }

  take(): ScannedBatch | undefined {
    const batch = this.queue.shift();
    if (batch) {
      this.bytes -= flatBytes(batch);
      this.resume();
    }
    return batch;
  }

  stop(): void {
    this.stopped = true;
    this.resume();
  }

  private resume(): void {
    const w = this.wakePump;
    this.wakePump = null;
    w?.();
  }

  private async run(fail: (error: unknown) => void): Promise<void> {
    try {
      // Asking the source for its next batch acknowledges the one before (scan-workers.ts), so the worker goes on.
      for await (const batch of this.source) {
        this.queue.push(batch);
        this.bytes += flatBytes(batch);
        this.wakeReader();
        while (!this.stopped && this.queue.length > 0 && this.bytes >= this.limit) await new Promise<void>((r) => (this.wakePump = r));
        if (this.stopped) break;
      }
    } catch (e) {
      // Before `ended`: the reader must never take a failed part for a finished one.
      fail(e);
    } finally {
      this.ended = true;
      this.wakeReader();
    }
  }
}
