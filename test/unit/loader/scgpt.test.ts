/** scGPT rows computed by hand from notes/slaf-format.md §4.4–4.5 and the addendum: L = max_genes + 2, value tokens from vocab_size. */
import { describe, expect, it } from "vitest";
import { facts, row, tokenizeCells } from "./helpers";

const slafdb = (maxGenes: number, extra = {}) => ({ tokenizer: "scgpt" as const, mode: "slafdb-0.5.2" as const, maxGenes, ...extra });
const canonical = (maxGenes: number, extra = {}) => ({ tokenizer: "scgpt" as const, mode: "canonical" as const, maxGenes, ...extra });

describe("scGPT, slafdb-0.5.2", () => {
  it("integer columns: value token = vocab_size + raw count, no binning; CLS and SEP carry value PAD", () => {
    // values 3,1,2,5: 4 distinct > 3, so rank ≤ 3 keeps values ≥ 2: genes 10, 30, 40 in storage order.
    const b = tokenizeCells(slafdb(3), [{ genes: [10, 20, 30, 40], values: [3, 1, 5, 2] }]);
    expect(b.seqLength).toBe(5);
    expect(row(b, b.inputIds, 0)).toEqual([1, 14, 34, 44, 2]);
    expect(row(b, b.valueTokens!, 0)).toEqual([0, 103, 105, 102, 0]);
    expect(row(b, b.attentionMask, 0)).toEqual([1, 1, 1, 1, 1]);
  });

  it("cuts to max_genes genes in storage order and always keeps SEP", () => {
    // one distinct value: all 4 genes pass the rank filter; n = min(4, 2) = 2.
    const b = tokenizeCells(slafdb(2), [{ genes: [0, 1, 2, 3], values: [1, 1, 1, 1] }]);
    expect(row(b, b.inputIds, 0)).toEqual([1, 4, 5, 2]);
    expect(row(b, b.valueTokens!, 0)).toEqual([0, 101, 101, 0]);
    expect(facts(b, 0)).toEqual({ length: 4, kept: 2, truncated: true, sep: true, oov: 0 });
  });

  it("float columns: float32 bins clip(int(x / 0.1), 0, 9), PAD for x ≤ 0 (the gene token stays attended)", () => {
    // 0.7 → 7 and 0.3 → 3 (float32; float64 would give 6 and 2), 1.5 → 9 (saturates), 0.05 → 0, 0 → PAD.
    const b = tokenizeCells(slafdb(8), [{ genes: [0, 1, 2, 3, 4], values: [0.7, 0.3, 1.5, 0.05, 0] }], "float");
    expect(row(b, b.inputIds, 0)).toEqual([1, 4, 5, 6, 7, 8, 2, 0, 0, 0]);
    expect(row(b, b.valueTokens!, 0)).toEqual([0, 107, 103, 109, 100, 0, 0, 0, 0, 0]);
    expect(row(b, b.attentionMask, 0)).toEqual([1, 1, 1, 1, 1, 1, 1, 0, 0, 0]);
  });

  it("an integral float32 column is still binned as float (everything ≥ 1 in the top bin)", () => {
    const b = tokenizeCells(slafdb(2), [{ genes: [0, 1], values: [1, 40] }], "float");
    expect(row(b, b.valueTokens!, 0)).toEqual([0, 109, 109, 0]);
  });

  it("an empty cell is [CLS, SEP] with all values PAD", () => {
    const b = tokenizeCells(slafdb(2), [{ genes: [], values: [] }]);
    expect(row(b, b.inputIds, 0)).toEqual([1, 2, 0, 0]);
    expect(row(b, b.valueTokens!, 0)).toEqual([0, 0, 0, 0]);
  });
});

describe("scGPT, canonical", () => {
  it("ranks, drops zeros, and bins log1p per cell: floor(lv · n_bins / max lv), max in the top bin", () => {
    // gene 2 (0) dropped; ranked 3 (7), 1 (3), 0 (1); max_genes 2 keeps genes 3, 1.
    // lv = ln 8, ln 4; 4 bins: ln8·4/ln8 = 4 → clipped 3; ln4·4/ln8 = 8/3 → 2.
    const b = tokenizeCells(canonical(2, { nExpressionBins: 4 }), [{ genes: [0, 1, 2, 3], values: [1, 3, 0, 7] }]);
    expect(row(b, b.inputIds, 0)).toEqual([1, 7, 5, 2]);
    expect(row(b, b.valueTokens!, 0)).toEqual([0, 103, 102, 0]);
    expect(facts(b, 0)).toEqual({ length: 3, kept: 2, truncated: true, sep: true, oov: 0 });
  });

  it("normalize_total scales before the window's log1p; with log1p set the window does not apply it twice", () => {
    // sum 4, target 10 → 2.5, 7.5; 10 bins: top → 9; floor(10 · ln 3.5 / ln 8.5) = floor(5.85…) = 5.
    const plain = tokenizeCells(canonical(2, { normalizeTotal: 10 }), [{ genes: [0, 1], values: [1, 3] }]);
    expect(row(plain, plain.inputIds, 0)).toEqual([1, 5, 4, 2]);
    expect(row(plain, plain.valueTokens!, 0)).toEqual([0, 109, 105, 0]);
    expect(row(plain, plain.values, 0)).toEqual([0, 7.5, 2.5, 0]);
    const logged = tokenizeCells(canonical(2, { normalizeTotal: 10, log1p: true }), [{ genes: [0, 1], values: [1, 3] }]);
    expect(row(logged, logged.valueTokens!, 0)).toEqual([0, 109, 105, 0]);
    expect(row(logged, logged.values, 0)).toEqual([0, Math.fround(Math.log1p(7.5)), Math.fround(Math.log1p(2.5)), 0]);
  });

  it("drops genes beyond vocab_size; float and integer columns bin alike", () => {
    // vocab 10: gene 6 out; genes 0 (0.5) and 1 (1.5): lv ln 1.5, ln 2.5; 10 bins: floor(10 · 0.405/0.916) = 4, top 9.
    const b = tokenizeCells(canonical(3, { vocabSize: 10 }), [{ genes: [0, 1, 6], values: [0.5, 1.5, 9] }], "float");
    expect(row(b, b.inputIds, 0)).toEqual([1, 5, 4, 2, 0]);
    expect(row(b, b.valueTokens!, 0)).toEqual([0, 19, 14, 0, 0]);
    expect(facts(b, 0).oov).toBe(1);
  });
});
