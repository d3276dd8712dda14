import { expect } from "vitest";
import { createTokenizer, csrFromCells, type TokenizedBatch, type TokenizerOptions } from "../../../main/services/loader";
import { isAppFailure } from "../../../shared/result";

export type Cell = { genes: number[]; values: number[]; cellId?: number };

export function tokenizeCells(
  options: Partial<TokenizerOptions> & Pick<TokenizerOptions, "tokenizer" | "mode" | "maxGenes">,
  cells: Cell[],
  valueType: "integer" | "float" = "integer",
): TokenizedBatch {
  const tok = createTokenizer({ vocabSize: 100, nExpressionBins: 10, ...options });
  return tok.tokenize(
    csrFromCells(
      cells.map((c, i) => ({ cellId: c.cellId ?? i, genes: c.genes, values: c.values })),
      valueType,
    ),
  );
}

/** Row i of a [batch × seqLength] array, as a plain array for readable expectations. */
export function row(batch: TokenizedBatch, array: ArrayLike<number>, i: number): number[] {
  return Array.from(array as ArrayLike<number>).slice(i * batch.seqLength, (i + 1) * batch.seqLength);
}

export function facts(batch: TokenizedBatch, i: number): { length: number; kept: number; truncated: boolean; sep: boolean; oov: number } {
  const f = batch.facts;
  return { length: f.length[i], kept: f.nKept[i], truncated: f.truncated[i] === 1, sep: f.sepKept[i] === 1, oov: f.nOutOfVocab[i] };
}

export function expectInvalid(fn: () => unknown, fragment: string): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(isAppFailure(caught, "INVALID_ARGUMENT"), String(caught)).toBe(true);
  expect((caught as Error).message).toContain(fragment);
}
