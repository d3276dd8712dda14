/** Geneformer and scGPT row layouts over a CellSequencer: a CSR batch in, padded typed arrays out. */
import { log1pBin, slafdbFloatBin } from "./binning";
import { CellSequencer } from "./sequence";
import {
  CLS,
  GENE_OFFSET,
  invalid,
  PAD,
  SEP,
  sequenceLength,
  validateBatch,
  validateOptions,
  type CsrBatch,
  type TokenizedBatch,
  type TokenizerOptions,
} from "./tokens";

export interface CellSequence {
  /** The whole sequence before truncation, in row order (slafdb-0.5.2: storage order; canonical: rank order). */
  genes: Int32Array;
  values: Float64Array;
  /** How many of them fit in the row; the rest were cut. */
  kept: number;
  sepKept: boolean;
  nOutOfVocab: number;
}

export interface Tokenizer {
  readonly options: Readonly<TokenizerOptions>;
  readonly seqLength: number;
  tokenize(batch: CsrBatch): TokenizedBatch;
  /** One cell's full sequence and where truncation cut it (for the preview; allocates). */
  explainCell(cellId: number, genes: CsrBatch["genes"], values: CsrBatch["values"]): CellSequence;
}

export function createTokenizer(options: TokenizerOptions): Tokenizer {
  const o = { ...validateOptions(options) };
  const seq = new CellSequencer(o);
  const L = sequenceLength(o);
  const canonical = o.mode === "canonical";
  const scgpt = o.tokenizer === "scgpt";

  // SLAF 0.5.2's Geneformer cuts [CLS, genes…, SEP] to max_genes, so SEP goes first; canonical keeps SEP and cuts genes.
  const geneRoom = scgpt ? o.maxGenes : canonical ? o.maxGenes - 2 : o.maxGenes - 1;
  const keepsSep = (len: number): boolean => scgpt || canonical || len <= o.maxGenes - 2;

  function tokenize(batch: CsrBatch): TokenizedBatch {
    const valueType = validateBatch(batch);
    const B = batch.cellIds.length;
    const inputIds = new Int32Array(B * L);
    const attentionMask = new Uint8Array(B * L);
    const values = new Float32Array(B * L);
    const valueTokens = scgpt ? new Int32Array(B * L) : null;
    const facts = {
      nGenes: new Int32Array(B),
      nOutOfVocab: new Int32Array(B),
      length: new Int32Array(B),
      nKept: new Int32Array(B),
      truncated: new Uint8Array(B),
      sepKept: new Uint8Array(B),
    };
    const { vocabSize, nExpressionBins: nBins } = o;
    const integerCounts = valueType === "integer";
    for (let i = 0; i < B; i++) {
      const cellId = batch.cellIds[i];
      const start = batch.offsets[i];
      const end = batch.offsets[i + 1];
      const len = seq.build(cellId, batch.genes, batch.values, start, end);
      const kept = Math.min(len, geneRoom);
      const sep = keepsSep(len);
      const row = i * L;
      inputIds[row] = CLS;
      const sg = seq.genes;
      const sv = seq.values;
      for (let k = 0; k < kept; k++) {
        inputIds[row + 1 + k] = sg[k] + GENE_OFFSET;
        values[row + 1 + k] = sv[k];
      }
      if (valueTokens) {
        if (canonical) {
          // Ranked descending, so the cell's maximum is first; with log1p preprocessing the window skips its own.
          const maxLv = len > 0 ? (o.log1p ? sv[0] : Math.log1p(sv[0])) : 0;
          // Equal values sit together in rank order (scGPT ranks by value): one log1p per run of them.
          let last = NaN;
          let token = PAD;
          for (let k = 0; k < kept; k++) {
            const v = sv[k];
            if (v !== last) {
              last = v;
              token = vocabSize + log1pBin(o.log1p ? v : Math.log1p(v), maxLv, nBins);
            }
            valueTokens[row + 1 + k] = token;
          }
        } else if (integerCounts) {
          for (let k = 0; k < kept; k++) {
            if (!Number.isInteger(sv[k])) throw invalid(`Cell ${cellId} has value ${sv[k]} for gene_integer_id ${sg[k]} in an integer value column`);
            valueTokens[row + 1 + k] = vocabSize + sv[k];
          }
        } else {
          for (let k = 0; k < kept; k++) {
            const bin = slafdbFloatBin(sv[k], nBins);
            valueTokens[row + 1 + k] = bin < 0 ? PAD : vocabSize + bin;
          }
        }
      }
      const used = 1 + kept + (sep ? 1 : 0);
      if (sep) inputIds[row + 1 + kept] = SEP;
      attentionMask.fill(1, row, row + used);
      facts.nGenes[i] = end - start;
      facts.nOutOfVocab[i] = seq.nOutOfVocab;
      facts.length[i] = len;
      facts.nKept[i] = kept;
      facts.truncated[i] = kept < len ? 1 : 0;
      facts.sepKept[i] = sep ? 1 : 0;
    }
    return {
      tokenizer: o.tokenizer,
      mode: o.mode,
      batchSize: B,
      seqLength: L,
      vocabSize,
      nExpressionBins: nBins,
      cellIds: Uint32Array.from(batch.cellIds),
      inputIds,
      attentionMask,
      values,
      valueTokens,
      facts,
    };
  }

  function explainCell(cellId: number, genes: CsrBatch["genes"], values: CsrBatch["values"]): CellSequence {
    if (genes.length !== values.length) throw invalid(`Cell ${cellId} has ${genes.length} genes but ${values.length} values`);
    const len = seq.build(cellId, genes, values, 0, genes.length);
    return {
      genes: seq.genes.slice(0, len),
      values: seq.values.slice(0, len),
      kept: Math.min(len, geneRoom),
      sepKept: keepsSep(len),
      nOutOfVocab: seq.nOutOfVocab,
    };
  }

  return { options: o, seqLength: L, tokenize, explainCell };
}
