export interface ColumnInfo {
  name: string;
  /** Arrow type as Arrow prints it, e.g. `Uint32`, `Utf8`, `FixedSizeList[2]<Float32>`. */
  type: string;
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
