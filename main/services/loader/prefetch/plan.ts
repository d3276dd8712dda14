/**
 * The prefetcher's schedule, pure (no I/O): from cell_start_index and the expression fragments' row boundaries,
 * which rows each scanner reads, in which order, and how the cells are shuffled and cut into batches.
 *
 * - Ranges: one per fragment; when there are fewer fragments than scanners, each fragment is cut into row ranges
 *   (at most about rows / nScanners rows each), always between cells. A cell belongs to the range holding its first row,
 *   so a cell that spans a fragment boundary is read whole by one read.
 * - Blocks: each range is walked in cell-aligned blocks of about `blockRows` rows (at least one cell; a block ends
 *   at the first cell starting `blockRows` rows or more after the block's first row).
 * - Steps (shuffle on): as SLAF's mixture of scanners, each step picks k = min(nScanners, active ranges) distinct
 *   ranges with a seeded PRNG and reads the next block of each; a range is active until its blocks are read. The
 *   step's cells are then block-shuffled (Fisher–Yates over whole cells, seeded per epoch and step).
 *   Shuffle off: blocks in row order, nScanners blocks per step, cells in storage order.
 * - Batches: the epoch's cells, step after step, are cut into consecutive batches of batchSize, so a batch may take
 *   its first cells from one step and the rest from the next (SLAF instead cuts each prefetch batch on its own and
 *   yields a short batch at the end of each; here only the epoch's last batch can be short).
 * - Cells without rows (start[c] == start[c+1]) are never emitted: SLAF's loader reads expression rows and never
 *   sees such cells, and a batch of [CLS, SEP] rows teaches a model nothing.
 * - Seeds: the scanner choice of epoch e draws from seedWords(seed, e, -1), the shuffle of step s from
 *   seedWords(seed, e, s) (prng.ts), so every epoch has its own stream and a step's order does not depend on timing.
 */
import { seedWords, shuffleInPlace, Xoshiro128 } from "./prng";

export interface ScanRange {
  /** Index of the fragment the range lies in (fragment order = row order). */
  fragment: number;
  cellStart: number;
  cellEnd: number;
  rowStart: number;
  rowEnd: number;
}

export interface Block {
  range: number;
  fragment: number;
  /** Cells [cellStart, cellEnd) and exactly their rows [rowStart, rowEnd). */
  cellStart: number;
  cellEnd: number;
  rowStart: number;
  rowEnd: number;
  /** Cells with rows (the ones emitted). */
  nCells: number;
}

export interface ScanLayout {
  cellStartIndex: Float64Array;
  nCells: number;
  nRows: number;
  nFragments: number;
  /** Cells emitted per epoch (cells with at least one row). */
  cellsPerEpoch: number;
  ranges: ScanRange[];
  /** Per range, its blocks in row order. */
  blocks: Block[][];
}

export interface StepPlan {
  epoch: number;
  /** Index within the epoch. */
  step: number;
  blocks: Block[];
  /** Cells emitted by this step. */
  nCells: number;
  /** Cells emitted by the epoch's earlier steps: where this step's cells start in the epoch's cell sequence. */
  cellOffset: number;
  /** Seed words of the step's shuffle; null when shuffle is off. */
  shuffleSeed: [number, number, number, number] | null;
}

export interface LayoutInput {
  /** n_cells + 1 entries, non-decreasing, from 0 to the expression row count. */
  cellStartIndex: Float64Array;
  /** Row offset of each fragment's first row, then the row count (nFragments + 1 entries). */
  fragmentStarts: readonly number[];
  nScanners: number;
  blockRows: number;
}

/** First index i in [lo, hi) with a[i] >= x, else hi. */
export function lowerBound(a: Float64Array, x: number, lo: number, hi: number): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function countRowCells(starts: Float64Array, c0: number, c1: number): number {
  let n = 0;
  for (let c = c0; c < c1; c++) if (starts[c + 1] > starts[c]) n++;
  return n;
}

function fragmentRanges(starts: Float64Array, fragmentStarts: readonly number[]): ScanRange[] {
  const nCells = starts.length - 1;
  const ranges: ScanRange[] = [];
  let c0 = 0;
  for (let f = 0; f + 1 < fragmentStarts.length; f++) {
    // Cells whose first row lies in [fragmentStarts[f], fragmentStarts[f + 1]).
    const c1 = lowerBound(starts, fragmentStarts[f + 1], c0, nCells);
    if (c1 > c0) ranges.push({ fragment: f, cellStart: c0, cellEnd: c1, rowStart: starts[c0], rowEnd: starts[c1] });
    c0 = c1;
  }
  return ranges;
}

/** Cuts each range into pieces of about `targetRows` rows, between cells. */
function cutRanges(starts: Float64Array, ranges: ScanRange[], targetRows: number): ScanRange[] {
  const out: ScanRange[] = [];
  for (const r of ranges) {
    const pieces = Math.max(1, Math.ceil((r.rowEnd - r.rowStart) / targetRows - 1e-9));
    let c0 = r.cellStart;
    for (let i = 1; i <= pieces && c0 < r.cellEnd; i++) {
      const c1 = i === pieces ? r.cellEnd : Math.max(c0 + 1, lowerBound(starts, r.rowStart + ((r.rowEnd - r.rowStart) * i) / pieces, c0, r.cellEnd));
      out.push({ fragment: r.fragment, cellStart: c0, cellEnd: c1, rowStart: starts[c0], rowEnd: starts[c1] });
      c0 = c1;
    }
  }
  return out;
}

