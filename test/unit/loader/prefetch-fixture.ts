/**
 * SLAF datasets for the prefetcher tests: real PBMC cells (repeated past 160), some cells without any rows, and
 * the expression table appended in chunks cut by row count, not by cell, so cells span fragment boundaries.
 * Also a direct reader (one plain scan, grouped by cell) the tests compare the prefetcher's batches against.
 */
import * as lancedb from "@lancedb/lancedb";
import { arrow } from "../../../main/services/arrow";
import { SlafWriter } from "../../../main/services/convert/slaf-writer";
import { loadPbmc } from "../../fixtures/pbmc";
import { pbmcGenesTable } from "../../fixtures/slaf-fixture";

type ArrowTable = InstanceType<typeof arrow.Table>;

export interface SpanningOptions {
  nCells: number;
  /** Rows per expression append (one fragment each); cut wherever the count falls, mid-cell included. */
  fragmentRows: number;
  /** Cells c with c % emptyEvery === emptyEvery − 1 have no rows (0: none). */
  emptyEvery?: number;
  /** How cell_start_index is written: right, absent, restarting at 0 halfway (SLAF's multi-file bug), or off by one row at `shiftCell`. */
  cellStartIndex?: "right" | "absent" | "restart" | "shifted";
  shiftCell?: number;
}

export interface DirectCell {
  genes: number[];
  values: number[];
}

export function cellProfile(c: number, emptyEvery: number): DirectCell {
  if (emptyEvery > 0 && c % emptyEvery === emptyEvery - 1) return { genes: [], values: [] };
  const src = loadPbmc().cells[c % loadPbmc().nCells];
  return src;
}

export async function writeSpanningSlaf(root: string, o: SpanningOptions): Promise<void> {
  const pbmc = loadPbmc();
  const emptyEvery = o.emptyEvery ?? 0;
  const cells = Array.from({ length: o.nCells }, (_, c) => cellProfile(c, emptyEvery));
  const starts: number[] = [];
  let rows = 0;
  for (const cell of cells) {
    starts.push(rows);
    rows += cell.genes.length;
  }
  const writer = await SlafWriter.create(root, { valueType: "uint16", nGenes: pbmc.nGenes, nCells: o.nCells });
  const { vectorFromArray, Utf8, Int64, Table } = arrow;
  const written = starts.map((s, c) => {
    if (o.cellStartIndex === "restart" && c >= o.nCells / 2) return s - starts[Math.floor(o.nCells / 2)];
    if (o.cellStartIndex === "shifted" && c === o.shiftCell) return s + 1;
    return s;
  });
  const columns: Record<string, unknown> = {
    cell_type: vectorFromArray(
      cells.map((_, c) => `type${c % 8}`),
      new Utf8(),
    ),
    cell_id: vectorFromArray(
      cells.map((_, c) => `cell${c}`),
      new Utf8(),
    ),
    cell_integer_id: vectorFromArray(
      cells.map((_, c) => BigInt(c)),
      new Int64(),
    ),
  };
  if (o.cellStartIndex !== "absent") columns.cell_start_index = vectorFromArray(written.map(BigInt), new Int64());
  await writer.writeTable("cells", new Table(columns as never) as ArrowTable);
  await writer.writeTable("genes", pbmcGenesTable());
  const cell = new Uint32Array(rows);
  const gene = new Uint16Array(rows);
  const value = new Uint16Array(rows);
  cells.forEach((cc, c) => {
    cell.fill(c, starts[c], starts[c] + cc.genes.length);
    gene.set(cc.genes, starts[c]);
    value.set(cc.values, starts[c]);
  });
  for (let r = 0; r < rows; r += o.fragmentRows) {
    const end = Math.min(rows, r + o.fragmentRows);
    await writer.appendExpression({ cell: cell.subarray(r, end), gene: gene.subarray(r, end), value: value.subarray(r, end) });
  }
  await writer.finish({ nCells: o.nCells, nGenes: pbmc.nGenes });
}

/** Every cell's stored genes and values, read with one plain scan of the expression table. */
export async function readCellsDirectly(root: string): Promise<Map<number, DirectCell>> {
  const db = await lancedb.connect(root);
  const table = await db.openTable("expression");
  try {
    const t = await table
      .query()
      .select(["cell_integer_id", "gene_integer_id", "value"])
      .toArrow({ maxBatchLength: 1 << 20 });
    const ids = t.getChild("cell_integer_id")!.toArray() as Uint32Array;
    const genes = t.getChild("gene_integer_id")!.toArray() as Uint16Array;
    const values = t.getChild("value")!.toArray() as Uint16Array;
    const out = new Map<number, DirectCell>();
    for (let i = 0; i < ids.length; i++) {
      let c = out.get(ids[i]);
      if (!c) out.set(ids[i], (c = { genes: [], values: [] }));
      c.genes.push(genes[i]);
      c.values.push(values[i]);
    }
    return out;
  } finally {
    table.close();
    db.close();
  }
}

/** Fragment index of every row, from a full scan of the row addresses (the slow, obvious way). */
export async function rowFragmentsDirectly(root: string): Promise<Int32Array> {
  const db = await lancedb.connect(root);
  const table = await db.openTable("expression");
  try {
    const t = await table
      .query()
      .select(["_rowaddr"])
      .toArrow({ maxBatchLength: 1 << 20 });
    const addr = t.getChild("_rowaddr")!.toArray() as BigUint64Array;
    const out = new Int32Array(addr.length);
    let f = 0;
    for (let i = 0; i < addr.length; i++) {
      if (i > 0 && addr[i] >> 32n !== addr[i - 1] >> 32n) f++;
      out[i] = f;
    }
    return out;
  } finally {
    table.close();
    db.close();
  }
}
