/** Geneformer rows computed by hand from notes/slaf-format.md §4.2–4.3 and the addendum (PAD 0, CLS 1, SEP 2, gene = id + 4). */
import { describe, expect, it } from "vitest";
import { facts, row, tokenizeCells } from "./helpers";

const slafdb = (maxGenes: number, extra = {}) => ({ tokenizer: "geneformer" as const, mode: "slafdb-0.5.2" as const, maxGenes, ...extra });
const canonical = (maxGenes: number, extra = {}) => ({ tokenizer: "geneformer" as const, mode: "canonical" as const, maxGenes, ...extra });

describe("Geneformer, slafdb-0.5.2", () => {
  it("keeps the dense-rank top set in storage order (SLAF's test_apply_single_cell), then cuts [CLS, genes, SEP] to max_genes", () => {
    // values 3,1,5 → dense ranks 2,3,1; rank ≤ 2 keeps genes 10 and 30 in storage order; [CLS,14,34,SEP][:2] = [CLS,14].
    const b = tokenizeCells(slafdb(2), [{ genes: [10, 20, 30], values: [3, 1, 5] }]);
    expect(row(b, b.inputIds, 0)).toEqual([1, 14]);
    expect(row(b, b.attentionMask, 0)).toEqual([1, 1]);
    expect(facts(b, 0)).toEqual({ length: 2, kept: 1, truncated: true, sep: false, oov: 0 });
  });

  it("on counts the rank filter keeps every gene and truncation drops the highest gene ids, whatever their expression", () => {
    // 4 distinct values (7,3,2,1) ≤ 5, so all 6 genes stay, in id order; [CLS,14,24,34,44,54,64,SEP][:5].
    // Gene 60 (value 3) is cut while gene 10 (value 2) stays.
    const b = tokenizeCells(slafdb(5), [{ genes: [10, 20, 30, 40, 50, 60], values: [2, 7, 2, 7, 1, 3] }]);
    expect(row(b, b.inputIds, 0)).toEqual([1, 14, 24, 34, 44]);
    expect(facts(b, 0)).toEqual({ length: 6, kept: 4, truncated: true, sep: false, oov: 0 });
  });

  it("ties on float values keep more genes than max_genes", () => {
    // distinct descending 0.75 (rank 1), 0.5 (rank 2), 0.25, 0.125: rank ≤ 2 keeps genes 0, 2, 4 (three genes for max 2);
    // with max_genes 3, rank ≤ 3 also keeps gene 1: [CLS,4,5,6,8,SEP][:3].
    const cell = { genes: [0, 1, 2, 3, 4], values: [0.5, 0.25, 0.5, 0.125, 0.75] };
    const two = tokenizeCells(slafdb(2), [cell], "float");
    expect(row(two, two.inputIds, 0)).toEqual([1, 4]);
    expect(facts(two, 0).length).toBe(3);
    const three = tokenizeCells(slafdb(3), [cell], "float");
    expect(row(three, three.inputIds, 0)).toEqual([1, 4, 5]);
    expect(facts(three, 0)).toEqual({ length: 4, kept: 2, truncated: true, sep: false, oov: 0 });
  });

  it("loses SEP as soon as a cell has more than max_genes − 2 genes, before any gene is cut", () => {
    // max_genes 4: 2 genes → [CLS,g,g,SEP]; 3 genes → [CLS,g,g,g] (nothing truncated, SEP gone); empty → [CLS,SEP,PAD,PAD].
    const b = tokenizeCells(slafdb(4), [
      { genes: [0, 1], values: [1, 1] },
      { genes: [0, 1, 2], values: [1, 1, 1] },
      { genes: [], values: [] },
    ]);
    expect(row(b, b.inputIds, 0)).toEqual([1, 4, 5, 2]);
    expect(row(b, b.inputIds, 1)).toEqual([1, 4, 5, 6]);
    expect(facts(b, 1)).toEqual({ length: 3, kept: 3, truncated: false, sep: false, oov: 0 });
    expect(row(b, b.inputIds, 2)).toEqual([1, 2, 0, 0]);
    expect(row(b, b.attentionMask, 2)).toEqual([1, 1, 0, 0]);
    expect(Array.from(b.cellIds)).toEqual([0, 1, 2]);
  });

  it("keeps genes beyond vocab_size (their tokens reach past it, as in SLAF) and keeps explicit zeros", () => {
    // vocab 10: genes 6 and 9 give tokens 10 and 13 ≥ 10, kept; the stored 0 of gene 2 ranks last but stays (3 distinct ≤ 6).
    const b = tokenizeCells(slafdb(6, { vocabSize: 10 }), [{ genes: [1, 2, 6, 9], values: [1, 0, 5, 2] }]);
    expect(row(b, b.inputIds, 0)).toEqual([1, 5, 6, 10, 13, 2]);
    expect(facts(b, 0)).toEqual({ length: 4, kept: 4, truncated: false, sep: true, oov: 2 });
    expect(row(b, b.values, 0)).toEqual([0, 1, 0, 5, 2, 0]);
  });

  it("follows read order when a cell arrives out of gene order (a cell reassembled across fragments)", () => {
    const b = tokenizeCells(slafdb(8), [{ genes: [3, 4, 5, 0, 1, 2], values: [1, 1, 1, 1, 1, 1] }]);
    expect(row(b, b.inputIds, 0)).toEqual([1, 7, 8, 9, 4, 5, 6, 2]);
  });
});

