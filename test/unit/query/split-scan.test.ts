/**
 * Merging the two parts of a split scan (split-scan.ts) over made-up parts: order, read-ahead, interleaving, and
 * the first failure stopping the other part. The real workers are in split-scan-workers.test.ts.
 */
import { describe, expect, it } from "vitest";
import type { FlatScanSpec, ScannedBatch } from "../../../main/services/query/flat-scan";
import { mergeParts, splitRanges, type ScanPart } from "../../../main/services/query/split-scan";

const SPEC: FlatScanSpec = { columns: [{ name: "x", flat: "fixed" }], filter: null, rowFilter: null, batchRows: 10 };

/** A batch holding `values`, scanned as `scanned` rows. */
function batch(values: number[], scanned = values.length): ScannedBatch {
  return { rows: values.length, columns: [{ values: Float64Array.from(values), validity: null }], scanned, bytes: scanned * 8 };
}

interface FakePart {
  part: ScanPart;
  /** Batches the merge asked for (each ask after the first acknowledges one, as a worker's scan does). */
  asked: number;
  /** Whether the part saw its signal abort, and whether it ended (finished or returned). */
  aborted: boolean;
  closed: boolean;
}

/** A part yielding `batches`, each after `delay` ms (a throw instead of batch `failAt`). */
function fake(batches: ScannedBatch[], opts: { delay?: number; failAt?: number; error?: Error } = {}): FakePart {
  const state: FakePart = { part: null!, asked: 0, aborted: false, closed: false };
  state.part = async function* (signal) {
    signal.addEventListener("abort", () => (state.aborted = true));
    try {
      for (const [i, b] of batches.entries()) {
        state.asked++;
        await new Promise((r) => setTimeout(r, opts.delay ?? 0));
        if (signal.aborted) throw Object.assign(new Error("cancelled"), { appError: { code: "QUERY_CANCELLED" } });
        if (i === opts.failAt) throw opts.error ?? new Error(`part failed at ${i}`);
        yield b;
      }
    } finally {
      state.closed = true;
    }
  };
  return state;
}

/** Two parts of `n` one-row batches, each taking `delay` ms. */
function slowParts(n: number, delay: number): [FakePart, FakePart] {
  const part = () =>
    fake(
      Array.from({ length: n }, (_, i) => batch([i])),
      { delay },
    );
  return [part(), part()];
}

async function values(batches: AsyncIterable<ScannedBatch>): Promise<number[]> {
  const out: number[] = [];
  for await (const b of batches) out.push(...Array.from(b.columns[0]?.values ?? [], Number));
  return out;
}

