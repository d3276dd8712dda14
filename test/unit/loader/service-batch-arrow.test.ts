/** Batch Arrow columns and stats built from typed arrays, decoded back with Arrow and checked by hand. */
import { describe, expect, it } from "vitest";
import { arrow } from "../../../main/services/arrow";
import { createTokenizer, csrFromCells, rawBatch } from "../../../main/services/loader";
import { batchGeneIds, genesArrow, textColumn, tokensArrow } from "../../../main/services/loader/batch-arrow";
import { batchStats, TOP_TOKENS } from "../../../main/services/loader/batch-stats";
import { GeneSymbols } from "../../../main/services/loader/gene-symbols";
import { LabelColumn } from "../../../main/services/loader/labels";
import type { PrefetchBatch } from "../../../main/services/loader/prefetch/types";
import { rows, table, values } from "./service-helpers";

const symbols = new GeneSymbols(["CD3D", null, "MS4A1", "Ünïcødé-1", "LYZ"], "gene_id");

function prefetchBatch(cells: { cellId: number; genes: number[]; values: number[] }[], maxGenes: number, vocabSize = 100): PrefetchBatch {
  const csr = csrFromCells(cells, "integer");
  const tokens = createTokenizer({ tokenizer: "geneformer", mode: "slafdb-0.5.2", maxGenes, vocabSize, nExpressionBins: 10 }).tokenize(csr);
  return {
    index: 0,
    epoch: 0,
    indexInEpoch: 0,
    lastInEpoch: false,
    cellIds: tokens.cellIds,
    fragments: Int32Array.from(cells, (_, i) => i % 2),
    tokens,
    raw: null,
    csr,
    bytes: 0,
  };
}

describe("columns", () => {
  it("Utf8 from strings keeps nulls, empty strings and multi-byte characters", () => {
    const input = ["a", null, "", "Ünïcødé ✓", null, "z".repeat(300)];
    const t = table(arrow.tableToIPC(new arrow.Table({ s: textColumn(input) } as never), "stream"));
    expect(values(t, "s")).toEqual(input);
  });

  it("gene names fall back to gene_<id> where the table has none", () => {
    expect([0, 1, 3, 9].map((g) => symbols.name(g))).toEqual(["CD3D", "gene_1", "Ünïcødé-1", "gene_9"]);
  });

  it("a tokenized batch: rows, facts, labels, NaN values on special tokens, genes table", () => {
    const labels = new LabelColumn("cell_type", Uint16Array.of(0, 1, 2), [null, "T", "B"]);
    const b = prefetchBatch(
      [
        { cellId: 2, genes: [0, 3, 4], values: [5, 1, 2] },
        { cellId: 0, genes: [4], values: [7] },
      ],
      4,
    );
    const t = table(tokensArrow(b.tokens!, b.fragments, labels));
    expect(values(t, "cell_integer_id")).toEqual([2, 0]);
    expect(values(t, "label")).toEqual(["B", null]);
    expect(values(t, "n_genes")).toEqual([3, 1]);
    // Three genes fill the row (max_genes − 1): none cut, but SLAF 0.5.2 loses SEP.
    expect(values(t, "truncated")).toEqual([false, false]);
    expect(values(t, "sep_kept")).toEqual([false, true]);
    expect(values(t, "fragment")).toEqual([0, 1]);
    expect(rows(t, "input_ids")).toEqual([
      [1, 4, 7, 8],
      [1, 8, 2, 0],
    ]);
    expect(rows(t, "attention_mask")).toEqual([
      [1, 1, 1, 1],
      [1, 1, 1, 0],
    ]);
    const v = rows(t, "values");
    expect(v[0].map((x) => (Number.isNaN(x) ? "NaN" : x))).toEqual(["NaN", 5, 1, 2]);
    expect(v[1].map((x) => (Number.isNaN(x) ? "NaN" : x))).toEqual(["NaN", 7, "NaN", "NaN"]);
    expect(Array.from(batchGeneIds(b))).toEqual([0, 3, 4]);
    const g = table(genesArrow(batchGeneIds(b), symbols));
    expect(values(g, "gene_integer_id")).toEqual([0, 3, 4]);
    expect(values(g, "symbol")).toEqual(["CD3D", "Ünïcødé-1", "LYZ"]);
  });
});

