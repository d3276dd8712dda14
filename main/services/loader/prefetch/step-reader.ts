/**
 * Worker side: reads one step's blocks (each an exact row range, `offset`/`limit` on a plain scan, which Lance
 * pushes down to the fragments) into contiguous gene and value arrays, and checks that the rows are exactly the
 * planned cells: every row's cell_integer_id is the cell cell_start_index places there, so each cell arrives
 * whole and nothing is lost or read twice. Anything else is LOADER_DATASET_UNSUPPORTED naming the cell.
 *
 * Measured on the 100k-cell PBMC (69M rows): offset/limit reads 64k rows in ~1 ms and 1M rows in 7–40 ms wherever
 * the offset lies; takeOffsets over the same 1M offsets takes ~2 s; a cell_integer_id range filter ~180 ms.
 */
import type * as lancedb from "@lancedb/lancedb";
import { fail } from "../../errors";
import type { GeneIds, StoredValues } from "../tokens";
import type { BlockTask, StepTask } from "./protocol";
import { EXPRESSION_COLUMNS } from "./source";

type Numeric = ArrayLike<number> & { length: number; subarray?: unknown };
type AnyArray = ArrayLike<number | bigint> & { length: number };
interface ArrowData {
  offset: number;
  length: number;
  nullCount: number;
  values: AnyArray & { subarray(a: number, b: number): AnyArray };
}
interface ArrowColumn {
  data: ArrowData[];
}
interface ArrowTableLike {
  numRows: number;
  getChild(name: string): ArrowColumn | null;
}

/** A step's rows: its emitted cells (blocks' cells with rows, block order) and where their rows lie in genes/values. */
export interface StepRows {
  genes: GeneIds;
  values: StoredValues;
  valueType: "integer" | "float";
  cellIds: Uint32Array;
  fragments: Int32Array;
  /** Row of each cell's first value in genes/values, and its count. */
  rowStart: Float64Array;
  rowCount: Uint32Array;
  rows: number;
}

function unsupported(message: string): never {
  fail("LOADER_DATASET_UNSUPPORTED", message);
}

function chunks(table: ArrowTableLike, name: string): AnyArray[] {
  const col = table.getChild(name);
  if (!col) unsupported(`The expression table has no ${name} column`);
  return col.data.map((d) => {
    if (d.nullCount > 0) unsupported(`The expression table's ${name} column has missing values`);
    return d.values.subarray(d.offset, d.offset + d.length);
  });
}

type GeneCtor = Uint16ArrayConstructor | Uint32ArrayConstructor | Int32ArrayConstructor;
type ValueCtor = Float32ArrayConstructor | Uint16ArrayConstructor | Uint32ArrayConstructor | Int32ArrayConstructor;

/** Stored gene ids keep their type when the tokenizers take it; anything else becomes Int32. */
function geneCtor(sample: AnyArray | undefined): GeneCtor {
  if (sample instanceof Uint16Array) return Uint16Array;
  if (sample instanceof Uint32Array) return Uint32Array;
  return Int32Array;
}

/** Stored values keep their type (uint16 counts, float32); float64 becomes float32, other integers int32. */
function valueCtor(sample: AnyArray | undefined): ValueCtor {
  if (sample instanceof Float32Array || sample instanceof Float64Array) return Float32Array;
  if (sample instanceof Uint16Array) return Uint16Array;
  if (sample instanceof Uint32Array) return Uint32Array;
  return Int32Array;
}

function copyInto(target: { set(a: ArrayLike<number>, at: number): void } & Numeric, src: AnyArray, at: number): void {
  if (src instanceof BigInt64Array || src instanceof BigUint64Array) {
    for (let i = 0; i < src.length; i++) (target as unknown as number[])[at + i] = Number(src[i]);
  } else target.set(src as ArrayLike<number>, at);
}