function rangeBlocks(starts: Float64Array, r: ScanRange, index: number, blockRows: number): Block[] {
  const blocks: Block[] = [];
  for (let c = r.cellStart; c < r.cellEnd;) {
    const end = Math.max(c + 1, lowerBound(starts, starts[c] + blockRows, c + 1, r.cellEnd));
    const nCells = countRowCells(starts, c, end);
    if (nCells > 0) blocks.push({ range: index, fragment: r.fragment, cellStart: c, cellEnd: end, rowStart: starts[c], rowEnd: starts[end], nCells });
    c = end;
  }
  return blocks;
}

/** Ranges and their blocks: the same for every epoch (only their interleaving and the shuffles change). */
export function planLayout(input: LayoutInput): ScanLayout {
  const starts = input.cellStartIndex;
  const nCells = starts.length - 1;
  const nRows = nCells >= 0 ? starts[nCells] : 0;
  const frags = input.fragmentStarts;
  if (frags.length < 2 || frags[0] !== 0 || frags[frags.length - 1] !== nRows) {
    throw new RangeError(
      `Fragment boundaries must run from 0 to the ${nRows} expression rows, got [${frags.slice(0, 4).join(", ")}${frags.length > 4 ? ", …" : ""}]`,
    );
  }
  let ranges = fragmentRanges(starts, frags);
  if (ranges.length > 0 && ranges.length < input.nScanners) ranges = cutRanges(starts, ranges, Math.max(1, nRows / input.nScanners));
  const blocks = ranges.map((r, i) => rangeBlocks(starts, r, i, Math.max(1, input.blockRows)));
  const kept = ranges.map((r, i) => ({ r, b: blocks[i] })).filter((x) => x.b.length > 0);
  kept.forEach((x, i) => x.b.forEach((b) => (b.range = i)));
  return {
    cellStartIndex: starts,
    nCells,
    nRows,
    nFragments: frags.length - 1,
    cellsPerEpoch: countRowCells(starts, 0, nCells),
    ranges: kept.map((x) => x.r),
    blocks: kept.map((x) => x.b),
  };
}

export interface EpochOptions {
  seed: number;
  shuffle: boolean;
  nScanners: number;
}

function makeStep(epoch: number, step: number, blocks: Block[], cellOffset: number, shuffle: boolean, seed: number): StepPlan {
  const nCells = blocks.reduce((n, b) => n + b.nCells, 0);
  return { epoch, step, blocks, nCells, cellOffset, shuffleSeed: shuffle ? seedWords(seed, epoch, step) : null };
}

/** The epoch's steps, in the order their cells are emitted. */
export function planEpoch(layout: ScanLayout, options: EpochOptions, epoch: number): StepPlan[] {
  const steps: StepPlan[] = [];
  let offset = 0;
  const push = (blocks: Block[]) => {
    const s = makeStep(epoch, steps.length, blocks, offset, options.shuffle, options.seed);
    offset += s.nCells;
    steps.push(s);
  };
  const k = Math.max(1, options.nScanners);
  if (!options.shuffle) {
    const all = layout.blocks.flat();
    for (let i = 0; i < all.length; i += k) push(all.slice(i, i + k));
    return steps;
  }
  const rng = new Xoshiro128(seedWords(options.seed, epoch, -1));
  const cursor = new Int32Array(layout.blocks.length);
  let active = layout.blocks.map((_, r) => r);
  while (active.length > 0) {
    const pick = active.slice();
    const n = Math.min(k, pick.length);
    // Partial Fisher–Yates: the first n entries become a uniform sample of distinct ranges.
    for (let i = 0; i < n; i++) {
      const j = i + rng.below(pick.length - i);
      [pick[i], pick[j]] = [pick[j], pick[i]];
    }
    push(pick.slice(0, n).map((r) => layout.blocks[r][cursor[r]++]));
    active = active.filter((r) => cursor[r] < layout.blocks[r].length);
  }
  return steps;
}

/** Positions 0..n−1 in the order the step emits its cells (Fisher–Yates with the step's seed, or storage order). */
export function stepOrder(nCells: number, shuffleSeed: readonly number[] | null): Uint32Array {
  const order = new Uint32Array(nCells);
  for (let i = 0; i < nCells; i++) order[i] = i;
  if (shuffleSeed) shuffleInPlace(order, new Xoshiro128(shuffleSeed));
  return order;
}

/** The step's cell ids in emission order: its blocks' cells with rows, in block order, then permuted by stepOrder. */
export function stepCellIds(step: StepPlan, starts: Float64Array): Uint32Array {
  const stored = new Uint32Array(step.nCells);
  let at = 0;
  for (const b of step.blocks) for (let c = b.cellStart; c < b.cellEnd; c++) if (starts[c + 1] > starts[c]) stored[at++] = c;
  const order = stepOrder(step.nCells, step.shuffleSeed);
  const out = new Uint32Array(step.nCells);
  for (let i = 0; i < order.length; i++) out[i] = stored[order[i]];
  return out;
}

export interface BatchPart {
  /** The batch (within the epoch) these cells belong to. */
  batch: number;
  /** Positions [from, to) in the step's emission order. */
  from: number;
  to: number;
}

/** How a step's cells fall into the epoch's batches: the first part may finish a batch begun by earlier steps. */
export function stepParts(cellOffset: number, nCells: number, batchSize: number): BatchPart[] {
  const parts: BatchPart[] = [];
  for (let from = 0; from < nCells;) {
    const global = cellOffset + from;
    const batch = Math.floor(global / batchSize);
    const to = Math.min(nCells, (batch + 1) * batchSize - cellOffset);
    parts.push({ batch, from, to });
    from = to;
  }
  return parts;
}

export function batchesPerEpoch(layout: ScanLayout, batchSize: number): number {
  return Math.ceil(layout.cellsPerEpoch / batchSize);
}
