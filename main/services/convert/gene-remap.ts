/**
 * Moving X-indexed data (var columns, varm, layers) onto raw/var's genes, and back, matched by gene name:
 * raw/var may list more genes than var (genes filtered out of X stay in raw), so the genes table follows the
 * matrix that fills expression and everything else is placed by name.
 */
import { gatherColumn } from "./column-gather";
import type { Embedding, Frame, RowChunk } from "./source";

/** For each name of `from`, its position in `to` (first occurrence), or -1. `null` when the lists are equal. */
export function geneMap(from: string[], to: string[]): Int32Array | null {
  if (from.length === to.length && from.every((n, i) => n === to[i])) return null;
  const at = new Map<string, number>();
  to.forEach((n, i) => {
    if (!at.has(n)) at.set(n, i);
  });
  return Int32Array.from(from, (n) => at.get(n) ?? -1);
}

/** The inverse placement: for each of `length` target rows, the source row mapped onto it, or -1. */
export function invertMap(map: Int32Array, length: number): Int32Array {
  const out = new Int32Array(length).fill(-1);
  map.forEach((to, from) => {
    if (to >= 0 && out[to] < 0) out[to] = from;
  });
  return out;
}

export function unmatched(map: Int32Array | null): number {
  return map ? map.reduce((n, x) => n + (x < 0 ? 1 : 0), 0) : 0;
}

/**
 * raw/var as the genes table, plus var's columns that raw/var lacks (e.g. highly_variable), null for the genes
 * that are only in raw. `rawToX[g]` is raw gene g's row in var, or -1.
 */
export function mergedVar(rawVar: Frame, xVar: Frame, rawToX: Int32Array | null): Frame {
  const own = new Set(rawVar.columns.map((c) => c.name));
  const extra = xVar.columns
    .filter((c) => !own.has(c.name))
    .map((c) => {
      if (!rawToX) return c;
      let whole: ReturnType<typeof c.read> | null = null;
      return { name: c.name, read: (s: number, e: number) => gatherColumn((whole ??= c.read(0, xVar.length)), rawToX.subarray(s, e)) };
    });
  return { length: rawVar.length, readIndex: () => rawVar.readIndex(), columns: [...rawVar.columns, ...extra] };
}

/** varm rows placed on the target genes; NaN for genes the source has no row for. */
export function remappedEmbedding(e: Embedding, sourceRows: number, targetToSource: Int32Array): Embedding {
  let whole: Float32Array | null = null;
  return {
    name: e.name,
    dim: e.dim,
    read(start, end) {
      whole ??= e.read(0, sourceRows);
      const out = new Float32Array((end - start) * e.dim).fill(NaN);
      for (let g = start; g < end; g++) {
        const src = targetToSource[g];
        if (src >= 0) out.set(whole.subarray(src * e.dim, (src + 1) * e.dim), (g - start) * e.dim);
      }
      return out;
    },
  };
}

/** Row chunks with gene ids moved through `map`; entries of genes mapped to -1 are dropped. */
export async function* remappedRows(chunks: AsyncIterable<RowChunk>, map: Int32Array): AsyncGenerator<RowChunk> {
  for await (const c of chunks) {
    const rows = c.end - c.start;
    const indptr = new Float64Array(rows + 1);
    const genes = new Int32Array(c.genes.length);
    const values = new Float64Array(c.genes.length);
    let n = 0;
    for (let r = 0; r < rows; r++) {
      for (let i = c.indptr[r]; i < c.indptr[r + 1]; i++) {
        const g = map[c.genes[i]];
        if (g < 0) continue;
        genes[n] = g;
        values[n++] = Number(c.values[i]);
      }
      indptr[r + 1] = n;
    }
    yield { start: c.start, end: c.end, indptr, genes: genes.subarray(0, n), values: values.subarray(0, n) };
  }
}
