/** Rows of a named result for plotting: paged from main, only the columns the plot uses, capped. */
import { MAX_PAGE_ROWS, type Client, type QuerySummary } from "../../shared/ipc/contract";
import { decodePage } from "../api/arrow-rows";

export const MAX_PLOT_POINTS = 250_000;

export interface PlotData {
  columns: Record<string, unknown[]>;
  length: number;
  truncated: boolean;
}

function plain(v: unknown): unknown {
  if (typeof v === "bigint") return Number(v);
  return v;
}

export type LoadPlotData = (summary: QuerySummary, names: string[], signal: { cancelled: boolean }) => Promise<PlotData>;

export function plotDataLoader(client: Client): LoadPlotData {
  return async (summary, names, signal) => {
    const total = Math.min(summary.rowCount, MAX_PLOT_POINTS);
    const columns: Record<string, unknown[]> = Object.fromEntries(names.map((n) => [n, new Array<unknown>(total)]));
    // Pages are capped by bytes as well as rows, so each one says how far it got.
    for (let offset = 0; offset < total && !signal.cancelled;) {
      const r = await client.query.page({ resultId: summary.resultId, offset, limit: Math.min(MAX_PAGE_ROWS, total - offset) });
      if (!r.ok) throw new Error(r.error.message);
      if (r.value.numRows === 0) break;
      const t = decodePage(r.value.arrow);
      for (const n of names) {
        const vec = t.getChild(n);
        if (!vec) throw new Error(`The result has no column "${n}"`);
        const out = columns[n];
        for (let i = 0; i < t.numRows; i++) out[offset + i] = plain(vec.get(i));
      }
      offset += t.numRows;
    }
    return { columns, length: total, truncated: summary.rowCount > total };
  };
}
