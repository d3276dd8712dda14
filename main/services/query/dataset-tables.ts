/** What the estimates and the scans need to know about one open dataset's SLAF tables. */
import type * as lancedb from "@lancedb/lancedb";
import type { OpenDataset } from "../datasets/open-dataset";
import { tablePath } from "../datasets/uri";
import { fail } from "../errors";
import type { TableNeeds } from "./analyze";
import type { CatalogColumn } from "./catalog";
import type { ColumnWidths } from "./estimate";

export class DatasetTables {
  constructor(
    readonly ds: OpenDataset,
    private readonly widthCache: ColumnWidths,
  ) {}

  get remote(): boolean {
    return this.ds.summary.source !== "local";
  }

  lance(name: string): lancedb.Table {
    const t = this.ds.tables.get(name);
    if (!t) fail("TABLE_UNKNOWN", `Dataset ${this.ds.summary.name} has no table "${name}"`);
    return t;
  }

  /** The warm tables' key of a table: this dataset at the table's current version (warm-tables.ts). */
  async warmKey(name: string): Promise<string> {
    return `${this.ds.summary.datasetId}@${await this.lance(name).version()}/${name}`;
  }

  rows(name: string): number {
    return this.info(name)?.rows ?? 0;
  }

  /** The table's folder (or URI), for messages about its files. */
  location(name: string): string | undefined {
    const info = this.info(name);
    return (info && tablePath(this.ds.root, info.path)) ?? undefined;
  }

  /** Arrow bytes per row of each column (strings measured on a sample, once per table). */
  widths(needs: TableNeeds): Promise<Map<string, number>> {
    return this.widthCache.widths(`${this.ds.summary.datasetId}/${needs.table.name}`, this.lance(needs.table.name), needs.table);
  }

  /** How many ids each id column ranges over (for selectivity guesses). */
  idRanges(): Map<string, number> {
    const ranges: [string, number][] = [
      ["cell_integer_id", Number(this.ds.config.n_cells ?? 0)],
      ["gene_integer_id", Number(this.ds.config.n_genes ?? 0)],
    ];
    return new Map(ranges.filter(([, n]) => n > 0));
  }

  private info(name: string) {
    return this.ds.summary.tables.find((t) => t.name === name);
  }
}

/** The columns actually scanned: what the query needs, or the narrowest column when it needs none (COUNT(*)). */
export function scanColumns(needs: TableNeeds): CatalogColumn[] {
  const cols = needs.table.columns.filter((c) => needs.columns.has(c.name));
  if (cols.length) return cols;
  const width = (c: CatalogColumn) => (c.kind.kind === "int" ? c.kind.bits : c.kind.kind === "bool" ? 1 : c.kind.kind === "float" ? c.kind.bits : 1000);
  return [[...needs.table.columns].sort((a, b) => width(a) - width(b))[0]];
}
