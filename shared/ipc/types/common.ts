/** What kind of values a column holds, for display (alignment, widths) and for choosing plots and filters. */
export type ColumnTypeKind = "int" | "float" | "string" | "bool" | "list" | "binary" | "temporal" | "struct" | "other";

export interface ColumnInfo {
  name: string;
  /** Arrow type as Arrow prints it, e.g. `Uint32`, `Utf8`, `FixedSizeList[2]<Float32>`: for people to read. */
  type: string;
  /** The type's kind: what code should branch on, never the printed `type`. */
  kind: ColumnTypeKind;
  /** For fixed-size lists (embeddings such as X_umap: `FixedSizeList[2]<Float32>`): the width and the items' kind. */
  fixedList?: { size: number; item: ColumnTypeKind };
  nullable: boolean;
}

/** One page of rows, as Arrow IPC stream bytes. Rows never cross as JSON. */
export interface RowPage {
  offset: number;
  numRows: number;
  totalRows: number;
  arrow: Uint8Array;
}

export type Empty = Record<string, never>;
