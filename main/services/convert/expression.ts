/**
 * expression.lance (and layers.lance) from a source's row chunks: cell-major COO, each cell's entries sorted by
 * gene, value type decided from every value (uint16 only when all are integers in 0..65535), per-cell counts
 * taken from what is written. Reading the next chunk overlaps the native write of the previous one.
 */
import { AppFailure } from "../../../shared/result";
import { arrow } from "../arrow";
import { sanitizeColumn } from "./names";
import { columnsTable, type SlafWriter, type ValueStats, type ValueType } from "./slaf-writer";
import type { RowChunk, RowsOptions, Source } from "./source";

class NeedsFloat32 extends Error {}

export interface ExpressionResult {
  counts: Uint32Array;
  nnz: number;
  valueType: ValueType;
  warnings: string[];
}

export interface ExpressionOptions extends RowsOptions {
  onCells?: (done: number) => void;
}

/** Sorts one row's entries by gene when they came unsorted (CSR indices need not be sorted). */
function sortRows(indptr: ArrayLike<number>, genes: Uint32Array | Int32Array | Uint16Array, values: Float32Array | Float64Array | ArrayLike<number> & { [i: number]: number }): void {
  for (let r = 0; r + 1 < indptr.length; r++) {
    const s = indptr[r];
    const e = indptr[r + 1];
    let sorted = true;
    for (let i = s + 1; i < e; i++) {
      if (genes[i] < genes[i - 1]) {
        sorted = false;
        break;
      }
    }
    if (sorted) continue;
    const order = Array.from({ length: e - s }, (_, k) => s + k).sort((a, b) => genes[a] - genes[b]);
    const g = order.map((i) => genes[i]);
    const v = order.map((i) => values[i]);
    for (let k = 0; k < g.length; k++) {
      genes[s + k] = g[k];
      values[s + k] = v[k];
    }
  }
}

function fillCells(chunk: RowChunk, out: Uint32Array | Int32Array, counts: Uint32Array): void {
  for (let r = 0; r < chunk.end - chunk.start; r++) {
    const s = chunk.indptr[r];
    const e = chunk.indptr[r + 1];
    counts[chunk.start + r] = e - s;
    out.fill(chunk.start + r, s, e);
  }
}

/** Copies values into the slot (checking they fit uint16 when that is the type) and sums them for the stats. */
function fillValues(values: RowChunk["values"], out: Uint16Array | Float32Array, flags: { negative: number; nan: number }, stats: ValueStats): void {
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let sumSq = 0;
  let nan = 0;
  if (out instanceof Uint16Array) {
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (!(v >= 0 && v <= 65535 && Math.floor(v) === v)) throw new NeedsFloat32();
      out[i] = v;
      if (v < min) min = v;
      if (v > max) max = v;
      sum += v;
      sumSq += v * v;
    }
  } else {
    out.set(values);
    for (let i = 0; i < out.length; i++) {
      const v = out[i];
      if (v !== v) {
        nan++;
        continue;
      }
      if (v < 0) flags.negative++;
      if (v < min) min = v;
      if (v > max) max = v;
      sum += v;
      sumSq += v * v;
    }
    flags.nan += nan;
  }
  stats.merge({ min, max, sum, sumSq, finite: values.length - nan, count: values.length });
}

async function writePass(source: Source, writer: SlafWriter, opts: ExpressionOptions): Promise<ExpressionResult> {
  const counts = new Uint32Array(source.nCells);
  const flags = { negative: 0, nan: 0 };
  let nnz = 0;
  let pending: Promise<void> | null = null;
  try {
    for await (const chunk of source.rows("X", opts)) {
      if (opts.signal?.aborted) throw opts.signal.reason;
      if (writer.valueType === "uint16" && chunk.allFitUint16 === false) throw new NeedsFloat32();
      sortRows(chunk.indptr, chunk.genes, chunk.values);
      const n = chunk.indptr[chunk.indptr.length - 1];
      const slot = await writer.expressionSlot(n);
      fillValues(chunk.values, slot.value, flags, writer.stats);
      slot.gene.set(chunk.genes);
      fillCells(chunk, slot.cell, counts);
      nnz += n;
      if (pending) await pending;
      pending = slot.commit(true);
      pending.catch(() => {});
      opts.onCells?.(chunk.end);
    }
    if (pending) await pending;
  } catch (e) {
    if (pending) await pending.catch(() => {});
    throw e;
  }
  const warnings: string[] = [];
  if (flags.negative || flags.nan) {
    const what = [flags.negative ? `${flags.negative.toLocaleString("en-US")} negative` : "", flags.nan ? `${flags.nan.toLocaleString("en-US")} NaN` : ""].filter(Boolean).join(" and ");
    warnings.push(`X has ${what} values where counts are expected; kept as float32`);
  }
  return { counts, nnz, valueType: writer.valueType, warnings };
}

