/**
 * The preview's close-ups, from a batch's whole cells (the prefetcher's CSR):
 * - one cell explained: its whole sequence before truncation (the tokenizer's own explainCell) with where the row
 *   cut it. `rank`: canonical mode ranks are the sequence order (1 = highest score); slafdb-0.5.2 keeps storage
 *   order, so `rank` there is SLAF's dense descending rank of the stored value (what its window compares with
 *   max_genes). `score` is what the ranking used (canonical: after normalize_total/log1p, divided by the gene's
 *   median when medians are given; slafdb-0.5.2: the stored value). `bin` is the scGPT value token minus vocab_size (slafdb-0.5.2 counts: the count itself), null for
 *   Geneformer, raw mode, and float values SLAF maps to PAD.
 * - the same cells tokenized in both compatibility modes, with the positions whose input id differs and the
 *   symbols of every gene either mode put in a row.
 */
import type { LoaderCellExplain } from "../../../shared/ipc/contract";
import { arrow } from "../arrow";
import { batchGeneIds, boolColumn, genesArrow, textColumn, tokensArrow } from "./batch-arrow";
import { log1pBin, slafdbFloatBin } from "./binning";
import type { GeneSymbols } from "./gene-symbols";
import type { LabelColumn } from "./labels";
import { createTokenizer, type Tokenizer } from "./tokenizer";
import type { CsrBatch, TokenizerOptions } from "./tokens";

type Vector = InstanceType<typeof arrow.Vector>;

function valueTypeOf(csr: CsrBatch): "integer" | "float" {
  return csr.valueType ?? (csr.values instanceof Float32Array ? "float" : "integer");
}

/** SLAF's dense descending rank of each value among `values` (1 = the largest distinct value). */
function denseRanks(values: ArrayLike<number>): Map<number, number> {
  const distinct = [...new Set(Array.from(values))].sort((a, b) => b - a);
  return new Map(distinct.map((v, i) => [v, i + 1]));
}

export interface ExplainContext {
  /** null in raw mode. */
  tokenizer: Tokenizer | null;
  symbols: GeneSymbols;
  labels: LabelColumn | null;
}

export function explainCell(csr: CsrBatch, row: number, ctx: ExplainContext): LoaderCellExplain {
  const cellId = csr.cellIds[row];
  const start = csr.offsets[row];
  const end = csr.offsets[row + 1];
  const genes = csr.genes.subarray(start, end);
  const stored = csr.values.subarray(start, end);
  const storedByGene = new Map<number, number>();
  for (let k = 0; k < genes.length; k++) storedByGene.set(genes[k], stored[k]);

  let seqGenes: ArrayLike<number> = genes;
  let scores: ArrayLike<number> = stored;
  let kept = genes.length;
  let sepKept = false;
  let ranks: number[];
  let bins: (number | null)[] | null = null;
  const tok = ctx.tokenizer;
  if (tok) {
    const seq = tok.explainCell(cellId, genes, stored);
    seqGenes = seq.genes;
    const medians = tok.options.geneMedians;
    scores = medians ? Float64Array.from(seq.values, (x, k) => x / medians[seq.genes[k]]) : seq.values;
    kept = seq.kept;
    sepKept = seq.sepKept;
    const o = tok.options;
    const canonical = o.mode === "canonical";
    const dense = canonical ? null : denseRanks(stored);
    ranks = Array.from(seq.genes, (g, k) => (dense ? (dense.get(storedByGene.get(g) as number) as number) : k + 1));
    if (o.tokenizer === "scgpt") {
      const v = seq.values;
      const maxLv = v.length > 0 ? (o.log1p ? v[0] : Math.log1p(v[0])) : 0;
      bins = Array.from(v, (x) => {
        if (canonical) return log1pBin(o.log1p ? x : Math.log1p(x), maxLv, o.nExpressionBins);
        if (valueTypeOf(csr) === "integer") return x;
        const bin = slafdbFloatBin(x, o.nExpressionBins);
        return bin < 0 ? null : bin;
      });
    }
  } else {
    ranks = Array.from(genes, (_, k) => k + 1);
  }
  const n = seqGenes.length;
  // One per sequence gene: canonical mode may drop genes, so not one per stored gene.
  bins ??= Array.from({ length: n }, () => null);
  const columns: Record<string, Vector> = {
    rank: arrow.makeVector(Int32Array.from(ranks)) as unknown as Vector,
    gene_integer_id: arrow.makeVector(Int32Array.from(seqGenes)) as unknown as Vector,
    symbol: textColumn(Array.from(seqGenes, (g) => ctx.symbols.name(g))),
    value: arrow.makeVector(Float32Array.from(seqGenes, (g) => storedByGene.get(g) as number)) as unknown as Vector,
    score: arrow.makeVector(Float32Array.from(scores)) as unknown as Vector,
    bin: arrow.vectorFromArray(bins, new arrow.Int32()) as unknown as Vector,
    kept: boolColumn(Array.from({ length: n }, (_, k) => (k < kept ? 1 : 0))),
  };
  return {
    cellId,
    label: ctx.labels?.of(cellId) ?? null,
    arrow: arrow.tableToIPC(new arrow.Table(columns as never), "stream"),
    nGenes: n,
    kept,
    sepKept,
  };
}

export interface ModeComparison {
  slafdb: Uint8Array;
  canonical: Uint8Array;
  genes: Uint8Array;
  differing: number[][];
}

/**
 * `options`' tokenizer in both modes over the same cells: slafdb-0.5.2 without preprocessing (SLAF 0.5.2 has
 * none), canonical with the loader's normalize_total/log1p and gene medians.
 */
export function compareModes(csr: CsrBatch, fragments: Int32Array, options: TokenizerOptions, ctx: Omit<ExplainContext, "tokenizer">): ModeComparison {
  const base = { tokenizer: options.tokenizer, maxGenes: options.maxGenes, vocabSize: options.vocabSize, nExpressionBins: options.nExpressionBins };
  const slafdb = createTokenizer({ ...base, mode: "slafdb-0.5.2" }).tokenize(csr);
  const canonical = createTokenizer({
    ...base,
    mode: "canonical",
    ...(options.normalizeTotal !== undefined ? { normalizeTotal: options.normalizeTotal } : {}),
    ...(options.log1p ? { log1p: true } : {}),
    ...(options.geneMedians ? { geneMedians: options.geneMedians } : {}),
  }).tokenize(csr);
  const L = slafdb.seqLength;
  const differing: number[][] = [];
  for (let r = 0; r < slafdb.batchSize; r++) {
    const positions: number[] = [];
    for (let p = 0; p < L; p++) if (slafdb.inputIds[r * L + p] !== canonical.inputIds[r * L + p]) positions.push(p);
    differing.push(positions);
  }
  // A gene only one mode kept is still named in the other's view.
  const a = batchGeneIds({ tokens: slafdb, raw: null });
  const b = batchGeneIds({ tokens: canonical, raw: null });
  const union = Int32Array.from(new Set([...a, ...b])).sort();
  return {
    slafdb: tokensArrow(slafdb, fragments, ctx.labels),
    canonical: tokensArrow(canonical, fragments, ctx.labels),
    genes: genesArrow(union, ctx.symbols),
    differing,
  };
}
