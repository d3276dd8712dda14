/** One batch as JSON and .npz: the documents parse back, independently, to the tokenizer's arrays. */
import { crc32 as zlibCrc32 } from "node:zlib";
import { describe, expect, it } from "vitest";
import { createTokenizer, csrFromCells, rawBatch, type TokenizedBatch } from "../../../main/services/loader";
import { batchJson, batchNpz } from "../../../main/services/loader/export-batch";
import { crc32, npyBytes } from "../../../main/services/loader/npz";
import { readNpz } from "./npz-reader";

const cells = [
  { cellId: 7, genes: [0, 3, 5, 9], values: [2, 1, 7, 3] },
  { cellId: 2, genes: [1, 2], values: [4, 4] },
  { cellId: 40_000, genes: [4, 6, 7, 8, 10, 11], values: [1, 2, 3, 4, 5, 6] },
];

function tokenized(tokenizer: "geneformer" | "scgpt"): TokenizedBatch {
  const tok = createTokenizer({ tokenizer, mode: "slafdb-0.5.2", maxGenes: 5, vocabSize: 60_000, nExpressionBins: 10 });
  return tok.tokenize(csrFromCells(cells, "integer"));
}

function matrix(a: ArrayLike<number>, n: number, len: number): number[][] {
  return Array.from({ length: n }, (_, r) => Array.from(a as ArrayLike<number>).slice(r * len, (r + 1) * len));
}

describe("JSON", () => {
  it("Geneformer: cell_ids, input_ids and a boolean attention_mask, no values", () => {
    const t = tokenized("geneformer");
    const doc = JSON.parse(batchJson({ tokens: t }));
    expect(Object.keys(doc)).toEqual(["cell_ids", "input_ids", "attention_mask"]);
    expect(doc.cell_ids).toEqual([7, 2, 40_000]);
    expect(doc.input_ids).toEqual(matrix(t.inputIds, 3, 5));
    expect(doc.input_ids[1]).toEqual([1, 5, 6, 2, 0]);
    expect(doc.attention_mask[1]).toEqual([true, true, true, true, false]);
  });

  it("scGPT: values are SLAF's value tokens", () => {
    const t = tokenized("scgpt");
    const doc = JSON.parse(batchJson({ tokens: t }));
    expect(Object.keys(doc)).toEqual(["cell_ids", "input_ids", "attention_mask", "values"]);
    expect(doc.values).toEqual(matrix(t.valueTokens!, 3, 7));
    // Integer counts in slafdb-0.5.2 mode: vocab_size + count at the gene positions, PAD at CLS and SEP.
    expect(doc.values[0]).toEqual([0, 60_002, 60_001, 60_007, 60_003, 0, 0]);
  });

  it("raw: cell_ids and the COO rows of x; float32 values print as the shortest decimal that reads back", () => {
    const csr = csrFromCells(
      [
        { cellId: 3, genes: [1, 4], values: [0.1, 2.5] },
        { cellId: 0, genes: [2], values: [1 / 3] },
      ],
      "float",
    );
    const doc = JSON.parse(batchJson({ raw: rawBatch(csr) }));
    expect(doc).toEqual({ cell_ids: [3, 0], x: { cell_integer_id: [3, 3, 0], gene_integer_id: [1, 4, 2], value: [0.1, 2.5, 0.33333334] } });
    expect(Math.fround(doc.x.value[2])).toBe(Math.fround(1 / 3));
  });
});

describe("NPZ", () => {
  it("our CRC-32 is zlib's", () => {
    for (const text of ["", "a", "123456789", "x".repeat(10_000)]) {
      const bytes = new TextEncoder().encode(text);
      expect(crc32(bytes)).toBe(zlibCrc32(bytes) >>> 0);
    }
    expect(crc32(new TextEncoder().encode("123456789"))).toBe(0xcbf43926);
  });

  it("NPY headers are padded so data starts on a 64-byte boundary and end in a newline", () => {
    for (const shape of [[3], [32, 2048], [0], [1, 1]]) {
      const bytes = npyBytes({ name: "a", dtype: "<i8", shape, data: new Int32Array(shape.reduce((a, b) => a * b, 1)) });
      const headerLen = new DataView(bytes.buffer).getUint16(8, true);
      expect((10 + headerLen) % 64).toBe(0);
      expect(bytes[10 + headerLen - 1]).toBe(0x0a);
    }
  });

  it("tokenized scGPT: int64 ids and values, bool mask, [batch, seq_len], equal to the batch", () => {
    const t = tokenized("scgpt");
    const arrays = readNpz(batchNpz({ tokens: t }));
    expect([...arrays.keys()]).toEqual(["cell_ids", "input_ids", "attention_mask", "values"]);
    expect(arrays.get("cell_ids")).toEqual({ dtype: "<i8", fortranOrder: false, shape: [3], values: [7, 2, 40_000] });
    expect(arrays.get("input_ids")).toEqual({ dtype: "<i8", fortranOrder: false, shape: [3, 7], values: Array.from(t.inputIds) });
    expect(arrays.get("values")?.values).toEqual(Array.from(t.valueTokens!));
    expect(arrays.get("attention_mask")).toEqual({ dtype: "|b1", fortranOrder: false, shape: [3, 7], values: Array.from(t.attentionMask, (m) => m === 1) });
  });

  it("raw: COO columns with the stored dtype", () => {
    const csr = csrFromCells(
      [
        { cellId: 5, genes: [0, 9], values: [3, 65_535] },
        { cellId: 1, genes: [4], values: [1] },
      ],
      "integer",
    );
    const raw = rawBatch({ ...csr, values: Uint16Array.from(csr.values) });
    const arrays = readNpz(batchNpz({ raw }));
    expect(arrays.get("cell_ids")?.values).toEqual([5, 1]);
    expect(arrays.get("cell_integer_id")?.values).toEqual([5, 5, 1]);
    expect(arrays.get("gene_integer_id")?.values).toEqual([0, 9, 4]);
    expect(arrays.get("value")).toEqual({ dtype: "<u2", fortranOrder: false, shape: [3], values: [3, 65_535, 1] });
  });

  it("int64 keeps negative and large values", () => {
    const arrays = readNpz(
      batchNpz({ raw: { cellIds: Uint32Array.of(4_000_000_000), rowCellIds: new Uint32Array(0), geneIds: new Int32Array(0), values: new Int32Array(0) } }),
    );
    expect(arrays.get("cell_ids")?.values).toEqual([4_000_000_000]);
    const neg = npyBytes({ name: "n", dtype: "<i8", shape: [2], data: [-1, -(2 ** 40)] });
    const dv = new DataView(neg.buffer, neg.length - 16);
    expect([dv.getBigInt64(0, true), dv.getBigInt64(8, true)]).toEqual([-1n, -(2n ** 40n)]);
  });
});
