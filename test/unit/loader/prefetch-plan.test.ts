/** The prefetcher's schedule (pure) and its seeded randomness. */
import { describe, expect, it } from "vitest";
import {
  batchesPerEpoch,
  planEpoch,
  planLayout,
  stepCellIds,
  stepOrder,
  stepParts,
  type ScanLayout,
  type StepPlan,
} from "../../../main/services/loader/prefetch/plan";
import { seedWords, shuffleInPlace, splitmix64, Xoshiro128 } from "../../../main/services/loader/prefetch/prng";

/** cell_start_index for these per-cell row counts. */
function startsOf(counts: number[]): Float64Array {
  const s = new Float64Array(counts.length + 1);
  counts.forEach((n, c) => (s[c + 1] = s[c] + n));
  return s;
}

/** Row counts drawn from a fixed LCG: 0 for every 11th cell, else 1..40 rows. */
function counts(n: number): number[] {
  let x = 12345;
  return Array.from({ length: n }, (_, c) => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return c % 11 === 10 ? 0 : 1 + (x % 40);
  });
}

function fragmentsEvery(rows: number, every: number): number[] {
  const f = [];
  for (let r = 0; r < rows; r += every) f.push(r);
  f.push(rows);
  return f;
}

const COUNTS = counts(2000);
const STARTS = startsOf(COUNTS);
const ROWS = STARTS[STARTS.length - 1];
const ROW_CELLS = COUNTS.map((n, c) => (n > 0 ? c : -1)).filter((c) => c >= 0);

function layout(fragmentRows = 997, nScanners = 16, blockRows = 150): ScanLayout {
  return planLayout({ cellStartIndex: STARTS, fragmentStarts: fragmentsEvery(ROWS, fragmentRows), nScanners, blockRows });
}

function epochCells(steps: StepPlan[]): number[] {
  return steps.flatMap((s) => [...stepCellIds(s, STARTS)]);
}

const SHUFFLED = { seed: 42, shuffle: true, nScanners: 16 };

