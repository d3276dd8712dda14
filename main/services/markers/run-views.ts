/** Reading a finished run: a filtered page of one comparison, every gene for a volcano, the top genes of each. */
import type { MarkersFilter, MarkersGene, MarkersGroup } from "../../../shared/ipc/contract";
import { arrow } from "../arrow";
import { fail } from "../errors";
import type { GeneIndex } from "../explore/gene-search";
import type { ComparisonResult } from "./comparisons";

export function geneRow(c: ComparisonResult, genes: GeneIndex, row: number): MarkersGene {
  const s = c.stats;
  return {
    geneIntegerId: genes.ids[row],
    geneId: genes.geneIds[row],
    symbol: genes.symbols[row],
    rank: c.rankOf[row],
    score: s.score[row],
    logfoldchange: s.logfoldchange[row],
    pval: s.pval[row],
    pvalAdj: s.pvalAdj[row],
    pctGroup: s.pctGroup[row],
    pctReference: s.pctReference[row],
    meanGroup: s.meanGroup[row],
    meanReference: s.meanReference[row],
  };
}

/** The comparison named `group` (omitted: the run's only one). */
export function comparisonOf(comparisons: ComparisonResult[], group: string | null | undefined, markersId: string): ComparisonResult {
  if (group === undefined) {
    if (comparisons.length === 1) return comparisons[0];
    fail("MARKERS_INVALID", `Run ${markersId} compares ${comparisons.length} groups: name one (${names(comparisons.map((c) => c.group))})`);
  }
  const found = comparisons.find((c) => c.group.group === group);
  if (!found) fail("MARKERS_INVALID", `Run ${markersId} has no group ${show(group)}; it has ${names(comparisons.map((c) => c.group))}`);
  return found;
}

function show(v: string | null): string {
  return v === null ? "null" : `'${v}'`;
}

function names(groups: MarkersGroup[]): string {
  const shown = groups.slice(0, 8).map((g) => show(g.group));
  return groups.length > 8 ? `${shown.join(", ")}…` : shown.join(", ");
}

/** Gene rows passing `filter`, in its order ("down": lowest score first). */
export function filteredRows(c: ComparisonResult, genes: GeneIndex, filter: MarkersFilter = {}): number[] {
  const s = c.stats;
  const direction = filter.direction ?? "both";
  const needle = filter.search?.trim().toLowerCase() ?? "";
  const out: number[] = [];
  const n = c.order.length;
  for (let k = 0; k < n; k++) {
    const row = c.order[direction === "down" ? n - 1 - k : k];
    if (direction === "up" && !(s.score[row] > 0)) continue;
    if (direction === "down" && !(s.score[row] < 0)) continue;
    if (filter.minAbsLogfc !== undefined && !(Math.abs(s.logfoldchange[row]) >= filter.minAbsLogfc)) continue;
    if (filter.maxPvalAdj !== undefined && !(s.pvalAdj[row] <= filter.maxPvalAdj)) continue;
    if (filter.minPctGroup !== undefined && !(s.pctGroup[row] >= filter.minPctGroup)) continue;
    if (needle && !genes.lowerSymbols[row].includes(needle) && !genes.lowerIds[row].includes(needle)) continue;
    out.push(row);
  }
  return out;
}

/** −log10 of an adjusted p-value drawn at 300 when it is 0. */
export function negLog10(p: number): number {
  return p > 0 ? -Math.log10(p) : 300;
}

/** Every gene of a comparison in rank order, as the volcano's Arrow IPC stream. */
export function volcanoIpc(c: ComparisonResult, genes: GeneIndex): Uint8Array {
  const n = c.order.length;
  const id = new Int32Array(n);
  const symbols: string[] = new Array(n);
  const lfc = new Float32Array(n);
  const nlp = new Float32Array(n);
  const score = new Float32Array(n);
  const pct = new Float32Array(n);
  for (let k = 0; k < n; k++) {
    const row = c.order[k];
    id[k] = genes.ids[row];
    symbols[k] = genes.symbols[row];
    lfc[k] = c.stats.logfoldchange[row];
    nlp[k] = negLog10(c.stats.pvalAdj[row]);
    score[k] = c.stats.score[row];
    pct[k] = c.stats.pctGroup[row];
  }
  const table = new arrow.Table({
    gene_integer_id: arrow.makeVector(id),
    symbol: arrow.vectorFromArray(symbols, new arrow.Utf8()),
    logfoldchange: arrow.makeVector(lfc),
    neg_log10_pval_adj: arrow.makeVector(nlp),
    score: arrow.makeVector(score),
    pct_group: arrow.makeVector(pct),
  });
  return arrow.tableToIPC(table, "stream");
}
