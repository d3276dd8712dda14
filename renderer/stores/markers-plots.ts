/**
 * The numbers behind the Markers panel's plots, pure: volcano points and their significance, the dot plot's and
 * heatmap's rows (optionally z-scored per gene), violin outlines from byGroup histograms and box plot rows.
 */
import type { MarkersByGroup } from "../../shared/ipc/contract";
import { decodePage } from "../api/arrow-rows";

/** Significant: adjusted p at most this and |log2FC| at least VOLCANO_LFC. */
export const VOLCANO_PADJ = 0.05;
export const VOLCANO_LFC = 1;

export interface VolcanoPoint {
  geneIntegerId: number;
  symbol: string;
  logfoldchange: number;
  negLog10PvalAdj: number;
  score: number;
  pctGroup: number;
  /** 1-based rank by score. */
  rank: number;
  side: "up" | "down" | "ns";
}

export function significance(logfoldchange: number, negLog10PvalAdj: number): VolcanoPoint["side"] {
  if (!(negLog10PvalAdj >= -Math.log10(VOLCANO_PADJ)) || !(Math.abs(logfoldchange) >= VOLCANO_LFC)) return "ns";
  return logfoldchange > 0 ? "up" : "down";
}

/** markers.volcano's Arrow (rank order) as points. */
export function volcanoPoints(arrow: Uint8Array): VolcanoPoint[] {
  const t = decodePage(arrow);
  const col = (name: string) => {
    const c = t.getChild(name);
    if (!c) throw new Error(`The volcano has no column "${name}"`);
    return c;
  };
  const [id, sym, lfc, p, score, pct] = ["gene_integer_id", "symbol", "logfoldchange", "neg_log10_pval_adj", "score", "pct_group"].map(col);
  const out: VolcanoPoint[] = [];
  for (let i = 0; i < t.numRows; i++) {
    const l = Number(lfc.get(i));
    const y = Number(p.get(i));
    out.push({
      geneIntegerId: Number(id.get(i)),
      symbol: String(sym.get(i)),
      logfoldchange: l,
      negLog10PvalAdj: y,
      score: Number(score.get(i)),
      pctGroup: Number(pct.get(i)),
      rank: i + 1,
      side: significance(l, y),
    });
  }
  return out;
}

/** Genes labelled on the volcano: the `n` best-ranked significant genes up, and the `n` most significant down. */
export function volcanoLabels(points: VolcanoPoint[], n = 6): VolcanoPoint[] {
  const up = points.filter((p) => p.side === "up").slice(0, n);
  const down = points
    .filter((p) => p.side === "down")
    .sort((a, b) => b.negLog10PvalAdj - a.negLog10PvalAdj || a.score - b.score)
    .slice(0, n);
  return [...up, ...down];
}

export interface GroupCell {
  gene: string;
  geneIntegerId: number;
  group: string;
  mean: number;
  frac: number;
  /** The mean z-scored across groups for this gene (0 when every group has the same mean). */
  z: number;
  cells: number;
}

/** A group's label on the axes: its text, "(null)" for the null category. */
export function groupLabel(group: string | null): string {
  return group ?? "(null)";
}

/** Each row's values z-scored (population standard deviation); a constant row is all 0. */
export function zScoreRows(rows: number[][]): number[][] {
  return rows.map((row) => {
    const n = row.length;
    if (!n) return [];
    const mean = row.reduce((a, b) => a + b, 0) / n;
    const sd = Math.sqrt(row.reduce((a, b) => a + (b - mean) ** 2, 0) / n);
    return row.map((v) => (sd > 1e-12 ? (v - mean) / sd : 0));
  });
}

/** One row per gene × group (genes in their order, groups in theirs): dot plot and heatmap. */
export function groupCells(d: MarkersByGroup): GroupCell[] {
  const z = zScoreRows(d.values.map((row) => row.map((v) => v.mean)));
  return d.genes.flatMap((g, gi) =>
    d.groups.map((grp, k) => ({
      gene: g.symbol,
      geneIntegerId: g.geneIntegerId,
      group: groupLabel(grp.group),
      mean: d.values[gi][k].mean,
      frac: d.values[gi][k].fracExpressing,
      z: z[gi][k],
      cells: grp.cells,
    })),
  );
}

export interface ViolinPoint {
  group: string;
  /** The value at the bin's centre (or the range's ends). */
  y: number;
  /** Half-width, 0–0.5 of the group's band: the bin's count over the group's largest bin (scanpy's scale="width"). */
  half: number;
}

/**
 * A mirrored outline per group from its histogram over [0, max]: one point per bin centre, closed at 0 and max
 * with the first and last bins' widths so a spike at 0 (non-expressing cells) shows as one.
 */
export function violinOutline(group: string, histogram: number[], max: number): ViolinPoint[] {
  const bins = histogram.length;
  const peak = Math.max(0, ...histogram);
  if (!bins || peak === 0) return [];
  const width = max > 0 ? max / bins : 0;
  const half = (c: number) => (0.45 * c) / peak;
  const out: ViolinPoint[] = [{ group, y: 0, half: half(histogram[0]) }];
  if (width > 0) {
    histogram.forEach((c, k) => out.push({ group, y: (k + 0.5) * width, half: half(c) }));
    out.push({ group, y: max, half: half(histogram[bins - 1]) });
  }
  return out;
}

export interface BoxRow {
  group: string;
  min: number;
  q1: number;
  median: number;
  q3: number;
  max: number;
  mean: number;
  frac: number;
  cells: number;
}

/** Violin outlines and box rows of gene `gi` across every group. */
export function geneDistribution(d: MarkersByGroup, gi: number): { violin: ViolinPoint[]; boxes: BoxRow[] } {
  const max = d.genes[gi]?.max ?? 0;
  const row = d.values[gi] ?? [];
  return {
    violin: d.groups.flatMap((g, k) => violinOutline(groupLabel(g.group), row[k]?.histogram ?? [], max)),
    boxes: d.groups.map((g, k) => ({
      group: groupLabel(g.group),
      min: row[k].min,
      q1: row[k].q1,
      median: row[k].median,
      q3: row[k].q3,
      max: row[k].max,
      mean: row[k].mean,
      frac: row[k].fracExpressing,
      cells: g.cells,
    })),
  };
}
