/**
 * Tokenizers for the dataloader preview (issue 10), pure and synchronous so a worker thread can run them.
 *
 *   const tok = createTokenizer({ tokenizer: "geneformer" | "scgpt", mode: "slafdb-0.5.2" | "canonical",
 *                                 maxGenes, vocabSize, nExpressionBins, normalizeTotal?, log1p?, geneMedians? });
 *   const batch = tok.tokenize(csr);   // csr: CsrBatch of whole cells (cellIds, offsets, genes, values, valueType)
 *   rawBatch(csr)                      // raw mode: COO rows, stored dtypes
 *   decodeRow(batch, row), rowGeneIds(batch, row), tok.explainCell(cellId, genes, values)
 *
 * Output (TokenizedBatch): input_ids Int32Array and attention_mask Uint8Array, [batch × seqLength] row-major
 * (seqLength = max_genes for Geneformer, max_genes + 2 for scGPT, as SLAF); values Float32Array (the value behind
 * each gene token); valueTokens Int32Array = SLAF's scGPT `values` tensor (what `--format json` prints as
 * "values"); cellIds (cell_integer_id); per-cell facts (length before truncation, truncated, SEP kept, ...).
 *
 * Tokens: PAD 0, CLS 1, SEP 2, MASK 3, gene = gene_integer_id + 4.
 *
 * slafdb-0.5.2 reproduces SLAF 0.5.2 (SLAFDataLoader path, notes §4 and the addendum): dense descending rank
 * filter ≤ max_genes (nearly a no-op on counts), genes in storage order, Geneformer rows [CLS, genes, SEP] cut to
 * max_genes (SEP lost when the cell has more than max_genes − 2 genes), scGPT rows [CLS, ≤ max_genes genes, SEP];
 * scGPT value tokens = vocab_size + raw count for integer columns, vocab_size + float32 bin (PAD for ≤ 0) for
 * float columns; genes beyond vocab_size kept (their tokens reach ≥ vocab_size, as in SLAF).
 *
 * canonical: genes beyond vocab_size and non-positive values dropped; optional normalize_total then log1p;
 * ranked by value (÷ per-gene median for Geneformer when medians are given) descending, ties by ascending gene id;
 * truncation keeps the top-ranked genes and always SEP; scGPT value token = vocab_size + per-cell bin of log1p
 * value into n_expression_bins (the cell's maximum in the top bin).
 *
 * Empty cells give [CLS, SEP]. SLAF never sees them (a cell without stored values has no rows); the prefetcher
 * decides whether to emit them. Bad input throws AppFailure INVALID_ARGUMENT naming the cell and gene.
 */
export { binOf, decodeRow, geneIdOf, rowGeneIds, specialName, type DecodedToken } from "./decode";
export { csrFromCells, type CellArrays } from "./csr";
export { rawBatch, type RawBatch } from "./raw";
export { createTokenizer, type CellSequence, type Tokenizer } from "./tokenizer";
export { log1pBin, slafdbFloatBin } from "./binning";
export * from "./tokens";
