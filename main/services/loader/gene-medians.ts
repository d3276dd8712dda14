/**
 * Per-gene nonzero medians for canonical Geneformer (its `gene_median_dictionary`), from a numeric column of the
 * genes table: read once per start into one float64 per gene_integer_id. A gene whose median is missing, null,
 * zero, negative or not finite stays 0 there, and the tokenizer drops it (Geneformer has no token for a gene
 * without a median).
 */
import type { ColumnInfo } from "../../../shared/ipc/contract";
import { fail } from "../errors";
import type { OpenDataset } from "../datasets/open-dataset";
import { scanColumns } from "./gene-symbols";
import { CANONICAL_GENE_LIMIT } from "./tokens";

const ID_COLUMNS = new Set(["gene_integer_id", "gene_id"]);

function candidate(c: ColumnInfo): boolean {
  return (c.kind === "float" || c.kind === "int") && !ID_COLUMNS.has(c.name);
}

/** Genes columns that can hold medians: numeric ones other than the id (empty without gene_integer_id). */
export function medianColumns(ds: OpenDataset): string[] {
  const info = ds.summary.tables.find((t) => t.name === "genes");
  if (!info?.columns.some((c) => c.name === "gene_integer_id")) return [];
  return info.columns.filter(candidate).map((c) => c.name);
}

function invalid(message: string): never {
  fail("LOADER_OPTIONS_INVALID", `Option geneMediansColumn: ${message}`, { detail: "field: options.geneMediansColumn" });
}

/** The column's values by gene_integer_id (LOADER_OPTIONS_INVALID naming the column when it cannot serve). */
export async function readGeneMedians(ds: OpenDataset, column: string): Promise<Float64Array> {
  const candidates = medianColumns(ds);
  if (!candidates.includes(column)) {
    const has = ds.summary.tables.find((t) => t.name === "genes")?.columns.some((c) => c.name === column) ?? false;
    invalid(
      `${has ? `genes column "${column}" is not a numeric column of medians` : `the genes table has no column "${column}"`}; use one of: ${candidates.join(", ") || "none in this dataset (it needs a numeric genes column)"}`,
    );
  }
  const table = ds.tables.get("genes") ?? invalid("the dataset has no genes table");
  const rows = ds.summary.tables.find((t) => t.name === "genes")?.rows ?? 0;
  let medians = new Float64Array(Math.min(rows, CANONICAL_GENE_LIMIT));
  for await (const batch of scanColumns(table, ["gene_integer_id", column])) {
    const ids = batch.getChild("gene_integer_id");
    const v = batch.getChild(column);
    for (let i = 0; i < batch.numRows; i++) {
      const id = Number(ids?.get(i));
      const raw = v?.get(i);
      const med = raw === null || raw === undefined ? 0 : Number(raw);
      // Ids the canonical tokenizer refuses anyway are not worth an array slot.
      if (!Number.isInteger(id) || id < 0 || id >= CANONICAL_GENE_LIMIT || !(med > 0 && Number.isFinite(med))) continue;
      if (id >= medians.length) {
        const grown = new Float64Array(Math.min(CANONICAL_GENE_LIMIT, Math.max(id + 1, medians.length * 2)));
        grown.set(medians);
        medians = grown;
      }
      medians[id] = med;
    }
  }
  return medians;
}
