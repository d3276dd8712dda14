/**
 * Canonical ranking against a plain reference on many random cells: the tokenizer's radix sort must give exactly
 * what "filter, then sort by key descending, ties by gene id" gives, whatever the value kind, the ties, the genes'
 * arrival order and the preprocessing.
 */
import { describe, expect, it } from "vitest";
import { createTokenizer, type CsrBatch, type GeneIds, type StoredValues, type TokenizerOptions } from "../../../main/services/loader";
import { expectInvalid } from "./helpers";

/** mulberry32: a small seeded generator, so a failure replays. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

type ValueKind = "small counts" | "wide counts" | "huge counts" | "float ties" | "float" | "signed";

interface Cell {
  genes: number[];
  values: number[];
}

function randomCell(next: () => number, kind: ValueKind, nGenes: number, ascending: boolean): Cell {
  const n = Math.floor(next() ** 2 * Math.min(nGenes, 2500));
  const pool = new Set<number>();
  while (pool.size < n) pool.add(Math.floor(next() * nGenes));
  const genes = [...pool];
  if (ascending) genes.sort((a, b) => a - b);
  const values = genes.map(() => {
    const u = next();
    switch (kind) {
      case "small counts":
        return 1 + Math.floor(u * 4); // many ties
      case "wide counts":
        return 1 + Math.floor(u ** 4 * 70_000); // past one and two radix bytes
      case "huge counts":
        return Math.floor(u * 2 ** 24 - 1) + 1; // up to the last whole number float32 holds exactly
      case "float ties":
        return [0.25, 0.5, 1.5, 3e-7, 1e30][Math.floor(u * 5)];
      case "float":
        return Math.fround(u < 0.1 ? 0 : u * 10 ** Math.floor(next() * 8 - 4));
      case "signed":
        return Math.floor(u * 11) - 3; // zeros and negatives, dropped
    }
  });
  return { genes, values };
}

/** What canonical mode means, written the obvious way (float64 keys). */
function reference(cell: Cell, o: TokenizerOptions): { genes: number[]; values: number[] } {
  const sum = cell.values.reduce((a, b) => a + b, 0);
  const scale = o.normalizeTotal !== undefined ? (sum > 0 ? o.normalizeTotal / sum : 0) : 1;
  const kept: { g: number; x: number; key: number }[] = [];
  cell.genes.forEach((g, k) => {
    const v = cell.values[k];
    if (g + 4 >= o.vocabSize || !(v > 0)) return;
    let x = v * scale;
    if (o.log1p) x = Math.log1p(x);
    if (!(x > 0)) return;
    const med = o.geneMedians ? (o.geneMedians[g] ?? 0) : 1;
    if (!(med > 0)) return;
    kept.push({ g, x, key: o.geneMedians ? x / med : x });
  });
  kept.sort((a, b) => b.key - a.key || a.g - b.g);
  return { genes: kept.map((e) => e.g), values: kept.map((e) => e.x) };
}

function csrOf(cells: Cell[], genes: new (n: number) => GeneIds, values: new (n: number) => StoredValues): CsrBatch {
  const offsets = new Uint32Array(cells.length + 1);
  cells.forEach((c, i) => (offsets[i + 1] = offsets[i] + c.genes.length));
  const g = new genes(offsets[cells.length]);
  const v = new values(offsets[cells.length]);
  cells.forEach((c, i) => {
    g.set(c.genes, offsets[i]);
    v.set(c.values, offsets[i]);
  });
  return { cellIds: Uint32Array.from(cells, (_, i) => i), offsets, genes: g, values: v };
}

const N_GENES = 70_000; // past 2^16: gene ids take three radix bytes
const medians = (() => {
  const next = rng(7);
  // Few distinct medians (ties of value / median), some zero (those genes are dropped), some missing (past the end).
  return Float64Array.from({ length: N_GENES - 5000 }, () => [0, 0.5, 1, 3, 1 / 3, 7.25][Math.floor(next() * 6)]);
})();

