/** Special tokens, the gene-token rule, and the option and batch shapes shared by every tokenizer. */
import { AppFailure } from "../../../shared/result";

/** SLAF's `special_tokens`; a gene's token is its gene_integer_id + GENE_OFFSET (no lookup table). */
export const PAD = 0;
export const CLS = 1;
export const SEP = 2;
export const MASK = 3;
export const GENE_OFFSET = 4;
export const SPECIAL_NAMES = ["PAD", "CLS", "SEP", "MASK"] as const;
export type SpecialName = (typeof SPECIAL_NAMES)[number];

/** Canonical mode keeps a per-gene array (duplicate checks) and radix-sorts gene ids in 3 bytes: ids stay below 2^21. */
export const CANONICAL_GENE_LIMIT = 2 ** 21;
const MAX_SEQUENCE = 1 << 20;

export type TokenizerKind = "geneformer" | "scgpt";
export type CompatMode = "slafdb-0.5.2" | "canonical";

export interface TokenizerOptions {
  tokenizer: TokenizerKind;
  mode: CompatMode;
  /** SLAF defaults: 2048 (Geneformer), 1024 (scGPT). */
  maxGenes: number;
  /** SLAF default 50000. Value tokens start here (scGPT); canonical mode drops genes whose token would reach it. */
  vocabSize: number;
  /** scGPT only; SLAF default 10. */
  nExpressionBins: number;
  /** Canonical only: scale each cell to this total before ranking (SLAF PR #57, not in 0.5.2). */
  normalizeTotal?: number;
  /** Canonical only: log1p after normalize_total (scGPT then skips its own log1p, as in PR #57). */
  log1p?: boolean;
  /** Canonical Geneformer only: per-gene nonzero medians indexed by gene_integer_id; genes without a positive median are dropped. */
  geneMedians?: Float32Array | Float64Array;
}

export type GeneIds = Uint16Array | Uint32Array | Int32Array;
export type StoredValues = Float32Array | Uint16Array | Uint32Array | Int32Array;

/**
 * Whole cells in CSR form, as an expression scan delivers them: cell i owns genes/values [offsets[i], offsets[i+1])
 * in storage order. `valueType` is the stored column's kind (uint16 counts are "integer", float32 is "float" even
 * when every value is integral); it defaults from the values array's type. SLAF 0.5.2's scGPT branches on it.
 */
export interface CsrBatch {
  cellIds: Uint32Array | Int32Array;
  offsets: Uint32Array | Int32Array;
  genes: GeneIds;
  values: StoredValues;
  valueType?: "integer" | "float";
}

/** Per cell, what the tokenizer did (all arrays have one entry per cell, in batch order). */
export interface CellFacts {
  /** Genes the cell arrived with. */
  nGenes: Int32Array;
  /** Genes whose token (id + 4) is ≥ vocab_size: kept in slafdb-0.5.2 mode (as SLAF does), dropped in canonical. */
  nOutOfVocab: Int32Array;
  /** Genes in the sequence before max_genes truncation (after the dense-rank filter, or the canonical filters). */
  length: Int32Array;
  /** Genes actually in the row. */
  nKept: Int32Array;
  truncated: Uint8Array;
  sepKept: Uint8Array;
}

/** A tokenized batch, row-major [batchSize × seqLength]. */
export interface TokenizedBatch {
  tokenizer: TokenizerKind;
  mode: CompatMode;
  batchSize: number;
  /** Geneformer: max_genes; scGPT: max_genes + 2. */
  seqLength: number;
  vocabSize: number;
  nExpressionBins: number;
  cellIds: Uint32Array;
  inputIds: Int32Array;
  /** 1 where input_ids != PAD (SLAF's definition). */
  attentionMask: Uint8Array;
  /** The value behind each gene token (stored, or after normalize_total/log1p); 0 at special tokens and padding. */
  values: Float32Array;
  /** scGPT only: SLAF's `values` tensor, i.e. vocab_size + bin (or + raw count in slafdb-0.5.2 integer data), PAD elsewhere. */
  valueTokens: Int32Array | null;
  facts: CellFacts;
}

export function invalid(message: string): AppFailure {
  return new AppFailure("INVALID_ARGUMENT", message);
}

function checkInt(name: string, v: unknown, min: number, max: number): void {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max)
    throw invalid(`Tokenizer option ${name} must be an integer in [${min}, ${max}], got ${String(v)}`);
}

/** Throws INVALID_ARGUMENT naming the option at fault; returns the options unchanged. */
export function validateOptions(o: TokenizerOptions): TokenizerOptions {
  if (o.tokenizer !== "geneformer" && o.tokenizer !== "scgpt") throw invalid(`Unknown tokenizer "${String(o.tokenizer)}" (geneformer or scgpt)`);
  if (o.mode !== "slafdb-0.5.2" && o.mode !== "canonical") throw invalid(`Unknown compatibility mode "${String(o.mode)}" (slafdb-0.5.2 or canonical)`);
  // Canonical Geneformer always keeps CLS and SEP, so it needs room for both.
  checkInt("max_genes", o.maxGenes, o.mode === "canonical" && o.tokenizer === "geneformer" ? 2 : 1, MAX_SEQUENCE);
  checkInt("vocab_size", o.vocabSize, GENE_OFFSET + 1, 2 ** 31 - 2 ** 17);
  checkInt("n_expression_bins", o.nExpressionBins, 1, 2 ** 16);
  if (o.mode === "slafdb-0.5.2" && (o.normalizeTotal !== undefined || o.log1p || o.geneMedians)) {
    throw invalid("normalize_total, log1p and gene medians do not exist in SLAF 0.5.2 (the preprocessor came in PR #57): use canonical mode");
  }
  if (o.normalizeTotal !== undefined && !(o.normalizeTotal > 0 && Number.isFinite(o.normalizeTotal))) {
    throw invalid(`Tokenizer option normalize_total must be a positive number, got ${String(o.normalizeTotal)}`);
  }
  if (o.geneMedians && o.tokenizer !== "geneformer") throw invalid("Gene medians apply to the Geneformer tokenizer only");
  return o;
}

/** Sequence length of a row: SLAF pads Geneformer to max_genes and scGPT to max_genes + 2. */
export function sequenceLength(o: Pick<TokenizerOptions, "tokenizer" | "maxGenes">): number {
  return o.tokenizer === "scgpt" ? o.maxGenes + 2 : o.maxGenes;
}

/** Checks the CSR shape (not the values: those are checked while tokenizing). */
export function validateBatch(b: CsrBatch): "integer" | "float" {
  const n = b.cellIds.length;
  if (b.offsets.length !== n + 1) throw invalid(`Batch offsets have ${b.offsets.length} entries for ${n} cells (need ${n + 1})`);
  if (b.genes.length !== b.values.length) throw invalid(`Batch has ${b.genes.length} gene_integer_id values but ${b.values.length} expression values`);
  for (let i = 0; i < n; i++) {
    if (b.offsets[i] > b.offsets[i + 1]) throw invalid(`Batch offsets decrease at cell ${b.cellIds[i]} (position ${i})`);
  }
  if (n > 0 && b.offsets[n] > b.genes.length) throw invalid(`Batch offsets end at ${b.offsets[n]}, past the ${b.genes.length} stored genes`);
  if (b.valueType !== undefined && b.valueType !== "integer" && b.valueType !== "float") throw invalid(`Unknown value type "${String(b.valueType)}"`);
  return b.valueType ?? (b.values instanceof Float32Array ? "float" : "integer");
}
