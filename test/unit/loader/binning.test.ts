/** Bin edges of both binning rules (notes §4.2, §4.4 and addendum 2). */
import { describe, expect, it } from "vitest";
import { log1pBin, slafdbFloatBin } from "../../../main/services/loader";

describe("slafdbFloatBin (SLAF 0.5.2, float32 arithmetic)", () => {
  it("matches float32, not float64, on the decimal edges", () => {
    expect(Math.trunc(0.7 / 0.1)).toBe(6); // what float64 would say
    expect(slafdbFloatBin(0.7, 10)).toBe(7);
    expect(slafdbFloatBin(0.3, 10)).toBe(3);
    expect(slafdbFloatBin(0.1, 10)).toBe(1);
    expect(slafdbFloatBin(0.0999, 10)).toBe(0);
  });

  it("saturates at the top bin from 1.0 up, and gives -1 (PAD) for x ≤ 0 only", () => {
    expect(slafdbFloatBin(0.99, 10)).toBe(9);
    expect(slafdbFloatBin(1, 10)).toBe(9);
    expect(slafdbFloatBin(150, 10)).toBe(9);
    expect(slafdbFloatBin(1e-30, 10)).toBe(0);
    expect(slafdbFloatBin(0, 10)).toBe(-1);
    expect(slafdbFloatBin(-2, 10)).toBe(-1);
    expect(slafdbFloatBin(0.5, 2)).toBe(1);
    expect(slafdbFloatBin(0.4999, 2)).toBe(0);
  });
});

describe("log1pBin (canonical, float64)", () => {
  it("puts values exactly on an edge in the upper bin and the cell maximum in the top bin", () => {
    expect(log1pBin(0.5, 1, 2)).toBe(1);
    expect(log1pBin(0.4999, 1, 2)).toBe(0);
    expect(log1pBin(1, 1, 2)).toBe(1);
    expect(log1pBin(0.25, 1, 4)).toBe(1);
    expect(log1pBin(0.75, 1, 4)).toBe(3);
    expect(log1pBin(0.2499, 1, 4)).toBe(0);
    expect(log1pBin(3, 3, 1)).toBe(0);
  });

  it("gives bin 0 for non-positive values or a non-positive maximum", () => {
    expect(log1pBin(0, 1, 10)).toBe(0);
    expect(log1pBin(-1, 1, 10)).toBe(0);
    expect(log1pBin(1, 0, 10)).toBe(0);
  });
});
