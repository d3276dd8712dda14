/**
 * What a query will read before it runs: rows and bytes per scan (exact counts on small local tables, rules of
 * thumb otherwise), and whether it is over the confirmation threshold. A table whose columns are warm (held in
 * memory by earlier queries) is read from memory: it counts for nothing.
 */
import type { QueryPreview, ScanEstimate } from "../../../shared/ipc/contract";
import type { Analysis, IdLink, TableNeeds } from "./analyze";
import { scanColumns, type DatasetTables } from "./dataset-tables";
import type { QueryPlan } from "./engine";
import { rowBytes, selectivity } from "./estimate";
import { andOf, LANCE, orOfRefs, renderPred, type Pred } from "./pushdown";
import type { WarmTables } from "./warm-tables";

export interface EstimateOptions {
  /** Estimated bytes above which a query needs `confirmed: true`: local datasets. */
  confirmBytes?: number;
  /** Same, for remote datasets (hf://, s3://). */
  confirmBytesRemote?: number;
  /** Tables up to this many rows are counted exactly (countRows with the filter) for previews, when local. */
  exactCountRows?: number;
}

const DEFAULT_CONFIRM = 2 * 1024 ** 3;
const DEFAULT_CONFIRM_REMOTE = 256 * 1024 ** 2;

function threshold(tables: DatasetTables, options: EstimateOptions): number {
  return tables.remote ? (options.confirmBytesRemote ?? DEFAULT_CONFIRM_REMOTE) : (options.confirmBytes ?? DEFAULT_CONFIRM);
}

/** The fraction of a table's rows a predicate keeps: counted by Lance when `exact`, else guessed. */
async function fraction(tables: DatasetTables, table: string, pred: Pred | null, exact: boolean): Promise<number> {
  if (!pred) return 1;
  const rows = tables.rows(table);
  const filter = renderPred(pred, LANCE);
  if (exact && filter && rows > 0) {
    try {
      return (await tables.lance(table).countRows(filter)) / rows;
    } catch {
      // An estimate only: fall through to the rule of thumb.
    }
  }
  return selectivity(pred, tables.idRanges());
}

/** Whether the columns a query needs of a table are warm, so running it reads none of that table. */
async function inMemory(tables: DatasetTables, needs: TableNeeds, warm: WarmTables | null): Promise<boolean> {
  return (
    !!warm &&
    warm.holds(
      await tables.warmKey(needs.table.name),
      scanColumns(needs).map((c) => c.name),
    )
  );
}

export async function previewQuery(tables: DatasetTables, plan: QueryPlan, options: EstimateOptions, warm: WarmTables | null): Promise<QueryPreview> {
  const exactMax = options.exactCountRows ?? 5_000_000;
  const exact = (table: string) => !tables.remote && tables.rows(table) <= exactMax;
  const scans: ScanEstimate[] = [];
  for (const needs of plan.analysis.tables.values()) {
    const name = needs.table.name;
    let frac = 0;
    for (const ref of needs.refs) {
      let f = await fraction(tables, name, andOf(ref.preds), exact(name));
      for (const link of ref.links) {
        const src = plan.analysis.refs.get(link.sourceRefId);
        if (src) f *= await fraction(tables, src.table, andOf(src.preds), exact(src.table));
        else f *= relationFraction(tables, plan, link);
      }
      frac = Math.min(1, frac + f);
    }
    const columns = scanColumns(needs).map((c) => c.name);
    const estimatedRows = Math.round(tables.rows(name) * frac);
    scans.push({
      table: name,
      columns,
      filter: describeFilter(needs, plan.analysis),
      estimatedRows,
      estimatedBytes: Math.round(estimatedRows * rowBytes(await tables.widths(needs), columns)),
      inMemory: await inMemory(tables, needs, warm),
    });
  }
  const read = scans.filter((x) => !x.inMemory);
  const estimatedRows = read.reduce((s, x) => s + x.estimatedRows, 0);
  const estimatedBytes = read.reduce((s, x) => s + x.estimatedBytes, 0);
  return { scans, estimatedRows, estimatedBytes, needsConfirmation: estimatedBytes > threshold(tables, options), namedResults: plan.analysis.namedResults };
}

/** Whether a query could be over the confirmation threshold at all: reading every row of what it needs. */
export async function mayNeedConfirmation(tables: DatasetTables, plan: QueryPlan, options: EstimateOptions, warm: WarmTables | null): Promise<boolean> {
  let upper = 0;
  for (const needs of plan.analysis.tables.values()) {
    if (await inMemory(tables, needs, warm)) continue;
    upper +=
      tables.rows(needs.table.name) *
      rowBytes(
        await tables.widths(needs),
        scanColumns(needs).map((c) => c.name),
      );
  }
  return upper > threshold(tables, options);
}

/** A cheap row estimate (no counting) for progress totals. */
export function roughRows(tables: DatasetTables, plan: QueryPlan): number {
  let total = 0;
  for (const needs of plan.analysis.tables.values()) {
    const own = orOfRefs(needs.refs.map((r) => andOf(r.preds)));
    total += tables.rows(needs.table.name) * selectivity(own, tables.idRanges());
  }
  return Math.round(total);
}

/** A named result's share of the ids it restricts (its rows over the id range: at most that many distinct ids). */
function relationFraction(tables: DatasetTables, plan: QueryPlan, link: IdLink): number {
  const relation = plan.analysis.relations.get(link.sourceRefId);
  const rows = relation && plan.catalog.relations?.get(relation.name)?.rowCount;
  const range = tables.idRanges().get(link.column);
  return rows !== undefined && range ? Math.min(1, rows / range) : 1;
}

/** The pushed filter as the preview shows it; ids that come from a cells/genes filter or a named result show as `col IN <...>`. */
function describeFilter(needs: TableNeeds, analysis: Analysis): string | null {
  const parts: (string | null)[] = needs.refs.map((ref) => {
    const own = ref.preds.length ? renderPred(andOf(ref.preds)!, LANCE) : null;
    const derived = ref.links.flatMap((l) => {
      const relation = analysis.relations.get(l.sourceRefId);
      if (relation) {
        const where = relation.preds.length ? ` where ${renderPred(andOf(relation.preds)!, LANCE)}` : "";
        return [`\`${l.column}\` IN <${l.sourceColumn} of ${relation.name}${where}>`];
      }
      const src = analysis.refs.get(l.sourceRefId)!;
      return src.preds.length > 0 ? [`\`${l.column}\` IN <${l.sourceColumn} of ${src.table} where ${renderPred(andOf(src.preds)!, LANCE)}>`] : [];
    });
    const all = [own, ...derived].filter((x): x is string => Boolean(x));
    return all.length ? all.join(" AND ") : null;
  });
  if (parts.some((p) => p === null)) return null;
  const unique = [...new Set(parts as string[])];
  return unique.length === 1 ? unique[0] : unique.map((p) => `(${p})`).join(" OR ");
}
