/** Set algebra over sorted id arrays equals the same operations on JS Sets, on random sets. */
import { describe, expect, it } from "vitest";
import { combine, difference, intersection, normalizeIds, union } from "../../../main/services/explore/id-sets";
import { insidePolygon, pointsInPolygon } from "../../../main/services/explore/polygon";

function randomSet(seed: number, n: number, max: number): Int32Array {
  let s = seed;
  const next = () => (s = (s * 1103515245 + 12345) >>> 0) % max;
  return normalizeIds(Int32Array.from({ length: n }, next), max);
}

const sorted = (s: Iterable<number>) => Array.from(s).sort((a, b) => a - b);

describe("cell id sets", () => {
  it("normalizes: sorted, repeats dropped, out-of-range ids refused", () => {
    expect(Array.from(normalizeIds(Int32Array.from([5, 1, 5, 3, 1]), 10))).toEqual([1, 3, 5]);
    expect(() => normalizeIds(Int32Array.from([10]), 10)).toThrow(/outside/);
    expect(() => normalizeIds(Int32Array.from([-1]), 10)).toThrow(/outside/);
  });

  it("union, intersection and difference agree with Sets", () => {
    for (let seed = 1; seed <= 20; seed++) {
      const a = randomSet(seed, 300, 500);
      const b = randomSet(seed * 7 + 3, 200, 500);
      const c = randomSet(seed * 13 + 5, 100, 500);
      const [sa, sb, sc] = [new Set(a), new Set(b), new Set(c)];
      expect(Array.from(union(a, b))).toEqual(sorted(new Set([...sa, ...sb])));
      expect(Array.from(intersection(a, b))).toEqual(sorted([...sa].filter((x) => sb.has(x))));
      expect(Array.from(difference(a, b))).toEqual(sorted([...sa].filter((x) => !sb.has(x))));
      expect(Array.from(combine("difference", [a, b, c]))).toEqual(sorted([...sa].filter((x) => !sb.has(x) && !sc.has(x))));
      expect(Array.from(combine("intersection", [a, b, c]))).toEqual(sorted([...sa].filter((x) => sb.has(x) && sc.has(x))));
    }
    expect(Array.from(union(new Int32Array(), Int32Array.from([2])))).toEqual([2]);
    expect(Array.from(intersection(Int32Array.from([1]), new Int32Array()))).toEqual([]);
  });

  it("tests points in a polygon by the even-odd rule; the bounding box changes nothing", () => {
    const square = [0, 0, 10, 0, 10, 10, 0, 10];
    expect(insidePolygon(5, 5, square)).toBe(true);
    expect(insidePolygon(15, 5, square)).toBe(false);
    expect(insidePolygon(NaN, 5, square)).toBe(false);
    // A U shape: the notch is outside.
    const u = [0, 0, 9, 0, 9, 9, 6, 9, 6, 3, 3, 3, 3, 9, 0, 9];
    expect(insidePolygon(4.5, 6, u)).toBe(false);
    expect(insidePolygon(1.5, 6, u)).toBe(true);
    let s = 7;
    const rnd = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32) * 12 - 1;
    const x = Float32Array.from({ length: 5000 }, rnd);
    const y = Float32Array.from({ length: 5000 }, rnd);
    const brute = [];
    for (let i = 0; i < x.length; i++) if (insidePolygon(x[i], y[i], u)) brute.push(i);
    expect(Array.from(pointsInPolygon(x, y, u))).toEqual(brute);
  });
});
