/**
 * Gene search over the genes table: exact, then prefix, then substring, then fuzzy (edit distance) matches on the
 * symbol or the gene_id, case-insensitive. Within a rank: fuzzy by distance, then more expressing cells, then
 * shorter symbols, then alphabetical.
 */
import type { ExploreGeneMatch, ExploreGeneMatchKind } from "../../../shared/ipc/contract";

export interface GeneIndex {
  /** gene_integer_id per row. */
  ids: Int32Array;
  geneIds: string[];
  symbols: string[];
  lowerIds: string[];
  lowerSymbols: string[];
}

export function geneIndex(ids: ArrayLike<number>, geneIds: string[], symbols: string[]): GeneIndex {
  return {
    ids: Int32Array.from(ids),
    geneIds,
    symbols,
    lowerIds: geneIds.map((s) => s.toLowerCase()),
    lowerSymbols: symbols.map((s) => s.toLowerCase()),
  };
}

const RANK: Record<ExploreGeneMatchKind, number> = { exact: 0, prefix: 1, substring: 2, fuzzy: 3 };

/** Edit distances allowed for a query of this length (none below 3 characters: everything is close to "cd"). */
export function maxDistance(queryLength: number): number {
  return queryLength < 3 ? 0 : queryLength < 6 ? 1 : 2;
}

/** Levenshtein distance, or `max + 1` as soon as it must exceed `max`. */
export function boundedDistance(a: string, b: string, max: number): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const v = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      cur.push(v);
      rowMin = Math.min(rowMin, v);
    }
    if (rowMin > max) return max + 1;
    prev = cur;
  }
  return prev[b.length];
}

function matchOne(q: string, field: string, fuzzy: number): { kind: ExploreGeneMatchKind; distance: number } | null {
  if (field === q) return { kind: "exact", distance: 0 };
  if (field.startsWith(q)) return { kind: "prefix", distance: 0 };
  if (field.includes(q)) return { kind: "substring", distance: 0 };
  if (fuzzy > 0) {
    const d = boundedDistance(q, field, fuzzy);
    if (d <= fuzzy) return { kind: "fuzzy", distance: d };
  }
  return null;
}

function better(a: { kind: ExploreGeneMatchKind; distance: number }, b: { kind: ExploreGeneMatchKind; distance: number } | null): boolean {
  return !b || RANK[a.kind] < RANK[b.kind] || (a.kind === b.kind && a.distance < b.distance);
}

/** `nCells(row)`: cells expressing the gene at that row of the index, or null when not counted. */
export function searchGenes(index: GeneIndex, query: string, limit: number, nCells: (row: number) => number | null): ExploreGeneMatch[] {
  const q = query.trim().toLowerCase();
  if (!q) return [];
  const fuzzy = maxDistance(q.length);
  const found: ExploreGeneMatch[] = [];
  for (let r = 0; r < index.ids.length; r++) {
    const bySymbol = matchOne(q, index.lowerSymbols[r], fuzzy);
    const byId = index.lowerIds[r] === index.lowerSymbols[r] ? null : matchOne(q, index.lowerIds[r], fuzzy);
    const best = byId && better(byId, bySymbol) ? { ...byId, on: "id" as const } : bySymbol ? { ...bySymbol, on: "symbol" as const } : null;
    if (!best) continue;
    found.push({
      geneIntegerId: index.ids[r],
      geneId: index.geneIds[r],
      symbol: index.symbols[r],
      match: best.kind,
      on: best.on,
      distance: best.distance,
      nCells: nCells(r),
    });
  }
  found.sort(
    (a, b) =>
      RANK[a.match] - RANK[b.match] ||
      a.distance - b.distance ||
      (b.nCells ?? -1) - (a.nCells ?? -1) ||
      a.symbol.length - b.symbol.length ||
      (a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : a.geneIntegerId - b.geneIntegerId),
  );
  return found.slice(0, limit);
}
