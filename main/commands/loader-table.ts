/** `slaf-workbench loader --format table`: a readable summary of each batch, first tokens decoded to gene symbols. */
import type { LoaderOptions } from "../../shared/ipc/types/loader";
import type { PrefetchBatch, PrefetchLayout } from "../services/loader/prefetch/types";
import { GENE_OFFSET, PAD, SPECIAL_NAMES } from "../services/loader/tokens";

/** Tokens (or raw values) shown per cell. */
const SHOWN = 8;

const fmt = (n: number) => n.toLocaleString("en-US");

export type GeneNames = (geneId: number) => string;

export function describeRun(name: string, layout: PrefetchLayout, o: LoaderOptions, seqLength: number): string {
  const what =
    o.tokenizer === "raw"
      ? "raw COO rows"
      : `${o.tokenizer} (${o.mode}${o.geneMediansColumn !== null ? `, ranked by value / ${o.geneMediansColumn}` : ""}), max_genes ${fmt(o.maxGenes)}, vocab_size ${fmt(o.vocabSize)}${o.tokenizer === "scgpt" ? `, ${o.nExpressionBins} bins` : ""}, sequence length ${fmt(seqLength)}`;
  return [
    `${name}: ${fmt(layout.nCells)} cells, ${fmt(layout.nRows)} expression rows, ${fmt(layout.nFragments)} fragments -> ${fmt(layout.nRanges)} ranges, ${fmt(layout.nScanners)} scanners, ${fmt(layout.workers)} workers`,
    `${what}; batch ${fmt(o.batchSize)}, seed ${o.seed}, ${o.shuffle ? "shuffled" : "not shuffled"}, ${fmt(layout.batchesPerEpoch)} batches per epoch`,
  ].join("\n");
}

function tokenText(token: number, names: GeneNames): string {
  return token < GENE_OFFSET ? `[${SPECIAL_NAMES[token]}]` : names(token - GENE_OFFSET);
}

function pad(cells: string[], widths: number[]): string {
  return cells
    .map((c, i) => (i === cells.length - 1 ? c : c.padStart(widths[i])))
    .join("  ")
    .trimEnd();
}

export function renderBatch(b: PrefetchBatch, names: GeneNames): string {
  const head = `batch ${b.index} (epoch ${b.epoch}, #${b.indexInEpoch} in it): ${fmt(b.cellIds.length)} cells`;
  const lines: string[][] = [];
  if (b.tokens) {
    const t = b.tokens;
    const L = t.seqLength;
    let attended = 0;
    let truncated = 0;
    for (let i = 0; i < t.batchSize * L; i++) attended += t.attentionMask[i];
    for (let i = 0; i < t.batchSize; i++) truncated += t.facts.truncated[i];
    lines.push(["cell", "genes", "kept", `first tokens${t.valueTokens ? " (gene:bin = value token - vocab_size)" : ""}`]);
    for (let r = 0; r < t.batchSize; r++) {
      const shown: string[] = [];
      for (let p = 0; p < Math.min(SHOWN, L); p++) {
        const token = t.inputIds[r * L + p];
        if (token === PAD) break;
        const vt = t.valueTokens ? t.valueTokens[r * L + p] : PAD;
        shown.push(vt !== PAD ? `${tokenText(token, names)}:${vt - t.vocabSize}` : tokenText(token, names));
      }
      const more = 1 + t.facts.nKept[r] + t.facts.sepKept[r] > SHOWN ? " ..." : "";
      const cut = t.facts.truncated[r] ? " (truncated)" : "";
      lines.push([String(t.cellIds[r]), fmt(t.facts.nGenes[r]), fmt(t.facts.nKept[r]), `${shown.join(" ")}${more}${cut}`]);
    }
    const widths = lines[0].map((_, i) => Math.max(...lines.map((l) => l[i].length)));
    return [`${head}, ${fmt(attended)} tokens attended, ${fmt(truncated)} truncated`, ...lines.map((l) => `  ${pad(l, widths)}`)].join("\n");
  }
  const raw = b.raw!;
  // Raw rows arrive grouped by cell, in batch order.
  lines.push(["cell", "values", "first genes (gene=value)"]);
  let at = 0;
  for (const cell of raw.cellIds) {
    let end = at;
    while (end < raw.rowCellIds.length && raw.rowCellIds[end] === cell) end++;
    const shown: string[] = [];
    for (let k = at; k < Math.min(end, at + SHOWN); k++) shown.push(`${names(raw.geneIds[k])}=${raw.values[k]}`);
    lines.push([String(cell), fmt(end - at), `${shown.join(" ")}${end - at > SHOWN ? " ..." : ""}`]);
    at = end;
  }
  const widths = lines[0].map((_, i) => Math.max(...lines.map((l) => l[i].length)));
  return [`${head}, ${fmt(raw.rowCellIds.length)} values`, ...lines.map((l) => `  ${pad(l, widths)}`)].join("\n");
}
