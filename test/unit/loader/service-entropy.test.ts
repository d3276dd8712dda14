/** Shuffle entropy: the L1 means and the baseline formulas, each against a brute-force count. */
import { describe, expect, it } from "vitest";
import { acrossBatchL1, entropyBaselines, EntropyTracker, normalizedScore, withinBatchL1 } from "../../../main/services/loader/entropy";

function bruteWithin(ids: number[]): number {
  let sum = 0;
  let pairs = 0;
  for (let i = 0; i < ids.length; i++)
    for (let j = i + 1; j < ids.length; j++) {
      sum += Math.abs(ids[i] - ids[j]);
      pairs++;
    }
  return sum / pairs;
}

function bruteAcross(a: number[], b: number[]): number {
  let sum = 0;
  for (const x of a) for (const y of b) sum += Math.abs(x - y);
  return sum / (a.length * b.length);
}

/** Every k-subset of {0 … n−1}. */
function subsets(n: number, k: number): number[][] {
  const out: number[][] = [];
  const walk = (start: number, acc: number[]) => {
    if (acc.length === k) return void out.push([...acc]);
    for (let i = start; i < n; i++) walk(i + 1, [...acc, i]);
  };
  walk(0, []);
  return out;
}

/** A small deterministic generator so the random cases are the same on every run. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

describe("L1 means", () => {
  it("within a batch equals the mean over all pairs, duplicates and order included", () => {
    const rand = lcg(7);
    for (let trial = 0; trial < 50; trial++) {
      const n = 2 + Math.floor(rand() * 40);
      const ids = Array.from({ length: n }, () => Math.floor(rand() * (trial % 2 ? 20 : 1_000_000)));
      expect(withinBatchL1(ids)).toBeCloseTo(bruteWithin(ids), 6);
      expect(withinBatchL1(Uint32Array.from(ids))).toBeCloseTo(bruteWithin(ids), 6);
    }
    expect(withinBatchL1([5])).toBeNull();
    expect(withinBatchL1([])).toBeNull();
    expect(withinBatchL1([3, 3, 3])).toBe(0);
  });

  it("across two batches equals the mean over all cross pairs", () => {
    const rand = lcg(11);
    for (let trial = 0; trial < 50; trial++) {
      const a = Array.from({ length: 1 + Math.floor(rand() * 30) }, () => Math.floor(rand() * 50));
      const b = Array.from({ length: 1 + Math.floor(rand() * 30) }, () => Math.floor(rand() * 50));
      expect(acrossBatchL1(a, b)).toBeCloseTo(bruteAcross(a, b), 6);
    }
    expect(acrossBatchL1([], [1])).toBeNull();
  });
});

describe("baselines from formulas", () => {
  it.each([
    [2, 1],
    [7, 3],
    [9, 2],
    [10, 4],
  ])("N=%i, B=%i: each formula equals its brute-force expectation", (N, B) => {
    const base = entropyBaselines(N, B);
    const seqBatch = Array.from({ length: B }, (_, i) => i);
    const nextBatch = Array.from({ length: B }, (_, i) => B + i);
    if (B >= 2) expect(base.sequentialWithin).toBeCloseTo(bruteWithin(seqBatch), 10);
    expect(base.sequentialAcross).toBeCloseTo(bruteAcross(seqBatch, nextBatch), 10);
    // Random within: the mean over every B-subset of the batch's mean pair distance.
    const all = subsets(N, Math.max(2, B));
    const within = all.reduce((s, sub) => s + bruteWithin(sub), 0) / all.length;
    expect(base.randomWithin).toBeCloseTo(within, 10);
    // Random across: two batches drawn independently (each without repeats), over every ordered pair of subsets.
    const batches = subsets(N, B);
    let across = 0;
    for (const x of batches) for (const y of batches) across += bruteAcross(x, y);
    expect(base.randomAcross).toBeCloseTo(across / (batches.length * batches.length), 10);
  });

  it("a batch larger than the dataset counts as the whole dataset", () => {
    expect(entropyBaselines(10, 50)).toEqual(entropyBaselines(10, 10));
  });

  it("scores 0 at the sequential baseline, 1 at random, unclipped, and null when they coincide", () => {
    expect(normalizedScore(11, 11, 100)).toBe(0);
    expect(normalizedScore(100, 11, 100)).toBe(1);
    expect(normalizedScore(120, 20, 120 - 20)).toBeGreaterThan(1);
    expect(normalizedScore(5, 4, 4)).toBeNull();
  });
});

describe("EntropyTracker", () => {
  it("is null before two batches, then averages within and across means and scores them", () => {
    const N = 1000;
    const t = new EntropyTracker(N, 4);
    expect(t.add([0, 1, 2, 3])).toEqual({ withinL1: bruteWithin([0, 1, 2, 3]), acrossL1: null });
    expect(t.summary()).toBeNull();
    expect(t.add([4, 5, 6, 7]).acrossL1).toBeCloseTo(4, 10);
    // Sequential batches are exactly the sequential baseline: score 0.
    expect(t.summary()?.score).toBeCloseTo(0, 10);
    const r = new EntropyTracker(N, 4);
    r.add([10, 500, 900, 250]);
    r.add([700, 30, 420, 999]);
    const s = r.summary();
    expect(s?.withinL1).toBeCloseTo((bruteWithin([10, 500, 900, 250]) + bruteWithin([700, 30, 420, 999])) / 2, 10);
    expect(s?.acrossL1).toBeCloseTo(bruteAcross([10, 500, 900, 250], [700, 30, 420, 999]), 10);
    const base = entropyBaselines(N, 4);
    const expected =
      ((s!.withinL1 - base.sequentialWithin) / (base.randomWithin - base.sequentialWithin) +
        (s!.acrossL1 - base.sequentialAcross) / (base.randomAcross - base.sequentialAcross)) /
      2;
    expect(s?.score).toBeCloseTo(expected, 10);
  });

  it("a seeded random order of a large dataset scores near 1", () => {
    const N = 100_000;
    const B = 32;
    const rand = lcg(3);
    const perm = Array.from({ length: N }, (_, i) => i);
    for (let i = N - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [perm[i], perm[j]] = [perm[j], perm[i]];
    }
    const t = new EntropyTracker(N, B);
    for (let k = 0; k + B <= 500 * B; k += B) t.add(perm.slice(k, k + B));
    expect(t.summary()!.score).toBeGreaterThan(0.95);
    expect(t.summary()!.score).toBeLessThan(1.05);
  });

  it("batches of one cell have no within part: the score comes from across alone", () => {
    const t = new EntropyTracker(100, 1);
    t.add([0]);
    t.add([1]);
    expect(t.summary()).toEqual({ withinL1: 0, acrossL1: 1, score: 0 });
  });
});
