/** layers.lance from the source's layers, read in lock-step chunks of cells. */
import { AppFailure } from "../../../shared/result";
import { arrow } from "../arrow";
import { sanitizeColumn } from "./names";
import { columnsTable, type SlafWriter } from "./slaf-writer";
import type { RowChunk, RowsOptions, Source } from "./source";

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
