/** The genes table as Explore searches it: ids, gene_id, symbol, and a stored cells-expressing count if any. */
import type { OpenDataset } from "../datasets/open-dataset";
import type { arrow } from "../arrow";
import { fail } from "../errors";
import { SYMBOL_COLUMNS } from "../loader/gene-symbols";
import { columnNumbers } from "./arrow-read";
import { geneIndex, type GeneIndex } from "./gene-search";
import { scanBatches } from "./lance-scan";

type Vector = InstanceType<typeof arrow.Vector>;

/** Genes-table columns that already count cells expressing each gene (Scanpy's QC names). */
const COUNT_COLUMNS = ["n_cells", "n_cells_by_counts"];

export interface GenesTable {
  index: GeneIndex;
  /** gene_integer_id → row of the index (-1 when absent). */
  rowOf: Int32Array;
  nGenes: number;
  symbolColumn: string | null;
  /** By gene_integer_id, from the genes table, or null when it has no count column. */
  storedCounts: Int32Array | null;
}

export function genesColumns(ds: OpenDataset): { symbol: string | null; count: string | null } {
  const info = ds.summary.tables.find((t) => t.name === "genes");
  const has = (c: string, kind: string) => info?.columns.some((col) => col.name === c && col.kind === kind) ?? false;
  return {
    symbol: SYMBOL_COLUMNS.find((c) => has(c, "string")) ?? null,
    count: COUNT_COLUMNS.find((c) => has(c, "int") || has(c, "float")) ?? null,
  };
}

export async function readGenesTable(ds: OpenDataset): Promise<GenesTable> {
  const table = ds.tables.get("genes");
  const info = ds.summary.tables.find((t) => t.name === "genes");
  if (!table || !info?.columns.some((c) => c.name === "gene_integer_id"))
    fail("EXPLORE_DATASET_UNSUPPORTED", `Dataset ${ds.summary.name} has no genes table with gene_integer_id`);
  const { symbol, count } = genesColumns(ds);
  const hasGeneId = info.columns.some((c) => c.name === "gene_id");
  const columns = ["gene_integer_id", ...new Set([...(hasGeneId ? ["gene_id"] : []), ...(symbol ? [symbol] : []), ...(count ? [count] : [])])];
  const ids: number[] = [];
  const geneIds: string[] = [];
  const symbols: string[] = [];
  const counts: number[] = [];
  for await (const batch of scanBatches(table, columns)) {
    const idv = columnNumbers(batch.getChild("gene_integer_id") as Vector);
    const gid = hasGeneId ? (batch.getChild("gene_id") as Vector) : null;
    const sym = symbol ? (batch.getChild(symbol) as Vector) : null;
    const cnt = count ? columnNumbers(batch.getChild(count) as Vector) : null;
    for (let r = 0; r < idv.length; r++) {
      const id = idv[r];
      const g = (gid?.get(r) as string | null) ?? `gene_${id}`;
      ids.push(id);
      geneIds.push(g);
      symbols.push((sym?.get(r) as string | null) ?? g);
      if (cnt) counts.push(cnt[r]);
    }
  }
  const nGenes = ids.reduce((m, id) => Math.max(m, id + 1), 0);
  if (nGenes > 2 ** 26) fail("EXPLORE_DATASET_UNSUPPORTED", `gene_integer_id ${nGenes - 1} is too large`);
  const rowOf = new Int32Array(nGenes).fill(-1);
  ids.forEach((id, r) => {
    if (id >= 0) rowOf[id] = r;
  });
  let storedCounts: Int32Array | null = null;
  if (count) {
    storedCounts = new Int32Array(nGenes);
    ids.forEach((id, r) => (storedCounts![id] = Number.isFinite(counts[r]) ? counts[r] : 0));
  }
  return { index: geneIndex(ids, geneIds, symbols), rowOf, nGenes, symbolColumn: symbol ?? (hasGeneId ? "gene_id" : null), storedCounts };
}