describe("stats", () => {
  it("counts tokens, truncation, SEP, vocabulary, composition and fragments", () => {
    const labels = new LabelColumn("donor", Uint16Array.of(1, 2, 1, 0), [null, "d1", "d2"]);
    const b = prefetchBatch(
      [
        { cellId: 0, genes: [0, 1, 2, 3, 4, 5], values: [1, 1, 1, 1, 1, 1] },
        { cellId: 1, genes: [1, 4], values: [3, 2] },
        { cellId: 2, genes: [4, 98], values: [1, 1] },
        { cellId: 3, genes: [], values: [] },
      ],
      5,
      100,
    );
    const s = batchStats(b, { vocabSize: 100, nFragments: 3, symbols, labels }, { withinL1: 1.5, acrossL1: null });
    // Rows: [CLS 4 5 6 7] (SEP lost), [CLS 5 8 SEP PAD], [CLS 8 102 SEP PAD], [CLS SEP PAD PAD PAD].
    expect(s).toMatchObject({ cells: 4, tokens: 5 + 4 + 4 + 2, lengths: [6, 2, 2, 0], truncated: 1, sepLost: 1, distinctGenes: 6, outOfVocab: 1 });
    expect(s.topTokens.slice(0, 2)).toEqual([
      { token: 5, geneId: 1, name: "gene_1", count: 2 },
      { token: 8, geneId: 4, name: "LYZ", count: 2 },
    ]);
    expect(s.topTokens.map((t) => t.token)).toEqual([5, 8, 4, 6, 7, 102]);
    expect(s.composition).toEqual({
      column: "donor",
      counts: [
        { value: "d1", cells: 2 },
        { value: "(none)", cells: 1 },
        { value: "d2", cells: 1 },
      ],
    });
    expect(s.fragments).toEqual([2, 2, 0]);
    expect(s).toMatchObject({ withinL1: 1.5, acrossL1: null });
  });

  it("the top list keeps the most frequent tokens, ties by token", () => {
    const cells = Array.from({ length: 40 }, (_, c) => ({
      cellId: c,
      genes: Array.from({ length: c + 1 }, (_, g) => g),
      values: Array.from({ length: c + 1 }, () => 1),
    }));
    const b = prefetchBatch(cells, 64, 1000);
    const s = batchStats(b, { vocabSize: 1000, nFragments: 2, symbols, labels: null }, { withinL1: 0, acrossL1: null });
    expect(s.topTokens).toHaveLength(TOP_TOKENS);
    // Gene g appears in cells g … 39: 40 − g times.
    expect(s.topTokens.map((t) => [t.geneId, t.count])).toEqual(Array.from({ length: TOP_TOKENS }, (_, g) => [g, 40 - g]));
    expect(s.distinctGenes).toBe(40);
    expect(s.composition).toBeNull();
  });

  it("raw batches: lengths per cell from the rows, genes counted per cell", () => {
    const csr = csrFromCells(
      [
        { cellId: 5, genes: [0, 2], values: [1, 1] },
        { cellId: 6, genes: [], values: [] },
        { cellId: 7, genes: [2], values: [4] },
      ],
      "integer",
    );
    const raw = rawBatch(csr);
    const base = { index: 0, epoch: 0, indexInEpoch: 0, lastInEpoch: false, cellIds: raw.cellIds, fragments: new Int32Array(3), tokens: null, raw, bytes: 0 };
    for (const withCsr of [csr, null]) {
      const s = batchStats({ ...base, csr: withCsr }, { vocabSize: 100, nFragments: 1, symbols, labels: null }, { withinL1: 0, acrossL1: null });
      expect(s).toMatchObject({ cells: 3, tokens: 3, lengths: [2, 0, 1], truncated: 0, sepLost: 0, distinctGenes: 2 });
      expect(s.topTokens.map((t) => [t.name, t.count])).toEqual([
        ["MS4A1", 2],
        ["CD3D", 1],
      ]);
    }
  });
});
