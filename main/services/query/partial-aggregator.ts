/**
 * Partial aggregates of flat batches, per value of one integer key column (a cell or gene id) or over all rows:
 * row count, and per aggregated column its non-null count, sum, min and max, in typed arrays indexed by the key.
 * DuckDB then combines the partials (pre-aggregate.ts rewrites the query to read them). Pure: used in the scan
 * worker and on the main thread.
 */
import type { FlatBatch, FlatColumn, TypedArray } from "./flat-batch";

export interface AggregateSpec {
  /** Index of the key column in the scanned columns, or null to aggregate all rows into one partial row. */
  key: number | null;
  /** Indexes of the aggregated columns in the scanned columns (numbers of at most 32 bits, or floats). */
  columns: number[];
  /** Expected key range [0, span): arrays start at this size and grow. */
  span: number;
}

/** The most memory the partial arrays may take: more keys than fit are not aggregated (the query reads rows). */
const MAX_BYTES = 512 * 1024 ** 2;

/** How many keys fit for this many aggregated columns (8 bytes each for the count and four partials per column). */
export function maxKeys(columns: number): number {
  return Math.floor(MAX_BYTES / (8 * (1 + 4 * columns)));
}
/** Sums of integers stay exact in float64 below this. */
const EXACT = 2 ** 53;

const UNSUPPORTED = "Partial aggregation not possible: ";

/** Why partial aggregation gave up: the caller runs the query on rows instead. */
export class PartialAggregateUnsupported extends Error {
  constructor(why: string) {
    super(`${UNSUPPORTED}${why}`);
  }
}

/** Whether an error (also one passed on from the scan worker, as a message) is a PartialAggregateUnsupported. */
export function isPartialAggregateUnsupported(e: unknown): boolean {
  return e instanceof Error && e.message.startsWith(UNSUPPORTED);
}

/**
 * Partial rows: [key?, n, then per column sum, count, min, max]; key, min and max typed as the scanned columns,
 * counts and sums as float64 (sums null where a key has no non-null value, min/max likewise). A null key gets a
 * row of its own (its key null).
 */
export class PartialAggregator {
  private size: number;
  private n: Float64Array;
  private sum: Float64Array[];
  private cnt: Float64Array[];
  private min: Float64Array[];
  private max: Float64Array[];
  private keyType: (new (n: number) => TypedArray) | null = null;
  private valueTypes: (new (n: number) => TypedArray)[] = [];
  private readonly limit: number;

  constructor(private readonly spec: AggregateSpec) {
    // Slot `size` (the last) holds rows whose key is null.
    this.limit = maxKeys(spec.columns.length);
    if (spec.span > this.limit) throw new PartialAggregateUnsupported(`more than ${this.limit} keys`);
    this.size = spec.key === null ? 1 : Math.max(1, spec.span);
    this.n = new Float64Array(this.size + 1);
    this.sum = spec.columns.map(() => new Float64Array(this.size + 1));
    this.cnt = spec.columns.map(() => new Float64Array(this.size + 1));
    this.min = spec.columns.map(() => new Float64Array(this.size + 1).fill(Infinity));
    this.max = spec.columns.map(() => new Float64Array(this.size + 1).fill(-Infinity));
  }

  add(batch: FlatBatch): void {
    const rows = batch.rows;
    if (rows === 0) return;
    const keyCol = this.spec.key === null ? null : batch.columns[this.spec.key];
    if (keyCol) {
      if (keyCol.values instanceof BigInt64Array || keyCol.values instanceof BigUint64Array) throw new PartialAggregateUnsupported("64-bit keys");
      this.keyType ??= keyCol.values.constructor as new (n: number) => TypedArray;
    }
    this.valueTypes = this.spec.columns.map((c) => batch.columns[c].values.constructor as new (n: number) => TypedArray);
    if (keyCol && !keyCol.validity && this.spec.columns.every((c) => !batch.columns[c].validity))
      return this.addRuns(keyCol.values as Float64Array, batch, rows);
    const slots = this.slotsOf(keyCol, rows);
    const n = this.n;
    for (let i = 0; i < rows; i++) n[slots[i]]++;
    this.spec.columns.forEach((c, j) => this.addColumn(batch.columns[c], slots, rows, j));
  }

  /** The partial rows, as one flat batch. */
  result(): FlatBatch {
    const slots: number[] = [];
    for (let k = 0; k <= this.size; k++) if (this.n[k] > 0) slots.push(k);
    const count = slots.length;
    const columns: FlatColumn[] = [];
    if (this.spec.key !== null) {
      const keys = new (this.keyType ?? Uint32Array)(count) as Uint32Array;
      const valid = new Uint8Array(Math.ceil(count / 8));
      slots.forEach((k, r) => {
        if (k < this.size) {
          keys[r] = k;
          valid[r >>> 3] |= 1 << (r & 7);
        }
      });
      columns.push({ values: keys, validity: slots.at(-1) === this.size ? valid : null });
    }
    columns.push({ values: Float64Array.from(slots, (k) => this.n[k]), validity: null });
    this.spec.columns.forEach((_, j) => {
      const has = Uint8Array.from(slots, (k) => (this.cnt[j][k] > 0 ? 1 : 0));
      const validity = has.every((x) => x === 1) ? null : packed(has);
      const type = this.valueTypes[j] ?? Float64Array;
      const pick = (from: Float64Array, as: new (n: number) => TypedArray) => {
        const out = new as(count) as Float64Array;
        slots.forEach((k, r) => (out[r] = has[r] ? from[k] : 0));
        return out;
      };
      for (const k of slots)
        if (Math.abs(this.sum[j][k]) >= EXACT && !(type === Float32Array || type === Float64Array)) throw new PartialAggregateUnsupported("sum too large");
      columns.push({ values: pick(this.sum[j], Float64Array), validity });
      columns.push({ values: pick(this.cnt[j], Float64Array), validity: null });
      columns.push({ values: pick(this.min[j], type), validity });
      columns.push({ values: pick(this.max[j], type), validity });
    });
    return { rows: count, columns };
  }