const preprocessing: [string, Partial<TokenizerOptions>][] = [
  ["stored values", {}],
  ["normalize_total", { normalizeTotal: 10_000 }],
  ["log1p", { log1p: true }],
  ["normalize_total + log1p", { normalizeTotal: 1e4, log1p: true }],
  ["medians", { geneMedians: medians }],
  ["normalize_total + log1p + medians", { normalizeTotal: 1e4, log1p: true, geneMedians: medians }],
];

const kinds: [ValueKind, new (n: number) => StoredValues][] = [
  ["small counts", Uint16Array],
  ["wide counts", Uint32Array],
  ["huge counts", Uint32Array],
  ["float ties", Float32Array],
  ["float", Float32Array],
  ["signed", Int32Array],
];

describe("canonical ranking = filter + sort by key descending, ties by gene id (random cells)", () => {
  for (const [name, extra] of preprocessing) {
    it(name, () => {
      let checked = 0;
      let truncated = 0;
      for (const [kind, ValuesArray] of kinds) {
        for (const ascending of [true, false]) {
          const next = rng(checked + 1);
          const cells = Array.from({ length: 24 }, () => randomCell(next, kind, N_GENES, ascending));
          cells.push({ genes: [], values: [] }, { genes: [5], values: [2] });
          const o: TokenizerOptions = { tokenizer: "geneformer", mode: "canonical", maxGenes: 600, vocabSize: 60_000, nExpressionBins: 10, ...extra };
          const tok = createTokenizer(o);
          const csr = csrOf(cells, ascending ? Uint32Array : Int32Array, ValuesArray);
          const batch = tok.tokenize(csr);
          const L = batch.seqLength;
          cells.forEach((cell, i) => {
            const stored = csr.values.subarray(csr.offsets[i], csr.offsets[i + 1]);
            const want = reference({ genes: cell.genes, values: Array.from(stored) }, o);
            const seq = tok.explainCell(i, csr.genes.subarray(csr.offsets[i], csr.offsets[i + 1]), stored);
            expect(Array.from(seq.genes), `${kind}, ${ascending ? "ascending" : "shuffled"} genes, cell ${i}`).toEqual(want.genes);
            expect(Array.from(seq.values)).toEqual(want.values);
            const kept = Math.min(want.genes.length, 598);
            const rowIds = Array.from(batch.inputIds.subarray(i * L, i * L + kept + 2));
            expect(rowIds).toEqual([1, ...want.genes.slice(0, kept).map((g) => g + 4), 2]);
            expect(batch.facts.length[i]).toBe(want.genes.length);
            if (kept < want.genes.length) truncated++;
            checked++;
          });
        }
      }
      expect(checked).toBe(6 * 2 * 26);
      expect(truncated).toBeGreaterThan(0);
    });
  }

  it("ties are common in the data above, so the tie-break is exercised", () => {
    const next = rng(99);
    const cell = randomCell(next, "small counts", N_GENES, false);
    expect(new Set(cell.values).size).toBeLessThanOrEqual(4);
    expect(cell.genes.length).toBeGreaterThan(4);
  });

  it("a gene listed twice is still refused when genes arrive out of order, naming the second listing", () => {
    const tok = createTokenizer({ tokenizer: "geneformer", mode: "canonical", maxGenes: 8, vocabSize: 100, nExpressionBins: 10 });
    const one = (genes: number[]) => ({
      cellIds: Uint32Array.of(9),
      offsets: Uint32Array.of(0, genes.length),
      genes: Uint32Array.from(genes),
      values: Float32Array.from(genes, () => 1),
    });
    expectInvalid(() => tok.tokenize(one([1, 5, 3, 9, 5])), "Cell 9 lists gene_integer_id 5 twice");
    expectInvalid(() => tok.tokenize(one([1, 5, 5])), "Cell 9 lists gene_integer_id 5 twice");
    expectInvalid(() => tok.tokenize(one([4, 2, 7, 2])), "Cell 9 lists gene_integer_id 2 twice");
    // The same gene in the next cell is fine.
    expect(
      tok.tokenize({ cellIds: Uint32Array.of(1, 2), offsets: Uint32Array.of(0, 2, 4), genes: Uint32Array.of(3, 1, 1, 3), values: Float32Array.of(1, 2, 3, 4) })
        .facts.length,
    ).toEqual(Int32Array.of(2, 2));
  });
});
