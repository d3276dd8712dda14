/** What of a dataset's `cells` table Explore can draw: embeddings and colourable columns, from the schema alone. */
import type { ColumnInfo, ExploreColumn, ExploreEmbedding } from "../../../shared/ipc/contract";
import type { OpenDataset } from "../datasets/open-dataset";
import { fail } from "../errors";

/** Bookkeeping columns of `cells` that are never coloured by. */
const NOT_COLOURS = new Set(["cell_id", "cell_integer_id", "cell_start_index"]);

export interface CellsColumns {
  nCells: number;
  embeddings: ExploreEmbedding[];
  columns: ExploreColumn[];
  /** Every column by name, as the dataset summary describes it. */
  byName: Map<string, ColumnInfo>;
}

function defaultKind(c: ColumnInfo): ExploreColumn["kind"] | null {
  if (c.type.startsWith("Dictionary")) return "categorical";
  switch (c.kind) {
    case "string":
    case "bool":
    case "int":
      return "categorical";
    case "float":
      return "continuous";
    default:
      return null;
  }
}

export function cellsColumns(ds: OpenDataset): CellsColumns {
  const info = ds.summary.tables.find((t) => t.name === "cells");
  if (!info || !ds.tables.get("cells")) fail("EXPLORE_DATASET_UNSUPPORTED", `Dataset ${ds.summary.name} has no cells table`);
  if (!info.columns.some((c) => c.name === "cell_integer_id" && c.kind === "int"))
    fail("EXPLORE_DATASET_UNSUPPORTED", `The cells table of ${ds.summary.name} has no integer cell_integer_id column`);
  const embeddings: ExploreEmbedding[] = [];
  const columns: ExploreColumn[] = [];
  for (const c of info.columns) {
    if (c.fixedList) {
      if (c.fixedList.item === "float" && c.fixedList.size >= 1) embeddings.push({ name: c.name, dims: c.fixedList.size });
      continue;
    }
    if (NOT_COLOURS.has(c.name)) continue;
    const kind = defaultKind(c);
    if (kind) columns.push({ name: c.name, type: c.type, kind, categories: null });
  }
  return { nCells: info.rows, embeddings, columns, byName: new Map(info.columns.map((c) => [c.name, c])) };
}

export function embeddingOf(cols: CellsColumns, column: string, dims: [number, number]): ExploreEmbedding {
  const e = cols.embeddings.find((x) => x.name === column);
  if (!e) {
    const names = cols.embeddings.map((x) => x.name);
    fail(
      "EXPLORE_COLUMN_INVALID",
      `"${column}" is not an embedding of this dataset (a FixedSizeList<float> column of cells); it has ${names.length ? names.join(", ") : "none"}`,
    );
  }
  for (const d of dims) if (d >= e.dims) fail("EXPLORE_COLUMN_INVALID", `${column} has ${e.dims} dims (0 to ${e.dims - 1}); dim ${d} does not exist`);
  if (dims[0] === dims[1] && e.dims > 1) fail("EXPLORE_COLUMN_INVALID", `Choose two different dims of ${column}, not ${dims[0]} twice`);
  return e;
}

export function colourColumnOf(cols: CellsColumns, column: string): ExploreColumn {
  const c = cols.columns.find((x) => x.name === column);
  if (!c) {
    const known = cols.byName.has(column);
    fail(
      "EXPLORE_COLUMN_INVALID",
      known ? `Cells column "${column}" cannot colour cells (lists, binary and id columns cannot)` : `The cells table has no column "${column}"`,
    );
  }
  return c;
}
