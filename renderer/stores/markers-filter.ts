/**
 * The Markers panel's filter form (text fields as typed) → the contract's MarkersFilter and page requests. Pure:
 * a field that is not a number in range is named in `problems` and left out of the request, never sent.
 */
import { MARKERS_MAX_PAGE, type MarkersFilter } from "../../shared/ipc/contract";

export interface FilterForm {
  /** Rows of the ranking shown at most (the table pages through these). */
  top: number;
  /** |log2FC| ≥ this ("" for no bound). */
  minAbsLogfc: string;
  /** Adjusted p ≤ this ("" for no bound). */
  maxPvalAdj: string;
  /** Percent of the group's cells expressing, 0–100 ("" for no bound). */
  minPctGroup: string;
  direction: "up" | "down" | "both";
  search: string;
}

export const DEFAULT_FILTER: FilterForm = { top: 100, minAbsLogfc: "", maxPvalAdj: "", minPctGroup: "", direction: "up", search: "" };
export const TOP_CHOICES = [25, 50, 100, 250, 1000] as const;
export const PAGE_ROWS = 50;

export interface FilterRequest {
  filter: MarkersFilter;
  /** One sentence per field left out, for the form. */
  problems: string[];
}

function bound(text: string, label: string, lo: number, hi: number, problems: string[]): number | undefined {
  const t = text.trim();
  if (t === "") return undefined;
  const v = Number(t);
  if (!Number.isFinite(v) || v < lo || v > hi) {
    problems.push(`${label} must be a number from ${lo} to ${hi} (got "${t}"); not applied.`);
    return undefined;
  }
  return v;
}

export function filterRequest(form: FilterForm): FilterRequest {
  const problems: string[] = [];
  const filter: MarkersFilter = {};
  const lfc = bound(form.minAbsLogfc, "|log2FC| ≥", 0, 1000, problems);
  if (lfc !== undefined && lfc > 0) filter.minAbsLogfc = lfc;
  const padj = bound(form.maxPvalAdj, "adjusted p ≤", 0, 1, problems);
  if (padj !== undefined && padj < 1) filter.maxPvalAdj = padj;
  const pct = bound(form.minPctGroup, "% of group ≥", 0, 100, problems);
  if (pct !== undefined && pct > 0) filter.minPctGroup = pct / 100;
  if (form.direction !== "both") filter.direction = form.direction;
  const search = form.search.trim();
  if (search) filter.search = search;
  return { filter, problems };
}

/** How many rows the table shows in all: the genes passing the filter, at most `top`. */
export function shownRows(total: number, top: number): number {
  return Math.max(0, Math.min(total, top));
}

export function pageCount(total: number, top: number): number {
  return Math.max(1, Math.ceil(shownRows(total, top) / PAGE_ROWS));
}

/** offset and limit of page `page` (0-based) within the top `top` rows; limit ≥ 1 so the total comes back. */
export function pageWindow(page: number, top: number): { offset: number; limit: number } {
  const offset = Math.max(0, page) * PAGE_ROWS;
  return { offset, limit: Math.max(1, Math.min(PAGE_ROWS, top - offset, MARKERS_MAX_PAGE)) };
}
