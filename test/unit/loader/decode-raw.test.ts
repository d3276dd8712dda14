/** Decoding rows back to gene ids, raw COO passthrough, and the named errors for bad options and bad batches. */
import { describe, expect, it } from "vitest";
import { createTokenizer, csrFromCells, decodeRow, rawBatch, rowGeneIds, type CsrBatch } from "../../../main/services/loader";
import { expectInvalid, tokenizeCells } from "./helpers";

describe("decode", () => {
  it("names special tokens, maps gene tokens back to ids, and reads scGPT bins", () => {
    // canonical scGPT, vocab 100, 4 bins: genes 3 (7) and 1 (3) → bins 3 and 2 (see scgpt.test.ts).
    const b = tokenizeCells({ tokenizer: "scgpt", mode: "canonical", maxGenes: 3, nExpressionBins: 4 }, [{ genes: [1, 3], values: [3, 7] }]);
    const d = decodeRow(b, 0);
    expect(d.map((t) => t.special)).toEqual(["CLS", null, null, "SEP", "PAD"]);
    expect(d.map((t) => t.geneId)).toEqual([null, 3, 1, null, null]);
    expect(d.map((t) => t.bin)).toEqual([null, 3, 2, null, null]);
    expect(d.map((t) => t.value)).toEqual([0, 7, 3, 0, 0]);
    expect(d.map((t) => t.attended)).toEqual([true, true, true, true, false]);
  });

  it("round-trips to the gene ids of the sequence, flagging genes beyond the vocabulary", () => {
    const cells = [
      { genes: [5, 1, 9, 2], values: [1, 4, 2, 4] },
      { genes: [], values: [] },
    ];
    for (const mode of ["slafdb-0.5.2", "canonical"] as const) {
      const tok = createTokenizer({ tokenizer: "geneformer", mode, maxGenes: 5, vocabSize: 12, nExpressionBins: 10 });
      const b = tok.tokenize(
        csrFromCells(
          cells.map((c, i) => ({ cellId: 7 + i, ...c })),
          "integer",
        ),
      );
      const seq = tok.explainCell(7, Uint32Array.from(cells[0].genes), Float32Array.from(cells[0].values));
      expect(Array.from(rowGeneIds(b, 0))).toEqual(Array.from(seq.genes.subarray(0, seq.kept)));
      expect(Array.from(rowGeneIds(b, 1))).toEqual([]);
      // slafdb keeps storage order and gene 9 (token 13 ≥ 12); canonical drops 9 and ranks 1, 2 (4, tie by id), 5.
      expect(Array.from(rowGeneIds(b, 0))).toEqual(mode === "canonical" ? [1, 2, 5] : [5, 1, 9, 2]);
      expect(decodeRow(b, 0).some((t) => t.outOfVocab)).toBe(mode !== "canonical");
    }
  });

  it("refuses a row outside the batch", () => {
    const b = tokenizeCells({ tokenizer: "geneformer", mode: "canonical", maxGenes: 4 }, [{ genes: [0], values: [1] }]);
    expectInvalid(() => decodeRow(b, 1), "Row 1 is outside the batch of 1 cells");
  });
});

describe("raw mode", () => {
  it("passes whole cells through as COO rows in stored dtypes and order, offsets starting anywhere", () => {
    const batch: CsrBatch = {
      cellIds: Uint32Array.of(42, 7),
      offsets: Uint32Array.of(1, 3, 4),
      genes: Uint16Array.of(99, 5, 2, 8),
      values: Uint16Array.of(99, 3, 1, 6),
    };
    const r = rawBatch(batch);
    expect(Array.from(r.cellIds)).toEqual([42, 7]);
    expect(Array.from(r.rowCellIds)).toEqual([42, 42, 7]);
    expect(r.geneIds).toBeInstanceOf(Uint16Array);
    expect(Array.from(r.geneIds)).toEqual([5, 2, 8]);
    expect(Array.from(r.values)).toEqual([3, 1, 6]);
  });
});

describe("named errors", () => {
  const base = { tokenizer: "geneformer", mode: "canonical", maxGenes: 4, vocabSize: 100, nExpressionBins: 10 } as const;

  it("rejects options that do not exist or do not fit", () => {
    expectInvalid(() => createTokenizer({ ...base, mode: "slafdb-0.5.2", log1p: true }), "do not exist in SLAF 0.5.2");
    expectInvalid(() => createTokenizer({ ...base, maxGenes: 1 }), "max_genes must be an integer in [2,");
    expectInvalid(() => createTokenizer({ ...base, maxGenes: 0, mode: "slafdb-0.5.2" }), "max_genes must be an integer in [1,");
    expectInvalid(() => createTokenizer({ ...base, vocabSize: 4 }), "vocab_size");
    expectInvalid(() => createTokenizer({ ...base, nExpressionBins: 0 }), "n_expression_bins");
    expectInvalid(() => createTokenizer({ ...base, normalizeTotal: -1 }), "normalize_total must be a positive number");
    expectInvalid(() => createTokenizer({ ...base, tokenizer: "scgpt", geneMedians: Float32Array.of(1) }), "Geneformer tokenizer only");
    expectInvalid(() => createTokenizer({ ...base, tokenizer: "bert" as "scgpt" }), 'Unknown tokenizer "bert"');
  });

  it("rejects malformed batches and values, naming the cell and gene", () => {
    const tok = createTokenizer(base);
    const one = (genes: CsrBatch["genes"], values: CsrBatch["values"]): CsrBatch => ({
      cellIds: Uint32Array.of(5),
      offsets: Uint32Array.of(0, genes.length),
      genes,
      values,
    });
    expectInvalid(() => tok.tokenize({ ...one(Uint32Array.of(1), Float32Array.of(1)), offsets: Uint32Array.of(0) }), "offsets have 1 entries for 1 cells");
    expectInvalid(() => tok.tokenize({ ...one(Uint32Array.of(1), Float32Array.of(1)), offsets: Uint32Array.of(0, 2) }), "past the 1 stored genes");
    expectInvalid(() => tok.tokenize(one(Uint32Array.of(1, 2), Float32Array.of(1))), "2 gene_integer_id values but 1 expression values");
    expectInvalid(() => tok.tokenize(one(Int32Array.of(-3), Float32Array.of(1))), "Cell 5 has gene_integer_id -3");
    expectInvalid(() => tok.tokenize(one(Uint32Array.of(3), Float32Array.of(NaN))), "Cell 5 has a NaN value for gene_integer_id 3");
    expectInvalid(() => tok.tokenize(one(Uint32Array.of(3, 3), Float32Array.of(1, 2))), "Cell 5 lists gene_integer_id 3 twice");
    const scgpt = createTokenizer({ ...base, tokenizer: "scgpt", mode: "slafdb-0.5.2" });
    expectInvalid(
      () => scgpt.tokenize({ ...one(Uint32Array.of(3), Float32Array.of(1.5)), valueType: "integer" }),
      "Cell 5 has value 1.5 for gene_integer_id 3 in an integer value column",
    );
    expectInvalid(() => csrFromCells([{ cellId: 9, genes: [1, 2], values: [1] }], "integer"), "Cell 9 has 2 genes but 1 values");
  });
});
