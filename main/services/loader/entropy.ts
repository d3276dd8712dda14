/**
 * SLAF's shuffle quality (benchmarks/benchmark_dataloaders_entropy.py): the mean L1 distance |id_a − id_b| between
 * cell ids within a batch and between consecutive batches, scaled so the sequential baseline is 0 and the random
 * baseline is 1 (not clipped: a loader may beat random). SLAF samples up to 100 pairs and estimates its baselines
 * from one simulated batch; here every pair is counted (sorted prefix sums, O(B log B)) and the baselines are
 * the exact expectations below, for this dataset's n_cells (N) and batch size (B, at most N):
 *
 *   sequential within  = (B + 1) / 3       unordered pairs of {0 … B−1}: Σ_d d·(B−d) = B(B−1)(B+1)/6 over B(B−1)/2 pairs
 *   random within      = (N + 1) / 3       the same sum over a uniformly random pair of distinct ids in [0, N)
 *   sequential across  = B                 {0 … B−1} × {B … 2B−1}: every distance j − i averages B
 *   random across      = (N² − 1) / (3N)   two independent batches: ids independent and uniform in [0, N), equal allowed
 *
 * score = mean of the within and across scores; a part whose baselines do not differ (B ≥ N, or batches of one
 * cell have no pairs) is left out, and when none is left the score is 0.5, SLAF's value for that case. The
 * sequential across baseline assumes two full batches fit (2B ≤ N); the score means little for batches that
 * cover most of the dataset.
 */

export interface EntropyBaselines {
  sequentialWithin: number;
  randomWithin: number;
  sequentialAcross: number;
  randomAcross: number;
}

export function entropyBaselines(nCells: number, batchSize: number): EntropyBaselines {
  const n = Math.max(1, nCells);
  const b = Math.max(1, Math.min(batchSize, n));
  return { sequentialWithin: (b + 1) / 3, randomWithin: (n + 1) / 3, sequentialAcross: b, randomAcross: (n * n - 1) / (3 * n) };
}

/** (value − sequential) / (random − sequential), or null when the baselines do not differ. */
export function normalizedScore(value: number, sequential: number, random: number): number | null {
  const gap = random - sequential;
  return gap > 1e-9 ? (value - sequential) / gap : null;
}

function sorted(ids: ArrayLike<number>): Float64Array {
  const out = new Float64Array(ids.length);
  for (let i = 0; i < ids.length; i++) out[i] = ids[i];
  return out.sort();
}

/** Mean |a − b| over the unordered pairs of one batch, or null with fewer than two cells. */
export function withinBatchL1(ids: ArrayLike<number>): number | null {
  const n = ids.length;
  if (n < 2) return null;
  const s = sorted(ids);
  // In sorted order the k-th id is the larger one in k pairs and the smaller one in n − 1 − k.
  let sum = 0;
  for (let k = 0; k < n; k++) sum += s[k] * (2 * k - (n - 1));
  return sum / ((n * (n - 1)) / 2);
}

/** Mean |a − b| over every pair (a from one batch, b from the other), or null when either is empty. */
export function acrossBatchL1(a: ArrayLike<number>, b: ArrayLike<number>): number | null {
  if (a.length === 0 || b.length === 0) return null;
  const sa = sorted(a);
  const sb = sorted(b);
  let total = 0;
  for (let j = 0; j < sb.length; j++) total += sb[j];
  // Walk a in order: below holds the b's smaller than the current a (count and sum).
  let below = 0;
  let belowSum = 0;
  let sum = 0;
  for (let i = 0; i < sa.length; i++) {
    const x = sa[i];
    while (below < sb.length && sb[below] < x) belowSum += sb[below++];
    sum += x * below - belowSum + (total - belowSum) - x * (sb.length - below);
  }
  return sum / (sa.length * sb.length);
}

export interface EntropySummary {
  withinL1: number;
  acrossL1: number;
  score: number;
}

/** Running means over a run's batches, in the order they were produced. */
export class EntropyTracker {
  private readonly baselines: EntropyBaselines;
  private withinSum = 0;
  private withinCount = 0;
  private acrossSum = 0;
  private acrossCount = 0;
  private previous: ArrayLike<number> | null = null;

  constructor(nCells: number, batchSize: number) {
    this.baselines = entropyBaselines(nCells, batchSize);
  }

  /** Adds the next batch; returns its own within-batch L1 (0 without pairs) and its L1 to the previous batch. */
  add(cellIds: ArrayLike<number>): { withinL1: number; acrossL1: number | null } {
    const within = withinBatchL1(cellIds);
    const across = this.previous ? acrossBatchL1(this.previous, cellIds) : null;
    if (within !== null) {
      this.withinSum += within;
      this.withinCount++;
    }
    if (across !== null) {
      this.acrossSum += across;
      this.acrossCount++;
    }
    this.previous = cellIds;
    return { withinL1: within ?? 0, acrossL1: across };
  }

  /** Null until two batches were added. */
  summary(): EntropySummary | null {
    if (this.acrossCount === 0) return null;
    const { sequentialWithin, randomWithin, sequentialAcross, randomAcross } = this.baselines;
    const withinL1 = this.withinCount > 0 ? this.withinSum / this.withinCount : 0;
    const acrossL1 = this.acrossSum / this.acrossCount;
    const parts = [
      this.withinCount > 0 ? normalizedScore(withinL1, sequentialWithin, randomWithin) : null,
      normalizedScore(acrossL1, sequentialAcross, randomAcross),
    ].filter((s): s is number => s !== null);
    const score = parts.length ? parts.reduce((a, b) => a + b, 0) / parts.length : 0.5;
    return { withinL1, acrossL1, score };
  }
}