describe("Geneformer, canonical", () => {
  it("ranks by value descending with ties by gene id, keeps the top genes and always SEP", () => {
    // 7:{20,40}, 3:{60}, 2:{10,30}, 1:{50} → 20,40,60,10,30,50; room max_genes − 2 = 3 → [CLS,24,44,64,SEP].
    const b = tokenizeCells(canonical(5), [{ genes: [10, 20, 30, 40, 50, 60], values: [2, 7, 2, 7, 1, 3] }]);
    expect(row(b, b.inputIds, 0)).toEqual([1, 24, 44, 64, 2]);
    expect(row(b, b.values, 0)).toEqual([0, 7, 7, 3, 0]);
    expect(facts(b, 0)).toEqual({ length: 6, kept: 3, truncated: true, sep: true, oov: 0 });
  });

  it("ranks float values and breaks ties by gene id even when storage order is not gene order", () => {
    // 0.75 (gene 4), 0.5 (genes 0, 2), 0.25 (gene 1), 0.125 (gene 3); room 2 → [CLS,8,4,SEP].
    const b = tokenizeCells(canonical(4), [{ genes: [0, 1, 2, 3, 4], values: [0.5, 0.25, 0.5, 0.125, 0.75] }], "float");
    expect(row(b, b.inputIds, 0)).toEqual([1, 8, 4, 2]);
    // genes 5,4,3 tie with 0,1,2 on value: ascending id order whatever the read order.
    const r = tokenizeCells(canonical(8), [{ genes: [3, 4, 5, 0, 1, 2], values: [1, 1, 1, 1, 1, 1] }]);
    expect(row(r, r.inputIds, 0)).toEqual([1, 4, 5, 6, 7, 8, 9, 2]);
  });

  it("drops genes beyond vocab_size and non-positive values; an empty cell is [CLS, SEP]", () => {
    // vocab 10: genes 6, 9 out (oov 2); gene 2 (value 0) dropped; left gene 1 → [CLS,5,SEP,PAD,PAD,PAD].
    const b = tokenizeCells(canonical(6, { vocabSize: 10 }), [
      { genes: [1, 2, 6, 9], values: [1, 0, 5, 2] },
      { genes: [], values: [] },
    ]);
    expect(row(b, b.inputIds, 0)).toEqual([1, 5, 2, 0, 0, 0]);
    expect(row(b, b.attentionMask, 0)).toEqual([1, 1, 1, 0, 0, 0]);
    expect(facts(b, 0)).toEqual({ length: 1, kept: 1, truncated: false, sep: true, oov: 2 });
    expect(row(b, b.inputIds, 1)).toEqual([1, 2, 0, 0, 0, 0]);
  });

  it("divides by per-gene medians when given, dropping genes without a positive median", () => {
    // values 4,4,1 over medians 2,1,0.25 → keys 2,4,4 → genes 1,2 (tie, by id) then 0.
    const b = tokenizeCells(canonical(5, { geneMedians: Float32Array.of(2, 1, 0.25) }), [{ genes: [0, 1, 2], values: [4, 4, 1] }]);
    expect(row(b, b.inputIds, 0)).toEqual([1, 5, 6, 4, 2]);
    // gene 1's median is 0 and gene 2 has none: only gene 0 is left.
    const short = tokenizeCells(canonical(5, { geneMedians: Float32Array.of(2, 0) }), [{ genes: [0, 1, 2], values: [4, 4, 1] }]);
    expect(row(short, short.inputIds, 0)).toEqual([1, 4, 2, 0, 0]);
    expect(facts(short, 0).length).toBe(1);
  });

  it("orders keys that are equal in float32 but not in float64 by their exact value", () => {
    // key(gene 1) = 1 / (1 / (1 + 2^-40)) = 1 + 2^-40 > key(gene 0) = 1, though both round to 1 in float32.
    const medians = Float64Array.of(1, 1 / (1 + 2 ** -40));
    const b = tokenizeCells(canonical(4, { geneMedians: medians }), [{ genes: [0, 1], values: [1, 1] }]);
    expect(row(b, b.inputIds, 0)).toEqual([1, 5, 4, 2]);
  });

  it("applies normalize_total then log1p to the values it reports, without changing the order", () => {
    // sum 4, target 8 → 2, 6 → log1p → ln 3, ln 7; ranked gene 1 first.
    const b = tokenizeCells(canonical(4, { normalizeTotal: 8, log1p: true }), [{ genes: [0, 1], values: [1, 3] }]);
    expect(row(b, b.inputIds, 0)).toEqual([1, 5, 4, 2]);
    expect(row(b, b.values, 0)).toEqual([0, Math.fround(Math.log1p(6)), Math.fround(Math.log1p(2)), 0]);
  });
});
