/** Reading a tokenized row back: special-token names, gene ids, values and bins (the preview maps ids to symbols). */
import { GENE_OFFSET, invalid, PAD, SPECIAL_NAMES, type SpecialName, type TokenizedBatch } from "./tokens";

export interface DecodedToken {
  position: number;
  token: number;
  /** PAD, CLS, SEP or MASK; null for a gene. */
  special: SpecialName | null;
  geneId: number | null;
  /** Token ≥ vocab_size: SLAF keeps such genes in slafdb-0.5.2 mode (and they overlap value tokens there). */
  outOfVocab: boolean;
  attended: boolean;
  value: number;
  /** scGPT: the value token, and its bin (value token − vocab_size; the raw count in slafdb-0.5.2 integer data); null when PAD. */
  valueToken: number | null;
  bin: number | null;
}

export function specialName(token: number): SpecialName | null {
  return token >= 0 && token < GENE_OFFSET ? SPECIAL_NAMES[token] : null;
}

/** A gene token's gene_integer_id, or null for a special token. */
export function geneIdOf(token: number): number | null {
  return token >= GENE_OFFSET ? token - GENE_OFFSET : null;
}

/** The bin behind a scGPT value token, or null for PAD. */
export function binOf(valueToken: number, vocabSize: number): number | null {
  return valueToken === PAD ? null : valueToken - vocabSize;
}

function checkRow(batch: TokenizedBatch, row: number): number {
  if (!Number.isInteger(row) || row < 0 || row >= batch.batchSize) throw invalid(`Row ${row} is outside the batch of ${batch.batchSize} cells`);
  return row * batch.seqLength;
}

/** The gene ids of a row in token order (special tokens and padding skipped). */
export function rowGeneIds(batch: TokenizedBatch, row: number): Int32Array {
  const base = checkRow(batch, row);
  const out = new Int32Array(batch.facts.nKept[row]);
  let n = 0;
  for (let p = 0; p < batch.seqLength; p++) {
    const t = batch.inputIds[base + p];
    if (t >= GENE_OFFSET) out[n++] = t - GENE_OFFSET;
  }
  return n === out.length ? out : out.slice(0, n);
}

/** Every position of a row, decoded (allocates one object per token: for display, not for training loops). */
export function decodeRow(batch: TokenizedBatch, row: number): DecodedToken[] {
  const base = checkRow(batch, row);
  const out: DecodedToken[] = [];
  for (let p = 0; p < batch.seqLength; p++) {
    const token = batch.inputIds[base + p];
    const valueToken = batch.valueTokens ? batch.valueTokens[base + p] : null;
    const geneId = geneIdOf(token);
    out.push({
      position: p,
      token,
      special: specialName(token),
      geneId,
      outOfVocab: token >= batch.vocabSize,
      attended: batch.attentionMask[base + p] === 1,
      value: batch.values[base + p],
      valueToken: valueToken === null || valueToken === PAD ? null : valueToken,
      bin: valueToken === null ? null : binOf(valueToken, batch.vocabSize),
    });
  }
  return out;
}