  /**
   * No nulls anywhere: one pass per column that sums runs of equal keys in locals and stores at each change of key
   * (expression is sorted by cell, so runs are long for cell keys; for gene keys this is the plain loop).
   */
  private addRuns(keys: Float64Array, batch: FlatBatch, rows: number): void {
    let top = -1;
    for (let i = 0; i < rows; i++) {
      const k = keys[i];
      if (k > top) top = k;
      if (k < 0) throw new PartialAggregateUnsupported("negative keys");
    }
    if (top >= this.size) this.grow(top + 1);
    const first = this.spec.columns[0];
    // Without nulls the first column's count is the row count.
    if (first !== undefined) {
      runColumn(keys, batch.columns[first].values as Float64Array, rows, this.sum[0], this.cnt[0], this.min[0], this.max[0], this.n);
      this.spec.columns.forEach(
        (col, j) => j > 0 && runColumn(keys, batch.columns[col].values as Float64Array, rows, this.sum[j], this.cnt[j], this.min[j], this.max[j], null),
      );
      return;
    }
    const n = this.n;
    let cur = keys[0];
    let c = 0;
    for (let i = 0; i < rows; i++) {
      const k = keys[i];
      if (k !== cur) {
        n[cur] += c;
        c = 0;
        cur = k;
      }
      c++;
    }
    n[cur] += c;
  }

  private slotsOf(keyCol: FlatColumn | null, rows: number): Uint32Array {
    const slots = new Uint32Array(rows);
    if (!keyCol) return slots;
    const keys = keyCol.values as Float64Array;
    const validity = keyCol.validity;
    let top = -1;
    for (let i = 0; i < rows; i++) {
      const k = keys[i];
      if (validity && ((validity[i >>> 3] >>> (i & 7)) & 1) === 0) continue;
      if (k < 0) throw new PartialAggregateUnsupported("negative keys");
      if (k > top) top = k;
    }
    if (top >= this.size) this.grow(top + 1);
    const nullSlot = this.size;
    for (let i = 0; i < rows; i++) slots[i] = validity && ((validity[i >>> 3] >>> (i & 7)) & 1) === 0 ? nullSlot : keys[i];
    return slots;
  }

  private addColumn(col: FlatColumn, slots: Uint32Array, rows: number, j: number): void {
    const v = col.values as Float64Array;
    const validity = col.validity;
    const sum = this.sum[j];
    const cnt = this.cnt[j];
    const min = this.min[j];
    const max = this.max[j];
    for (let i = 0; i < rows; i++) {
      if (validity && ((validity[i >>> 3] >>> (i & 7)) & 1) === 0) continue;
      const k = slots[i];
      const x = v[i];
      sum[k] += x;
      cnt[k]++;
      if (x < min[k]) min[k] = x;
      if (x > max[k]) max[k] = x;
    }
  }

  /** Grows the arrays to hold keys below `needed` (the null slot moves to the new end). */
  private grow(needed: number): void {
    if (needed > this.limit) throw new PartialAggregateUnsupported(`more than ${this.limit} keys`);
    const size = Math.min(this.limit, Math.max(needed, this.size * 2));
    const move = (a: Float64Array, fill: number) => {
      const b = new Float64Array(size + 1).fill(fill, this.size, size);
      b.set(a.subarray(0, this.size));
      b[size] = a[this.size];
      return b;
    };
    this.n = move(this.n, 0);
    this.sum = this.sum.map((a) => move(a, 0));
    this.cnt = this.cnt.map((a) => move(a, 0));
    this.min = this.min.map((a) => move(a, Infinity));
    this.max = this.max.map((a) => move(a, -Infinity));
    this.size = size;
  }
}

/** Sums, counts, minima and maxima of `v` per run of equal keys (and the counts into `n` too, when given). */
function runColumn(
  keys: Float64Array,
  v: Float64Array,
  rows: number,
  sum: Float64Array,
  cnt: Float64Array,
  min: Float64Array,
  max: Float64Array,
  n: Float64Array | null,
): void {
  let cur = keys[0];
  let s = 0;
  let c = 0;
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < rows; i++) {
    const k = keys[i];
    if (k !== cur) {
      sum[cur] += s;
      cnt[cur] += c;
      if (n) n[cur] += c;
      if (lo < min[cur]) min[cur] = lo;
      if (hi > max[cur]) max[cur] = hi;
      cur = k;
      s = 0;
      c = 0;
      lo = Infinity;
      hi = -Infinity;
    }
    const x = v[i];
    s += x;
    c++;
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
  sum[cur] += s;
  cnt[cur] += c;
  if (n) n[cur] += c;
  if (lo < min[cur]) min[cur] = lo;
  if (hi > max[cur]) max[cur] = hi;
}

function packed(bits: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.ceil(bits.length / 8));
  for (let i = 0; i < bits.length; i++) if (bits[i]) out[i >>> 3] |= 1 << (i & 7);
  return out;
}
