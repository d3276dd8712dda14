/**
 * obsp / varp as SLAF writes them (slaf-format.md §1.7): cellsxcells.lance / genesxgenes.lance with one row per
 * (i, j) stored in any key, sorted by (i, j), and one float32 column per key (0.0 where that key has no entry);
 * a single (0, 0, 0...) row when every key is empty, so the table exists. SLAF's converter builds these from the
 * whole matrices in memory (non-chunked path only); here each block's keys are read in lock-step row chunks.
 */
import { arrow } from "../arrow";
import { AppFailure } from "../../../shared/result";
import { sortRows } from "./expression";
import { sanitizeColumn } from "./names";
import { columnsTable, type SlafWriter } from "./slaf-writer";
import type { PairwiseBlock, RowChunk, RowsOptions } from "./source";

export type PairwiseTable = "cellsxcells" | "genesxgenes";

class Columns {
  n = 0;
  i: Uint32Array | Uint16Array | Int32Array;
  j: Uint32Array | Uint16Array | Int32Array;
  values: Float32Array[];
  constructor(
    private readonly idType: typeof Uint32Array | typeof Uint16Array | typeof Int32Array,
    private readonly keys: number,
    private capacity = 1 << 16,
  ) {
    this.i = new idType(capacity);
    this.j = new idType(capacity);
    this.values = Array.from({ length: keys }, () => new Float32Array(capacity));
  }
  /** Room for one more row; the new row's key values start at 0. */
  push(i: number, j: number): number {
    if (this.n === this.capacity) {
      this.capacity *= 2;
      const grow = <T extends Uint32Array | Uint16Array | Int32Array | Float32Array>(a: T, Ctor: new (n: number) => T): T => {
        const b = new Ctor(this.capacity);
        b.set(a);
        return b;
      };
      this.i = grow(this.i, this.idType as never);
      this.j = grow(this.j, this.idType as never);
      this.values = this.values.map((v) => grow(v, Float32Array));
    }
    this.i[this.n] = i;
    this.j[this.n] = j;
    for (const v of this.values) v[this.n] = 0;
    return this.n++;
  }
  reset(): void {
    this.n = 0;
  }
}

/** Writes `table` from the blocks; returns the key columns written (none: no table). */
export async function writePairwise(table: PairwiseTable, blocks: PairwiseBlock[], writer: SlafWriter, opts: RowsOptions): Promise<string[]> {
  const names: string[] = [];
  for (const b of blocks) for (const m of b.matrices) if (!names.includes(m.name)) names.push(m.name);
  if (names.length === 0) return [];
  const keys = names.map(sanitizeColumn);
  const { Schema, Field, Uint32, Uint16, Int32, Float32 } = arrow;
  const cells = table === "cellsxcells";
  const prefix = cells ? "cell_integer_id" : "gene_integer_id";
  const [idType, IdArray] = cells ? [new Uint32(), Uint32Array] : writer.wideIds ? [new Int32(), Int32Array] : [new Uint16(), Uint16Array];
  const schema = new Schema([
    new Field(`${prefix}_i`, idType, false),
    new Field(`${prefix}_j`, idType, false),
    ...keys.map((k) => new Field(k, new Float32(), false)),
  ]);
  const out = new Columns(IdArray, keys.length);
  let written = 0;
  const flush = async () => {
    if (out.n === 0) return;
    await writer.writeTable(
      table,
      columnsTable(schema, [out.i.subarray(0, out.n), out.j.subarray(0, out.n), ...out.values.map((v) => v.subarray(0, out.n))], out.n),
    );
    written += out.n;
    out.reset();
  };
  for (const block of blocks) {
    const column = block.matrices.map((m) => names.indexOf(m.name));
    const iterators = block.matrices.map((m) => m.rows(opts)[Symbol.asyncIterator]());
    const place = (r: number) => (block.map ? block.map[r] : block.offset + r);
    for (;;) {
      if (opts.signal?.aborted) throw opts.signal.reason;
      const next = await Promise.all(iterators.map((it) => it.next()));
      if (next.every((c) => c.done)) break;
      if (next.some((c) => c.done)) throw new AppFailure("INTERNAL", `${table}: the keys yielded different chunkings`);
      const parts = next.map((c) => c.value as RowChunk);
      for (const p of parts) sortRows(p.indptr, p.genes, p.values);
      const { start, end } = parts[0];
      const pos = new Float64Array(parts.length);
      for (let r = 0; r < end - start; r++) {
        const i = place(start + r);
        if (i < 0) continue;
        parts.forEach((p, k) => (pos[k] = p.indptr[r]));
        for (;;) {
          let j = Infinity;
          parts.forEach((p, k) => {
            if (pos[k] < p.indptr[r + 1] && p.genes[pos[k]] < j) j = p.genes[pos[k]];
          });
          if (j === Infinity) break;
          const jOut = place(j);
          const row = jOut >= 0 ? out.push(i, jOut) : -1;
          parts.forEach((p, k) => {
            if (pos[k] < p.indptr[r + 1] && p.genes[pos[k]] === j) {
              if (row >= 0) out.values[column[k]][row] = Number(p.values[pos[k]]);
              pos[k]++;
            }
          });
        }
      }
      await flush();
    }
  }
  if (written === 0) {
    out.push(0, 0);
    await flush();
  }
  return keys;
}

/**
 * The blocks with every row / column index sent through `map` (output index → new index, -1: dropped); null
 * when that would break the (i, j) order (the kept indices must stay increasing).
 */
export function remapBlocks(blocks: PairwiseBlock[] | undefined, map: Int32Array): PairwiseBlock[] | undefined | null {
  if (!blocks) return blocks;
  const out: PairwiseBlock[] = [];
  for (const b of blocks) {
    const m = new Int32Array(b.size);
    let last = -1;
    for (let r = 0; r < b.size; r++) {
      const o = b.map ? b.map[r] : b.offset + r;
      m[r] = o < 0 || o >= map.length ? -1 : map[o];
      if (m[r] < 0) continue;
      if (m[r] <= last) return null;
      last = m[r];
    }
    out.push({ ...b, map: m });
  }
  return out;
}