describe("the prefetch plan", () => {
  it("cuts ranges at fragments and blocks at cells; a cell belongs to the range holding its first row", () => {
    const frags = fragmentsEvery(ROWS, 997);
    const l = layout();
    expect(l.nFragments).toBe(frags.length - 1);
    expect(l.ranges.length).toBe(frags.length - 1); // every fragment holds some cell's first row here
    expect(l.cellsPerEpoch).toBe(ROW_CELLS.length);
    let nextCell = 0;
    let spanning = 0;
    l.ranges.forEach((r, i) => {
      expect(r.cellStart).toBe(nextCell);
      expect(frags[r.fragment]).toBeLessThanOrEqual(STARTS[r.cellStart]);
      expect(STARTS[r.cellEnd - 1]).toBeLessThan(frags[r.fragment + 1]);
      if (r.rowEnd > frags[r.fragment + 1]) spanning++;
      nextCell = r.cellEnd;
      // Blocks walk the range whole, each exactly its cells' rows.
      let c = r.cellStart;
      for (const b of l.blocks[i]) {
        expect(b).toMatchObject({ range: i, fragment: r.fragment, cellStart: c, rowStart: STARTS[b.cellStart], rowEnd: STARTS[b.cellEnd] });
        expect(b.nCells).toBe(COUNTS.slice(b.cellStart, b.cellEnd).filter((n) => n > 0).length);
        // About blockRows: under it before the block's last cell.
        expect(STARTS[b.cellEnd - 1] - b.rowStart).toBeLessThan(150);
        c = b.cellEnd;
      }
      expect(c).toBe(r.cellEnd);
    });
    expect(nextCell).toBe(COUNTS.length);
    expect(spanning).toBeGreaterThan(10); // the fixture really has cells crossing fragment boundaries
  });

  it("emits every cell with rows exactly once per epoch, and no cell without rows", () => {
    for (const l of [layout(), layout(5000), layout(ROWS, 4, 1)]) {
      for (const shuffle of [true, false]) {
        const cells = epochCells(planEpoch(l, { ...SHUFFLED, shuffle }, 0));
        expect(cells.length).toBe(ROW_CELLS.length);
        expect([...cells].sort((a, b) => a - b)).toEqual(ROW_CELLS);
      }
    }
  });

  it("draws k = min(nScanners, active ranges) distinct ranges per step and walks each range in order", () => {
    const l = layout();
    const steps = planEpoch(l, SHUFFLED, 0);
    const cursor = new Map<number, number>();
    let active = l.ranges.length;
    for (const s of steps) {
      expect(s.blocks.length).toBe(Math.min(16, active));
      expect(new Set(s.blocks.map((b) => b.range)).size).toBe(s.blocks.length);
      for (const b of s.blocks) {
        const k = cursor.get(b.range) ?? 0;
        expect(b).toBe(l.blocks[b.range][k]);
        cursor.set(b.range, k + 1);
        if (k + 1 === l.blocks[b.range].length) active--;
      }
    }
    expect(active).toBe(0);
    // The cellOffset of each step is the count of cells emitted before it.
    let offset = 0;
    for (const s of steps) {
      expect(s.cellOffset).toBe(offset);
      offset += s.nCells;
    }
  });

  it("is the same for the same seed, and differs for another seed and for another epoch", () => {
    const l = layout();
    const a = epochCells(planEpoch(l, SHUFFLED, 0));
    expect(epochCells(planEpoch(layout(), SHUFFLED, 0))).toEqual(a);
    expect(epochCells(planEpoch(l, { ...SHUFFLED, seed: 43 }, 0))).not.toEqual(a);
    const e1 = epochCells(planEpoch(l, SHUFFLED, 1));
    expect(e1).not.toEqual(a);
    expect([...e1].sort((x, y) => x - y)).toEqual(ROW_CELLS);
    // The scanner choice itself changes with the seed, not only the shuffle inside steps.
    const ranges = (seed: number) => planEpoch(l, { ...SHUFFLED, seed }, 0).map((s) => s.blocks.map((b) => b.range).join(","));
    expect(ranges(42)).not.toEqual(ranges(7));
  });

  it("reads in storage order without shuffle", () => {
    const steps = planEpoch(layout(), { ...SHUFFLED, shuffle: false }, 3);
    expect(steps.every((s) => s.shuffleSeed === null && s.blocks.length <= 16)).toBe(true);
    expect(epochCells(steps)).toEqual(ROW_CELLS);
  });

  it("cuts row ranges from the fragments, between cells, when there are fewer fragments than scanners", () => {
    const l = layout(Math.ceil(ROWS / 3) + 1);
    expect(l.nFragments).toBe(3);
    expect(l.ranges.length).toBeGreaterThanOrEqual(16);
    l.ranges.forEach((r, i) => {
      if (i > 0) expect(r.cellStart).toBe(l.ranges[i - 1].cellEnd);
      expect(r.rowStart).toBe(STARTS[r.cellStart]);
      expect(r.rowEnd).toBe(STARTS[r.cellEnd]);
    });
    // One fragment, many scanners.
    const one = planLayout({ cellStartIndex: STARTS, fragmentStarts: [0, ROWS], nScanners: 16, blockRows: 1000 });
    expect(one.ranges.length).toBe(16);
    expect(one.ranges.every((r) => r.fragment === 0)).toBe(true);
  });

  it("slices steps into batches that straddle steps, full except the epoch's last", () => {
    const l = layout();
    const steps = planEpoch(l, SHUFFLED, 0);
    const sizes = new Map<number, number>();
    for (const s of steps) {
      const parts = stepParts(s.cellOffset, s.nCells, 32);
      expect(parts[0].from).toBe(0);
      expect(parts[parts.length - 1].to).toBe(s.nCells);
      for (const p of parts) sizes.set(p.batch, (sizes.get(p.batch) ?? 0) + p.to - p.from);
    }
    const n = batchesPerEpoch(l, 32);
    expect(n).toBe(Math.ceil(ROW_CELLS.length / 32));
    expect([...sizes.keys()]).toEqual(Array.from({ length: n }, (_, i) => i));
    for (let b = 0; b < n - 1; b++) expect(sizes.get(b)).toBe(32);
    expect(sizes.get(n - 1)).toBe(ROW_CELLS.length - 32 * (n - 1));
    expect(stepParts(30, 5, 32)).toEqual([
      { batch: 0, from: 0, to: 2 },
      { batch: 1, from: 2, to: 5 },
    ]);
  });

  it("shuffles a step's cells as a permutation fixed by its seed", () => {
    const order = stepOrder(100, seedWords(1, 2, 3));
    expect([...order].sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(order).toEqual(stepOrder(100, seedWords(1, 2, 3)));
    expect(order).not.toEqual(stepOrder(100, seedWords(1, 2, 4)));
    expect([...stepOrder(5, null)]).toEqual([0, 1, 2, 3, 4]);
  });

  it("handles a dataset without rows and refuses boundaries that do not cover the rows", () => {
    const empty = planLayout({ cellStartIndex: startsOf([0, 0]), fragmentStarts: [0, 0], nScanners: 4, blockRows: 10 });
    expect(empty).toMatchObject({ cellsPerEpoch: 0, ranges: [] });
    expect(planEpoch(empty, SHUFFLED, 0)).toEqual([]);
    expect(() => planLayout({ cellStartIndex: STARTS, fragmentStarts: [0, 10], nScanners: 4, blockRows: 10 })).toThrow(/Fragment boundaries/);
  });
});

describe("the seeded generators", () => {
  it("SplitMix64 and xoshiro128** give the reference outputs", () => {
    // Vigna's splitmix64.c seeded with 1234567; xoshiro128** 1.1 from state {1, 2, 3, 4} (its reference C code run apart).
    expect(splitmix64(1234567n).out).toBe(6457827717110365317n);
    const x = new Xoshiro128([1, 2, 3, 4]);
    expect([x.next(), x.next(), x.next(), x.next()]).toEqual([11520, 0, 5927040, 70819200]);
  });

  it("folds seed, epoch and step into distinct states", () => {
    expect(seedWords(42, 0, 5)).toEqual(seedWords(42, 0, 5));
    const all = [seedWords(42, 0, 5), seedWords(42, 1, 5), seedWords(42, 0, 6), seedWords(43, 0, 5), seedWords(42, 0, -1)].map((w) => w.join());
    expect(new Set(all).size).toBe(all.length);
    expect(() => seedWords(0.5)).toThrow(RangeError);
  });

  it("draws below(n) in range and about uniformly; shuffles are permutations", () => {
    const x = new Xoshiro128(seedWords(7));
    const hist = new Array(6).fill(0);
    for (let i = 0; i < 60_000; i++) hist[x.below(6)]++;
    for (const h of hist) expect(Math.abs(h - 10_000)).toBeLessThan(500);
    const a = Array.from({ length: 50 }, (_, i) => i);
    shuffleInPlace(a, x);
    expect([...a].sort((p, q) => p - q)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(a).not.toEqual(Array.from({ length: 50 }, (_, i) => i));
  });
});
