/**
 * expression.lance from a source's row chunks: cell-major COO, each cell's entries sorted by
 * gene, value type decided from every value (uint16 only when all are integers in 0..65535), per-cell counts
 * taken from what is written. Reading the next chunk overlaps the native write of the previous one.
 */
import type { SlafWriter, ValueStats, ValueType } from "./slaf-writer";
import { RestartRows, type RowChunk, type RowsOptions, type Source } from "./source";

class NeedsFloat32 extends Error {}

export interface ExpressionResult {
  counts: Uint32Array;
  nnz: number;
  valueType: ValueType;
  warnings: string[];
  /** Why the reader had to start over, when it did (a note for the summary). */
  restarted?: string;
}

export interface ExpressionOptions extends RowsOptions {
  onCells?: (done: number) => void;
  /** The input matrix, as messages name it ("X", "raw/X"...). */
  label?: string;
}

/** Sorts one row's entries by gene when they came unsorted (CSR indices need not be sorted). */
export function sortRows(
  indptr: ArrayLike<number>,
  genes: Uint32Array | Int32Array | Uint16Array,
  values: Float32Array | Float64Array | (ArrayLike<number> & { [i: number]: number }),
): void {
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
      if (writer.valueType === "uint16" && (chunk.allFitUint16 === false || chunk.stats?.fitsUint16 === false)) throw new NeedsFloat32();
      if (!chunk.genesSorted) sortRows(chunk.indptr, chunk.genes, chunk.values);
      const n = chunk.indptr[chunk.indptr.length - 1];
      const slot = await writer.expressionSlot(n);
      if (chunk.stats) {
        // Checked by the reader already: a plain copy (the stats say every value fits when the slot is uint16).
        slot.value.set(chunk.values);
        writer.stats.merge(chunk.stats);
        if (slot.value instanceof Float32Array) {
          flags.negative += chunk.stats.negative;
          flags.nan += chunk.stats.count - chunk.stats.finite;
        }
      } else fillValues(chunk.values, slot.value, flags, writer.stats);
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
    const what = [flags.negative ? `${flags.negative.toLocaleString("en-US")} negative` : "", flags.nan ? `${flags.nan.toLocaleString("en-US")} NaN` : ""]
      .filter(Boolean)
      .join(" and ");
    warnings.push(`${opts.label ?? "X"} has ${what} values where counts are expected; kept as float32`);
  }
  return { counts, nnz, valueType: writer.valueType, warnings };
}

/**
 * Writes expression.lance: first as uint16, again as float32 if any value does not fit, and again when the
 * reader asks to start over (RestartRows: it has switched to another way of reading).
 */
export async function writeExpression(source: Source, writer: SlafWriter, opts: ExpressionOptions): Promise<ExpressionResult> {
  let restarted: string | undefined;
  for (let attempt = 0; ; attempt++) {
    try {
      return { ...(await writePass(source, writer, opts)), restarted };
    } catch (e) {
      if (attempt >= 3 || !(e instanceof NeedsFloat32 || e instanceof RestartRows)) throw e;
      if (e instanceof RestartRows) {
        restarted = e.message;
        opts.onPrepass?.(0);
      }
      await writer.restartExpression(e instanceof NeedsFloat32 ? "float32" : writer.valueType);
    }
  }
}
