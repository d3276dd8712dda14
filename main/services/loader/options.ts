/**
 * The preview's options checked against the dataset (the schema at the door already checked types and ranges):
 * LOADER_OPTIONS_INVALID names the field at fault. Returns what the prefetcher runs: tokenizer options, or "raw".
 */
import type { LoaderOptions } from "../../../shared/ipc/contract";
import { isAppFailure } from "../../../shared/result";
import { fail } from "../errors";
import { MAX_LABEL_VALUES } from "./labels";
import { GENE_OFFSET, sequenceLength, validateOptions, type TokenizerOptions } from "./tokens";

/** Tokens in one batch (batchSize × seqLength) a preview may hold: 1024 cells × 2048 tokens, about 27 MB of Arrow. */
export const MAX_PREVIEW_TOKENS = 2 ** 21;

function invalid(field: keyof LoaderOptions, message: string): never {
  fail("LOADER_OPTIONS_INVALID", `Option ${field}: ${message}`, { detail: `field: options.${field}` });
}

export interface DatasetColumns {
  /** Every column of the cells table. */
  cells: string[];
  /** The ones usable as labels. */
  labels: string[];
}

/**
 * geneMediansColumn needs canonical Geneformer (SLAF 0.5.2 has no medians; scGPT bins values, it does not rank by
 * them). Whether the column exists and is numeric is checked when it is read (gene-medians.ts).
 */
export function checkMediansOption(o: Pick<LoaderOptions, "geneMediansColumn" | "tokenizer" | "mode">): void {
  if (o.geneMediansColumn === null) return;
  if (o.tokenizer !== "geneformer")
    invalid("geneMediansColumn", `gene medians apply to the Geneformer tokenizer only (it ranks genes by value / median), not ${o.tokenizer}`);
  if (o.mode !== "canonical")
    invalid(
      "geneMediansColumn",
      "gene medians do not exist in SLAF 0.5.2 (its Geneformer ranks stored values); use canonical mode or choose no medians column",
    );
}

export function checkOptions(o: LoaderOptions, columns: DatasetColumns): TokenizerOptions | "raw" {
  if (o.labelColumn !== null) {
    if (!columns.cells.includes(o.labelColumn)) invalid("labelColumn", `the cells table has no column "${o.labelColumn}"`);
    if (!columns.labels.includes(o.labelColumn)) {
      invalid(
        "labelColumn",
        `cells column "${o.labelColumn}" cannot label cells (strings, categories or integers with at most ${MAX_LABEL_VALUES} values); use one of: ${columns.labels.join(", ") || "none in this dataset"}`,
      );
    }
  }
  checkMediansOption(o);
  const preprocessing = o.normalizeTotal !== null ? "normalizeTotal" : o.log1p ? "log1p" : null;
  if (o.tokenizer === "raw") {
    if (preprocessing) invalid(preprocessing, "raw mode hands over the stored values; normalize_total and log1p apply to the Geneformer and scGPT tokenizers");
    return "raw";
  }
  if (preprocessing && o.mode === "slafdb-0.5.2") {
    invalid(
      preprocessing,
      "normalize_total and log1p do not exist in SLAF 0.5.2 (its preprocessor came later, in PR #57); use canonical mode or turn them off",
    );
  }
  if (o.mode === "canonical" && o.tokenizer === "geneformer" && o.maxGenes < 2)
    invalid("maxGenes", "canonical Geneformer needs room for CLS and SEP: at least 2");
  if (o.vocabSize <= GENE_OFFSET) invalid("vocabSize", `must be more than ${GENE_OFFSET} (tokens 0–3 are PAD, CLS, SEP and MASK)`);
  const seqLength = sequenceLength({ tokenizer: o.tokenizer, maxGenes: o.maxGenes });
  if (o.batchSize * seqLength > MAX_PREVIEW_TOKENS) {
    invalid(
      "batchSize",
      `${o.batchSize} cells × ${seqLength} tokens = ${(o.batchSize * seqLength).toLocaleString("en-US")} tokens per batch is more than a preview holds (${MAX_PREVIEW_TOKENS.toLocaleString("en-US")}); use a smaller batch size or maxGenes`,
    );
  }
  const options: TokenizerOptions = {
    tokenizer: o.tokenizer,
    mode: o.mode,
    maxGenes: o.maxGenes,
    vocabSize: o.vocabSize,
    nExpressionBins: o.nExpressionBins,
    ...(o.normalizeTotal !== null ? { normalizeTotal: o.normalizeTotal } : {}),
    ...(o.log1p ? { log1p: true } : {}),
  };
  try {
    return validateOptions(options);
  } catch (e) {
    // The tokenizer's own checks, for anything the lines above did not catch.
    if (isAppFailure(e)) fail("LOADER_OPTIONS_INVALID", e.message, { detail: "field: options" });
    throw e;
  }
}