describe("splitting a scan", () => {
  it("splits only scans without a filter or a range, of at least the minimum rows, into two halves covering every row", () => {
    expect(splitRanges({ ...SPEC, tableRows: 11 }, 10)).toEqual([
      { offset: 0, limit: 5 },
      { offset: 5, limit: null },
    ]);
    expect(splitRanges({ ...SPEC, tableRows: 9 }, 10)).toBeNull();
    expect(splitRanges({ ...SPEC, tableRows: null }, 10)).toBeNull();
    expect(splitRanges({ ...SPEC, tableRows: 100, filter: "x > 1" }, 10)).toBeNull();
    expect(splitRanges({ ...SPEC, tableRows: 100, range: { offset: 0, limit: 50 } }, 10)).toBeNull();
    expect(splitRanges({ ...SPEC, tableRows: 1 }, 0)).toBeNull();
  });

  it("keeps table order for rows: part 1's batches, then part 2's, which was read ahead meanwhile", async () => {
    const one = fake([batch([1, 2]), batch([3]), batch([4, 5])], { delay: 5 });
    const two = fake([batch([6]), batch([7, 8]), batch([9])]);
    const signal = new AbortController().signal;
    let askedOfTwoBeforeThree = -1;
    const seen: number[] = [];
    for await (const b of mergeParts([one.part, two.part], true, signal)) {
      const v = Array.from(b.columns[0].values as Float64Array);
      if (v[0] === 3) askedOfTwoBeforeThree = two.asked;
      seen.push(...v);
    }
    expect(seen).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // Part 2 was read to its end while part 1 was still delivering (its batches are small next to the budget).
    expect(askedOfTwoBeforeThree).toBe(3);
    expect(one.closed && two.closed).toBe(true);
    expect(one.aborted || two.aborted).toBe(false);
  });

  it("stops reading part 2 ahead at the byte budget (at least one batch kept)", async () => {
    const one = fake([batch([1]), batch([2]), batch([3])], { delay: 20 });
    const two = fake([batch([4, 5]), batch([6, 7]), batch([8, 9])]);
    const merged = mergeParts([one.part, two.part], true, new AbortController().signal, 16);
    const iter = merged[Symbol.asyncIterator]();
    expect((await iter.next()).value?.rows).toBe(1);
    // One 16-byte batch of part 2 fills the budget: its next batch is asked for (acknowledging it) only once taken.
    expect(two.asked).toBe(1);
    const rest = await values({ [Symbol.asyncIterator]: () => iter });
    expect(rest).toEqual([2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it("passes partial batches on as either part sends them, and counts every scanned row once", async () => {
    const one = fake([batch([], 100), batch([], 100), batch([1, 2], 0)], { delay: 15 });
    const two = fake([batch([], 50), batch([3], 0)], { delay: 1 });
    const order: number[] = [];
    let scanned = 0;
    for await (const b of mergeParts([one.part, two.part], false, new AbortController().signal)) {
      scanned += b.scanned;
      order.push(...Array.from(b.columns[0]?.values ?? [], Number));
    }
    expect(scanned).toBe(250);
    // Part 2's partial rows came first: nothing waited for part 1.
    expect(order).toEqual([3, 1, 2]);
  });

  for (const failing of [0, 1]) {
    for (const ordered of [true, false]) {
      it(`fails with part ${failing + 1}'s error and stops the other part (${ordered ? "rows" : "partials"})`, async () => {
        const slow = fake(
          Array.from({ length: 50 }, (_, i) => batch([i])),
          { delay: 10 },
        );
        const bad = fake([batch([100]), batch([101])], { delay: 5, failAt: 1, error: new Error("Lance could not read a page") });
        const parts: [ScanPart, ScanPart] = failing === 0 ? [bad.part, slow.part] : [slow.part, bad.part];
        await expect(values(mergeParts(parts, ordered, new AbortController().signal))).rejects.toThrow("Lance could not read a page");
        expect(slow.aborted).toBe(true);
        expect(slow.closed).toBe(true);
        expect(slow.asked).toBeLessThan(50);
      });
    }
  }

  it("fails when a part fails after the other has delivered everything", async () => {
    for (const ordered of [true, false]) {
      const quick = fake([batch([1])]);
      const late = fake([batch([2]), batch([3])], { delay: 20, failAt: 1, error: new Error("late failure") });
      await expect(values(mergeParts([quick.part, late.part], ordered, new AbortController().signal))).rejects.toThrow("late failure");
      await expect(values(mergeParts([late.part, quick.part], ordered, new AbortController().signal))).rejects.toThrow("late failure");
    }
  });

  it("fails as cancelled when the query's signal aborts, stopping both parts", async () => {
    const [one, two] = slowParts(50, 5);
    const controller = new AbortController();
    let n = 0;
    const run = (async () => {
      for await (const _ of mergeParts([one.part, two.part], true, controller.signal)) {
        void _;
        if (++n === 3) controller.abort();
      }
    })();
    await expect(run).rejects.toMatchObject({ appError: { code: "QUERY_CANCELLED" } });
    expect(one.aborted && two.aborted).toBe(true);
    expect(one.closed && two.closed).toBe(true);
  });

  it("stops both parts when the reader stops early", async () => {
    const [one, two] = slowParts(20, 2);
    for await (const b of mergeParts([one.part, two.part], true, new AbortController().signal)) if (b.columns[0].values[0] === 2) break;
    expect(one.closed && two.closed).toBe(true);
    expect(one.asked).toBeLessThan(20);
  });
});
