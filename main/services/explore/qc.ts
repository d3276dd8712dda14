/**
 * QC per cell (genes with a value > 0, counts, percent mitochondrial) in SQL through the notebook's engine, so
 * the numbers are the ones a notebook cell holding the same text gives.
 */
import type { OpenDataset } from "../datasets/open-dataset";
import { RESULTS_SCHEMA, type SqlEngine } from "../query/engine";
import type { ExtraRelation } from "../query/service";
import { qualifiedName, readableIdent, stringLiteral } from "../sql-text";

export interface QcColumns {
  cellIds: Int32Array;
  nGenes: Int32Array;
  totals: Float32Array;
  pctMito: Float32Array;
}

/** The QC query; `symbol` is the genes column holding symbols (MT-/mt- genes are mitochondrial). */
export function qcSql(symbol: string, set: string | null): string {
  const sym = `g.${readableIdent(symbol)}`;
  const inSet = set === null ? "" : `cell_integer_id IN (SELECT cell_integer_id FROM cell_sets WHERE set_name = ${stringLiteral(set)})`;
  return [
    "WITH mito AS (",
    `  SELECT g.gene_integer_id FROM genes g WHERE starts_with(${sym}, 'MT-') OR starts_with(${sym}, 'mt-')`,
    "), per_cell AS (",
    "  SELECT e.cell_integer_id,",
    "    count(*) AS n_genes,",
    "    sum(e.value) AS total_counts,",
    "    sum(e.value) FILTER (WHERE e.gene_integer_id IN (SELECT gene_integer_id FROM mito)) AS mito_counts",
    "  FROM expression e",
    `  WHERE e.value > 0${inSet ? ` AND e.${inSet}` : ""}`,
    "  GROUP BY e.cell_integer_id",
    ")",
    "SELECT c.cell_integer_id::INTEGER AS cell_integer_id,",
    "  coalesce(p.n_genes, 0)::INTEGER AS n_genes,",
    "  coalesce(p.total_counts, 0)::FLOAT AS total_counts,",
    "  coalesce(100.0 * p.mito_counts / nullif(p.total_counts, 0), 0)::FLOAT AS pct_mito",
    "FROM cells c LEFT JOIN per_cell p ON p.cell_integer_id = c.cell_integer_id",
    ...(inSet ? [`WHERE c.${inSet}`] : []),
    "ORDER BY c.cell_integer_id",
  ].join("\n");
}

/** Counts the genes whose symbol starts with MT-/mt- (for the panel's note). */
export function countMito(symbols: string[]): number {
  return symbols.reduce((n, s) => n + (s.startsWith("MT-") || s.startsWith("mt-") ? 1 : 0), 0);
}

let nextTable = 1;

/** Runs the QC query and reads its four columns into typed arrays; the result table is dropped after. */
export async function runQc(
  engine: SqlEngine,
  ds: OpenDataset,
  sql: string,
  cellSets: ExtraRelation,
  ctx: { signal: AbortSignal; onRows(rows: number): void },
): Promise<QcColumns> {
  const plan = await engine.plan(ds, sql, [cellSets]);
  const table = `explore_qc_${nextTable++}`;
  const named = new Map(plan.analysis.namedResults.includes(cellSets.name) ? [[cellSets.name, cellSets.table]] : []);
  try {
    await engine.run(ds, plan, table, named, { signal: ctx.signal, onRows: ctx.onRows });
    const conn = await engine.connect();
    try {
      const count = await conn.runAndReadAll(`SELECT count(*)::INTEGER FROM ${qualifiedName(RESULTS_SCHEMA, table)}`);
      const n = Number(count.getRows()[0][0]);
      const out: QcColumns = { cellIds: new Int32Array(n), nGenes: new Int32Array(n), totals: new Float32Array(n), pctMito: new Float32Array(n) };
      const result = await conn.run(`SELECT * FROM ${qualifiedName(RESULTS_SCHEMA, table)}`);
      const targets = [out.cellIds, out.nGenes, out.totals, out.pctMito];
      let at = 0;
      for (let chunk = await result.fetchChunk(); chunk && chunk.rowCount > 0; chunk = await result.fetchChunk()) {
        targets.forEach((t, k) => t.set(chunk!.getColumnValues(k) as number[], at));
        at += chunk.rowCount;
      }
      return out;
    } finally {
      conn.closeSync();
    }
  } finally {
    const conn = await engine.connect();
    await conn.run(`DROP TABLE IF EXISTS ${qualifiedName(RESULTS_SCHEMA, table)}`).catch(() => undefined);
    conn.closeSync();
  }
}