/** Checks that the block's rows hold exactly its cells, whole and in order. */
function checkCells(block: BlockTask, idChunks: AnyArray[]): void {
  const { starts, cellStart } = block;
  const nCells = starts.length - 1;
  let k = 0;
  let row = block.rowStart;
  for (const ids of idChunks) {
    const big = ids instanceof BigInt64Array || ids instanceof BigUint64Array;
    for (let i = 0; i < ids.length; i++, row++) {
      while (k < nCells && row >= starts[k + 1]) k++;
      const id = big ? Number(ids[i]) : (ids[i] as number);
      if (k >= nCells || id !== cellStart + k) {
        const c = Math.min(cellStart + k, cellStart + nCells - 1);
        const at = c - cellStart;
        unsupported(
          `Expression row ${row} holds cell ${id}, but cell_start_index places cell ${c} at rows ${starts[at]}–${starts[at + 1] - 1}: ` +
            `cell ${c}'s rows are not where cell_start_index says (the expression table must hold each cell's rows together, in cell order)`,
        );
      }
    }
  }
}

async function readBlock(table: lancedb.Table, b: BlockTask): Promise<ArrowTableLike> {
  const n = b.rowEnd - b.rowStart;
  const result = (await table
    .query()
    .select([...EXPRESSION_COLUMNS])
    .offset(b.rowStart)
    .limit(n)
    .toArrow({ maxBatchLength: Math.max(1024, n) })) as unknown as ArrowTableLike;
  if (result.numRows !== n) {
    unsupported(
      `Expression rows ${b.rowStart}–${b.rowEnd - 1} (cells ${b.cellStart}–${b.cellStart + b.starts.length - 2}): read ${result.numRows} rows, expected ${n}`,
    );
  }
  return result;
}

/** Starts every block read of the step at once (Lance runs them on its own threads) and assembles the rows. */
export async function readStep(table: lancedb.Table, task: StepTask): Promise<StepRows> {
  const tables = await Promise.all(task.blocks.map((b) => readBlock(table, b)));
  const rows = task.blocks.reduce((n, b) => n + b.rowEnd - b.rowStart, 0);
  const geneChunks = tables.map((t) => chunks(t, "gene_integer_id"));
  const valueChunks = tables.map((t) => chunks(t, "value"));
  const sampleValues = valueChunks.flat()[0];
  const Genes = geneCtor(geneChunks.flat()[0]);
  const Values = valueCtor(sampleValues);
  const genes = new Genes(rows);
  const values = new Values(rows);
  const cellIds = new Uint32Array(task.nCells);
  const fragments = new Int32Array(task.nCells);
  const rowStart = new Float64Array(task.nCells);
  const rowCount = new Uint32Array(task.nCells);
  let at = 0;
  let cell = 0;
  task.blocks.forEach((b, i) => {
    checkCells(b, chunks(tables[i], "cell_integer_id"));
    let r = at;
    for (const c of geneChunks[i]) {
      copyInto(genes, c, r);
      r += c.length;
    }
    r = at;
    for (const c of valueChunks[i]) {
      copyInto(values, c, r);
      r += c.length;
    }
    for (let k = 0; k + 1 < b.starts.length; k++) {
      const count = b.starts[k + 1] - b.starts[k];
      if (count === 0) continue;
      if (cell >= task.nCells) unsupported(`Step ${task.step} of epoch ${task.epoch} holds more cells with rows than planned (${task.nCells})`);
      cellIds[cell] = b.cellStart + k;
      fragments[cell] = b.fragment;
      rowStart[cell] = at + b.starts[k] - b.rowStart;
      rowCount[cell] = count;
      cell++;
    }
    at += b.rowEnd - b.rowStart;
  });
  if (cell !== task.nCells) unsupported(`Step ${task.step} of epoch ${task.epoch} holds ${cell} cells with rows, planned ${task.nCells}`);
  const valueType = sampleValues instanceof Float32Array || sampleValues instanceof Float64Array ? "float" : "integer";
  return { genes, values, valueType, cellIds, fragments, rowStart, rowCount, rows };
}
