/**
 * The real PBMC 3k counts through every tokenizer and mode: invariants on every row, and the rows checked against
 * plain, obviously-correct re-derivations (JS comparator sort, naive dense rank).
 */
import { describe, expect, it } from "vitest";
import { createTokenizer, csrFromCells, rowGeneIds, type CompatMode, type TokenizedBatch, type TokenizerKind } from "../../../main/services/loader";
import { loadPbmc } from "../../fixtures/pbmc";

const pbmc = loadPbmc();
const csr = csrFromCells(
  pbmc.cells.map((c, i) => ({ cellId: i, genes: c.genes, values: c.values })),
  "integer",
);

/** Canonical order: value descending, gene id ascending, genes within the vocabulary and value > 0 only. */
function canonicalOrder(genes: number[], values: number[], vocabSize: number): number[] {
  const idx = genes.map((_, k) => k).filter((k) => genes[k] + 4 < vocabSize && values[k] > 0);
  idx.sort((a, b) => values[b] - values[a] || genes[a] - genes[b]);
  return idx.map((k) => genes[k]);
}

/** SLAF 0.5.2's window: genes whose dense descending rank is ≤ maxGenes, in storage order. */
function slafdbSequence(genes: number[], values: number[], maxGenes: number): number[] {
  const distinct = [...new Set(values)].sort((a, b) => b - a);
  return genes.filter((_, k) => distinct.indexOf(values[k]) + 1 <= maxGenes);
}

function checkRows(b: TokenizedBatch, vocabSize: number, maxGenes: number): void {
  const L = b.seqLength;
  for (let i = 0; i < b.batchSize; i++) {
    const kept = b.facts.nKept[i];
    const sep = b.facts.sepKept[i] === 1;
    const used = 1 + kept + (sep ? 1 : 0);
    expect(b.inputIds[i * L]).toBe(1);
    let bad = -1;
    for (let p = 0; p < L && bad < 0; p++) {
      const t = b.inputIds[i * L + p];
      if (b.attentionMask[i * L + p] !== (t !== 0 ? 1 : 0) || (t !== 0) !== p < used || (b.mode === "canonical" && t >= vocabSize)) bad = p;
    }
    expect(bad, `row ${i}`).toBe(-1);
    if (sep) expect(b.inputIds[i * L + 1 + kept]).toBe(2);
    expect(kept).toBeLessThanOrEqual(b.tokenizer === "scgpt" ? maxGenes : maxGenes - 1);
    expect(b.facts.truncated[i]).toBe(kept < b.facts.length[i] ? 1 : 0);
  }
}

const configs: [TokenizerKind, CompatMode, number][] = [
  ["geneformer", "slafdb-0.5.2", 850],
  ["geneformer", "canonical", 850],
  ["geneformer", "slafdb-0.5.2", 8],
  ["scgpt", "slafdb-0.5.2", 850],
  ["scgpt", "canonical", 850],
];

describe("PBMC 3k, every cell", () => {
  // 160 cells, 8674 genes, 356–1946 genes per cell (median 850), at most 68 distinct counts per cell.
  // The vocabulary is smaller than the gene count, so some genes fall outside it.
  const vocabSize = 5000;
  for (const [tokenizer, mode, maxGenes] of configs) {
    it(`${tokenizer} ${mode} max_genes ${maxGenes}: masks, lengths and order`, () => {
      const tok = createTokenizer({ tokenizer, mode, maxGenes, vocabSize, nExpressionBins: 10 });
      const b = tok.tokenize(csr);
      expect(b.batchSize).toBe(pbmc.nCells);
      checkRows(b, vocabSize, maxGenes);
      let truncated = 0;
      let rankFiltered = 0;
      let outOfVocab = 0;
      for (let i = 0; i < b.batchSize; i++) {
        const { genes, values } = pbmc.cells[i];
        const expected = mode === "canonical" ? canonicalOrder(genes, values, vocabSize) : slafdbSequence(genes, values, maxGenes);
        expect(b.facts.length[i]).toBe(expected.length);
        expect(Array.from(rowGeneIds(b, i))).toEqual(expected.slice(0, b.facts.nKept[i]));
        truncated += b.facts.truncated[i];
        outOfVocab += b.facts.nOutOfVocab[i];
        if (mode === "slafdb-0.5.2" && expected.length < genes.length) rankFiltered++;
        if (mode === "canonical") expect(b.facts.sepKept[i]).toBe(1);
        else if (tokenizer === "geneformer") expect(b.facts.sepKept[i]).toBe(expected.length <= maxGenes - 2 ? 1 : 0);
        if (tokenizer === "scgpt") {
          const L = b.seqLength;
          for (let k = 0; k < b.facts.nKept[i]; k++) {
            const vt = b.valueTokens![i * L + 1 + k];
            // slafdb integer counts: vocab + raw count; canonical: vocab + bin, the cell maximum in the top bin.
            if (mode === "canonical")
              expect(vt - vocabSize).toBe(k === 0 ? 9 : Math.min(9, Math.floor((Math.log1p(b.values[i * L + 1 + k]) * 10) / Math.log1p(b.values[i * L + 1]))));
            else expect(vt).toBe(vocabSize + b.values[i * L + 1 + k]);
          }
        }
      }
      // The real data does reach the interesting cases: some cells cut, some not; genes beyond the vocabulary;
      // the dense-rank filter biting only when max_genes is below the number of distinct counts.
      expect(truncated).toBeGreaterThan(0);
      if (maxGenes > 8) expect(truncated).toBeLessThan(pbmc.nCells);
      expect(outOfVocab).toBeGreaterThan(0);
      if (mode === "slafdb-0.5.2") expect(rankFiltered > 0).toBe(maxGenes === 8);
    });
  }

  it("cells split into batches tokenize the same as one batch (scratch reuse leaks nothing)", () => {
    const tok = createTokenizer({ tokenizer: "geneformer", mode: "canonical", maxGenes: 64, vocabSize, nExpressionBins: 10 });
    const whole = tok.tokenize(csr);
    const first = tok.tokenize({ ...csr, cellIds: csr.cellIds.subarray(0, 32), offsets: csr.offsets.subarray(0, 33) });
    expect(Array.from(first.inputIds)).toEqual(Array.from(whole.inputIds.subarray(0, 32 * 64)));
  });
});
