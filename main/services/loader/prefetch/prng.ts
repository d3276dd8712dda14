/**
 * The prefetcher's seeded randomness, written out so the same seed gives the same batches on every machine and
 * Node version (Math.random and engine internals are never used).
 *
 * - `seedWords(...parts)`: folds integers (seed, epoch, step) into 128 bits of state with SplitMix64 (Steele,
 *   Lea, Flood 2014), computed in BigInt: h = 0; for each part p: h = splitmix64(h ^ p) — the four 32-bit words are
 *   the next two SplitMix64 outputs of h (high word first). An all-zero state (invalid for xoshiro) cannot come
 *   out of two consecutive SplitMix64 outputs in practice; it is still replaced by a constant.
 * - `Xoshiro128`: xoshiro128** 1.1 (Blackman, Vigna 2018) on 32-bit words (Math.imul, >>> 0), one uint32 per
 *   step; `below(n)` draws an integer in [0, n) without bias by rejection (x < floor(2^32 / n) · n, then x % n).
 */

const MASK64 = (1n << 64n) - 1n;
const GOLDEN = 0x9e3779b97f4a7c15n;

export function splitmix64(state: bigint): { next: bigint; out: bigint } {
  const next = (state + GOLDEN) & MASK64;
  let z = next;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
  return { next, out: z ^ (z >> 31n) };
}

/** 128 bits of xoshiro state (four uint32 words) from integers such as (seed, epoch, step). */
export function seedWords(...parts: number[]): [number, number, number, number] {
  let h = 0n;
  for (const p of parts) {
    if (!Number.isSafeInteger(p)) throw new RangeError(`Seed parts must be safe integers, got ${p}`);
    h = splitmix64(h ^ BigInt.asUintN(64, BigInt(p))).out;
  }
  const a = splitmix64(h);
  const b = splitmix64(a.next);
  const words: [number, number, number, number] = [Number(a.out >> 32n), Number(a.out & 0xffffffffn), Number(b.out >> 32n), Number(b.out & 0xffffffffn)];
  if (words.every((w) => w === 0)) return [0x9e3779b9, 0x7f4a7c15, 0xbf58476d, 0x1ce4e5b9];
  return words;
}

const rotl = (x: number, k: number): number => ((x << k) | (x >>> (32 - k))) >>> 0;

export class Xoshiro128 {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(words: readonly number[]) {
    [this.s0, this.s1, this.s2, this.s3] = words.map((w) => w >>> 0);
  }

  /** The next uint32. */
  next(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 = (this.s2 ^ this.s0) >>> 0;
    this.s3 = (this.s3 ^ this.s1) >>> 0;
    this.s1 = (this.s1 ^ this.s2) >>> 0;
    this.s0 = (this.s0 ^ this.s3) >>> 0;
    this.s2 = (this.s2 ^ t) >>> 0;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** An integer in [0, n), 1 ≤ n ≤ 2^32, without modulo bias. */
  below(n: number): number {
    if (!(n >= 1 && n <= 2 ** 32 && Number.isInteger(n))) throw new RangeError(`below(n) needs an integer n in [1, 2^32], got ${n}`);
    const limit = Math.floor(2 ** 32 / n) * n;
    for (;;) {
      const x = this.next();
      if (x < limit) return x % n;
    }
  }
}

/** Fisher–Yates (Durstenfeld): shuffles `a` in place, drawing j from [0, i] for i = n−1 … 1. */
export function shuffleInPlace(a: { length: number; [i: number]: number }, rng: Xoshiro128): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = rng.below(i + 1);
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
}
