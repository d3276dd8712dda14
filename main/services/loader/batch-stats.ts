/**
 * LoaderBatchStats from a batch's typed arrays: one pass over the token rows into a count per token (no object per
 * token), per-cell facts straight from the tokenizer's arrays. Raw batches count genes over the COO rows.
 */
import type { LoaderBatchStats, LoaderTokenCount } from "../../../shared/ipc/contract";
import type { GeneSymbols } from "./gene-symbols";
import type { LabelColumn } from "./labels";
import type { PrefetchBatch } from "./prefetch/types";
import { GENE_OFFSET } from "./tokens";

export const TOP_TOKENS = 20;

export interface StatsContext {
  vocabSize: number;
  nFragments: number;
  symbols: GeneSymbols;
  labels: LabelColumn | null;
}

/** Tokens a batch carries: non-PAD tokens when tokenized (CLS, kept genes, SEP per cell), stored values when raw. */
export function batchTokens(batch: Pick<PrefetchBatch, "tokens" | "raw">): number {
  if (batch.raw) return batch.raw.geneIds.length;
  const f = batch.tokens?.facts;
  if (!f) return 0;
  let n = 0;
  for (let i = 0; i < f.nKept.length; i++) n += 1 + f.nKept[i] + f.sepKept[i];
  return n;
}

/** Cells per fragment (index = fragment). */
export function fragmentCounts(fragments: Int32Array, nFragments: number): number[] {
  const out = new Array<number>(nFragments).fill(0);
  for (const f of fragments) if (f >= 0 && f < nFragments) out[f]++;
  return out;
}

function composition(cellIds: Uint32Array, labels: LabelColumn | null): LoaderBatchStats["composition"] {
  if (!labels) return null;
  const counts = new Map<string, number>();
  for (const id of cellIds) {
    const v = labels.of(id) ?? "(none)";
    counts.set(v, (counts.get(v) ?? 0) + 1);
  }
  const list = [...counts].map(([value, cells]) => ({ value, cells }));
  list.sort((a, b) => b.cells - a.cells || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
  return { column: labels.column, counts: list };
}

/** Counts per token id (gene tokens only), the distinct count and the top list. */
function tokenCounts(tokens: ArrayLike<number>, symbols: GeneSymbols): { distinct: number; top: LoaderTokenCount[] } {
  let max = -1;
  for (let i = 0; i < tokens.length; i++) if (tokens[i] > max) max = tokens[i];
  const counts = new Int32Array(max + 1);
  for (let i = 0; i < tokens.length; i++) if (tokens[i] >= GENE_OFFSET) counts[tokens[i]]++;
  // An insertion-sorted top list: most tokens never get past its last entry.
  const before = (a: number, b: number) => counts[a] > counts[b] || (counts[a] === counts[b] && a < b);
  const top: number[] = [];
  let distinct = 0;
  for (let t = GENE_OFFSET; t <= max; t++) {
    if (counts[t] === 0) continue;
    distinct++;
    if (top.length === TOP_TOKENS && !before(t, top[TOP_TOKENS - 1])) continue;
    let k = Math.min(top.length, TOP_TOKENS - 1);
    while (k > 0 && before(t, top[k - 1])) {
      top[k] = top[k - 1];
      k--;
    }
    top[k] = t;
  }
  return { distinct, top: top.map((token) => ({ token, geneId: token - GENE_OFFSET, name: symbols.name(token - GENE_OFFSET), count: counts[token] })) };
}

export function batchStats(batch: PrefetchBatch, ctx: StatsContext, l1: { withinL1: number; acrossL1: number | null }): LoaderBatchStats {
  const common = {
    cells: batch.cellIds.length,
    tokens: batchTokens(batch),
    composition: composition(batch.cellIds, ctx.labels),
    fragments: fragmentCounts(batch.fragments, ctx.nFragments),
    withinL1: l1.withinL1,
    acrossL1: l1.acrossL1,
  };
  if (batch.tokens) {
    const t = batch.tokens;
    const f = t.facts;
    let truncated = 0;
    let sepKept = 0;
    for (let i = 0; i < t.batchSize; i++) {
      truncated += f.truncated[i];
      sepKept += f.sepKept[i];
    }
    let outOfVocab = 0;
    const ids = t.inputIds;
    for (let i = 0; i < ids.length; i++) if (ids[i] >= GENE_OFFSET && ids[i] >= t.vocabSize) outOfVocab++;
    const { distinct, top } = tokenCounts(t.inputIds, ctx.symbols);
    return { ...common, lengths: Array.from(f.length), truncated, sepLost: t.batchSize - sepKept, distinctGenes: distinct, outOfVocab, topTokens: top };
  }
  const r = batch.raw;
  const lengths = new Array<number>(batch.cellIds.length).fill(0);
  if (batch.csr) for (let i = 0; i < lengths.length; i++) lengths[i] = batch.csr.offsets[i + 1] - batch.csr.offsets[i];
  else if (r) {
    // COO rows come cell by cell in batch order; a cell without rows has no run.
    let cell = -1;
    for (let i = 0; i < r.rowCellIds.length; i++) {
      if (cell < 0 || r.rowCellIds[i] !== r.cellIds[cell]) while (cell + 1 < r.cellIds.length && r.cellIds[++cell] !== r.rowCellIds[i]);
      lengths[cell]++;
    }
  }
  const geneTokens = r ? Int32Array.from(r.geneIds, (g) => g + GENE_OFFSET) : new Int32Array(0);
  const { distinct, top } = tokenCounts(geneTokens, ctx.symbols);
  return { ...common, lengths, truncated: 0, sepLost: 0, distinctGenes: distinct, outOfVocab: 0, topTokens: top };
}