/** Writes expression.lance: first as uint16, again as float32 if any value does not fit. */
export async function writeExpression(source: Source, writer: SlafWriter, opts: ExpressionOptions): Promise<ExpressionResult> {
  try {
    return await writePass(source, writer, opts);
  } catch (e) {
    if (!(e instanceof NeedsFloat32)) throw e;
  }
  await writer.restartExpression("float32");
  return writePass(source, writer, opts);
}

/**
 * layers.lance, wide: one row per (cell, gene) stored in any layer, sorted, one nullable float32 column per
 * layer (null where that layer has no entry). SLAF's chunked path writes every cell × gene pair instead.
 */
export async function writeLayers(source: Source, writer: SlafWriter, opts: RowsOptions): Promise<void> {
  if (source.layers.length === 0) return;
  const { Schema, Field, Uint32, Uint16, Int32, Float32, makeData } = arrow;
  const names = source.layers.map(sanitizeColumn);
  const schema = new Schema([
    new Field("cell_integer_id", writer.wideIds ? new Int32() : new Uint32(), false),
    new Field("gene_integer_id", writer.wideIds ? new Int32() : new Uint16(), false),
    ...names.map((n) => new Field(n, new Float32(), true)),
  ]);
  const iterators = source.layers.map((layer) => source.rows({ layer }, opts)[Symbol.asyncIterator]());
  for (;;) {
    if (opts.signal?.aborted) throw opts.signal.reason;
    const chunks = await Promise.all(iterators.map((it) => it.next()));
    if (chunks.every((c) => c.done)) break;
    if (chunks.some((c) => c.done)) throw new AppFailure("INTERNAL", "layers yielded different chunkings");
    const parts = chunks.map((c) => c.value as RowChunk);
    const { start, end } = parts[0];
    const cells: number[] = [];
    const genes: number[] = [];
    const cols: (number | null)[][] = parts.map(() => []);
    for (let r = 0; r < end - start; r++) {
      const byGene = new Map<number, (number | null)[]>();
      parts.forEach((p, k) => {
        for (let i = p.indptr[r]; i < p.indptr[r + 1]; i++) {
          let row = byGene.get(p.genes[i]);
          if (!row) byGene.set(p.genes[i], (row = parts.map(() => null)));
          row[k] = Number(p.values[i]);
        }
      });
      for (const g of [...byGene.keys()].sort((a, b) => a - b)) {
        cells.push(start + r);
        genes.push(g);
        byGene.get(g)!.forEach((v, k) => cols[k].push(v));
      }
    }
    const n = cells.length;
    const idData = [writer.wideIds ? Int32Array.from(cells) : Uint32Array.from(cells), writer.wideIds ? Int32Array.from(genes) : Uint16Array.from(genes)];
    const table = columnsTable(new Schema(schema.fields.slice(0, 2)), idData, n);
    const full = table.assign(
      new arrow.Table(
        Object.fromEntries(
          names.map((name, k) => {
            const nulls = new Uint8Array(Math.ceil(n / 8));
            const data = new Float32Array(n);
            let nullCount = 0;
            cols[k].forEach((v, i) => {
              if (v === null) nullCount++;
              else {
                data[i] = v;
                nulls[i >> 3] |= 1 << (i & 7);
              }
            });
            return [name, arrow.makeVector(makeData({ type: new Float32(), length: n, nullCount, nullBitmap: nulls, data }))];
          }),
        ),
      ),
    );
    await writer.writeTable("layers", full as unknown as typeof table);
  }
}
