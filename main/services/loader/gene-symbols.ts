/**
 * Gene names for the preview, read once per open dataset from the genes table. The column: a symbol column
 * where the dataset has one (CELLxGENE's `feature_name`, Scanpy's `gene_symbols`, …), else `gene_id` (var_names:
 * the symbol for 10x and PBMC-style data, the column the notebook's starter queries show), else none and genes
 * are named `gene_<id>` as SLAF's own decoder does.
 */
import type * as lancedb from "@lancedb/lancedb";
import { SCAN_BATCH_ROWS, type arrow } from "../arrow";
import type { OpenDataset } from "../datasets/open-dataset";

export const SYMBOL_COLUMNS = ["feature_name", "gene_symbols", "gene_symbol", "symbol", "gene_name", "gene_id"];

export class GeneSymbols {
  constructor(
    /** By gene_integer_id; null where the table has no name. */
    private readonly names: (string | null)[],
    readonly column: string | null,
  ) {}

  get count(): number {
    return this.names.length;
  }

  name(geneId: number): string {
    return (geneId >= 0 && geneId < this.names.length ? this.names[geneId] : null) ?? `gene_${geneId}`;
  }
}

type RecordBatch = InstanceType<typeof arrow.RecordBatch>;
type Scan = { execute(o: { maxBatchLength: number }): AsyncGenerator<RecordBatch> };

/** Every batch of `columns` of a Lance table, in large batches. */
export async function* scanColumns(table: lancedb.Table, columns: string[]): AsyncGenerator<RecordBatch> {
  yield* (table.query().select(columns) as unknown as Scan).execute({ maxBatchLength: SCAN_BATCH_ROWS });
}

async function readSymbols(ds: OpenDataset): Promise<GeneSymbols> {
  const info = ds.summary.tables.find((t) => t.name === "genes");
  const table = ds.tables.get("genes");
  const has = (c: string) => info?.columns.some((col) => col.name === c && col.kind === "string") ?? false;
  const column = SYMBOL_COLUMNS.find(has) ?? null;
  if (!table || !column || !info?.columns.some((c) => c.name === "gene_integer_id")) return new GeneSymbols([], null);
  const names: (string | null)[] = [];
  for await (const batch of scanColumns(table, ["gene_integer_id", column])) {
    const ids = batch.getChild("gene_integer_id");
    const values = batch.getChild(column);
    for (let i = 0; i < batch.numRows; i++) {
      const id = Number(ids?.get(i));
      const name = values?.get(i) as string | null;
      if (Number.isInteger(id) && id >= 0 && id < 2 ** 24) {
        while (names.length <= id) names.push(null);
        names[id] = name ?? null;
      }
    }
  }
  return new GeneSymbols(names, column);
}

const cache = new WeakMap<OpenDataset, Promise<GeneSymbols>>();

/** The dataset's gene names, read on first use and kept while the dataset is open. */
export function geneSymbols(ds: OpenDataset): Promise<GeneSymbols> {
  let pending = cache.get(ds);
  if (!pending) {
    pending = readSymbols(ds);
    pending.catch(() => cache.delete(ds));
    cache.set(ds, pending);
  }
  return pending;
}
