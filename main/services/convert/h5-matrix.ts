/**
 * Streaming row chunks out of an HDF5 matrix: CSR (AnnData X, Cell Ranger's CSC over barcodes is the same
 * thing seen from the cell side), CSC over genes (regrouped through CellBuckets), or a dense 2-D dataset.
 */
import { fail } from "../errors";
import { CellBuckets, countingSortByCell } from "./cell-buckets";
import type { ConvertMatrix } from "../../../shared/ipc/types/convert";
import { attr, attrString, getEntity, isDataset, isGroup, numbers, quietHdf5, readInto, readSlice, type H5Dataset } from "./hdf5";
import type { RowChunk, RowsOptions } from "./source";

export type H5Matrix =
  | { kind: "by-cell"; nCells: number; nGenes: number; indptr: H5Dataset; indices: H5Dataset; data: H5Dataset }
  | { kind: "by-gene"; nCells: number; nGenes: number; indptr: H5Dataset; indices: H5Dataset; data: H5Dataset }
  | { kind: "dense"; nCells: number; nGenes: number; data: H5Dataset }
  /** Dense genes × cells (loom's /matrix and /layers). */
  | { kind: "dense-by-gene"; nCells: number; nGenes: number; data: H5Dataset };

/** An AnnData matrix entry (X or a layer): a csr/csc group or a dense dataset. */
export function describeAnnDataMatrix(entity: unknown, where: string, file: string): H5Matrix {
  if (isDataset(entity)) {
    const shape = entity.shape ?? [];
    if (shape.length !== 2) fail("CONVERT_INPUT_INVALID", `${file}: ${where} is a ${shape.length}-D array; expected a 2-D matrix`, { path: file });
    return { kind: "dense", nCells: shape[0], nGenes: shape[1], data: entity };
  }
  if (!isGroup(entity)) fail("CONVERT_INPUT_INVALID", `${file}: ${where} is missing`, { path: file });
  const enc = attrString(entity, "encoding-type") ?? `${attrString(entity, "h5sparse_format") ?? ""}_matrix`;
  const shape = numbers(attr(entity, "shape") ?? attr(entity, "h5sparse_shape"));
  const [indptr, indices, data] = ["indptr", "indices", "data"].map((k) => getEntity(entity, k));
  if (!isDataset(indptr) || !isDataset(indices) || !isDataset(data) || shape.length !== 2) {
    fail("CONVERT_INPUT_INVALID", `${file}: ${where} is a group but not a sparse matrix (needs data, indices, indptr and a shape attribute)`, { path: file });
  }
  if (enc !== "csr_matrix" && enc !== "csc_matrix")
    fail("CONVERT_INPUT_INVALID", `${file}: ${where} has encoding "${enc}"; expected csr_matrix or csc_matrix`, { path: file });
  const kind = enc === "csr_matrix" ? "by-cell" : "by-gene";
  const m = { kind, nCells: shape[0], nGenes: shape[1], indptr, indices, data } as H5Matrix;
  checkSparse(m, where, file);
  return m;
}

export function checkSparse(m: H5Matrix, where: string, file: string): void {
  if (m.kind === "dense" || m.kind === "dense-by-gene") return;
  const major = m.kind === "by-cell" ? m.nCells : m.nGenes;
  const n = m.indptr.shape?.[0] ?? 0;
  if (n !== major + 1) fail("CONVERT_INPUT_INVALID", `${file}: ${where}/indptr has ${n} entries; the shape needs ${major + 1}`, { path: file });
  const nnz = m.data.shape?.[0] ?? 0;
  if ((m.indices.shape?.[0] ?? 0) !== nnz) fail("CONVERT_INPUT_INVALID", `${file}: ${where}/indices and ${where}/data differ in length`, { path: file });
  const last = Number(readSlice(m.indptr, [[n - 1, n]], file)[0]);
  if (last !== nnz) fail("CONVERT_INPUT_INVALID", `${file}: ${where}/indptr ends at ${last} but ${where}/data has ${nnz} entries`, { path: file });
}

export function storedEntries(m: H5Matrix): number | null {
  return m.kind === "dense" || m.kind === "dense-by-gene" ? null : (m.data.shape?.[0] ?? 0);
}

/** numpy-style name of an HDF5 numeric dtype ("float32", "int64", "bool"...). */
export function dtypeName(ds: H5Dataset): string {
  const meta = quietHdf5(() => ds.metadata);
  const bits = meta.size * 8;
  if (meta.type === 0) return `${meta.signed ? "int" : "uint"}${bits}`;
  if (meta.type === 1) return `float${bits}`;
  if (meta.type === 8 && meta.size === 1) return "bool";
  return `HDF5 type ${meta.type}`;
}

const SAMPLE_BLOCK = 8192;

/**
 * Whether a matrix holds whole numbers (counts). An integer dtype says so at once. For floats we read three
 * blocks of 8,192 stored values (start, middle and end of `data`; for dense data the rows there) and call it
 * integer when every finite sampled value is whole: normalized or log data fails on almost every value, so a
 * sample this size does not mistake it for counts, and raw counts stored as float32 (as CELLxGENE does) pass.
 * Only a guess for choosing the default; the writer still checks every value when it picks uint16.
 */
export function holdsIntegers(m: H5Matrix, file: string): boolean | null {
  const dtype = dtypeName(m.data);
  if (/^u?int/.test(dtype) || dtype === "bool") return true;
  if (m.kind === "dense-by-gene") return denseByGeneIntegers(m, file);
  const total = m.kind === "dense" ? m.nCells : (m.data.shape?.[0] ?? 0);
  if (total === 0 || (m.kind === "dense" && m.nGenes === 0)) return null;
  const perRow = m.kind === "dense" ? Math.max(1, m.nGenes) : 1;
  const span = Math.max(1, Math.ceil(SAMPLE_BLOCK / perRow));
  const starts = [...new Set([0, Math.max(0, Math.floor(total / 2) - Math.floor(span / 2)), Math.max(0, total - span)])];
  let seen = 0;
  for (const s of starts) {
    const e = Math.min(total, s + span);
    const ranges: [number, number][] =
      m.kind === "dense"
        ? [
            [s, e],
            [0, m.nGenes],
          ]
        : [[s, e]];
    const values = readSlice(m.data, ranges, file);
    for (let i = 0; i < values.length; i++) {
      const v = Number(values[i]);
      if (!Number.isFinite(v)) continue;
      if (v !== Math.floor(v)) return false;
      seen++;
    }
  }
  return seen > 0 ? true : null;
}

/** holdsIntegers for genes × cells: a window of up to 64 genes × 2,048 cells at the start, middle and end. */
function denseByGeneIntegers(m: Extract<H5Matrix, { kind: "dense-by-gene" }>, file: string): boolean | null {
  if (m.nGenes === 0 || m.nCells === 0) return null;
  const cells: [number, number] = [0, Math.min(m.nCells, 2048)];
  let seen = 0;
  for (const g0 of new Set([0, Math.max(0, (m.nGenes >> 1) - 32), Math.max(0, m.nGenes - 64)])) {
    const values = readSlice(m.data, [[g0, Math.min(m.nGenes, g0 + 64)], cells], file);
    for (let i = 0; i < values.length; i++) {
      const v = Number(values[i]);
      if (!Number.isFinite(v) || v === 0) continue;
      if (v !== Math.floor(v)) return false;
      seen++;
    }
  }
  return seen > 0 ? true : null;
}

export function matrixInfo(m: H5Matrix, name: string, path: string, file: string): ConvertMatrix {
  return { name, path, nCells: m.nCells, nGenes: m.nGenes, dtype: dtypeName(m.data), integer: holdsIntegers(m, file), nnz: storedEntries(m) };
}

function toIndptr(raw: ArrayLike<number | bigint>): Uint32Array | Float64Array {
  const base = Number(raw[0]);
  const out = Number(raw[raw.length - 1]) - base < 2 ** 32 ? new Uint32Array(raw.length) : new Float64Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = Number(raw[i]) - base;
  return out;
}

function checkIndices(idx: ArrayLike<number>, limit: number, what: string, file: string): void {
  for (let i = 0; i < idx.length; i++) {
    const v = idx[i];
    if (!(v >= 0 && v < limit)) fail("CONVERT_INPUT_INVALID", `${file}: ${what} index ${v} is outside 0..${limit - 1}`, { path: file });
  }
}

export async function* matrixRows(m: H5Matrix, where: string, file: string, opts: RowsOptions): AsyncGenerator<RowChunk> {
  if (m.kind === "by-cell") yield* byCellRows(m, where, file, opts);
  else if (m.kind === "dense") yield* denseRows(m, file, opts);
  else if (m.kind === "dense-by-gene") yield* denseByGeneRows(m, file, opts);
  else yield* byGeneRows(m, where, file, opts);
}

/**
 * A chunk's gene and value arrays, reused from one chunk to the next (consumers are done with a chunk before
 * they ask for the next one): typed like the stored data, grown when a chunk is larger.
 */
type Numeric1D = Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | Float32Array | Float64Array;

class ChunkArrays {
  genes: Int32Array | Uint32Array | Uint16Array = new Int32Array(0);
  values: Numeric1D = new Float32Array(0);
  constructor(
    private readonly geneType: new (n: number) => Int32Array | Uint32Array | Uint16Array,
    private readonly valueType: new (n: number) => Numeric1D,
  ) {}
  take(n: number): { genes: Int32Array | Uint32Array | Uint16Array; values: Numeric1D } {
    if (this.genes.length < n) {
      const size = Math.ceil(n * 1.2);
      this.genes = new this.geneType(size);
      this.values = new this.valueType(size);
    }
    return { genes: this.genes.subarray(0, n), values: this.values.subarray(0, n) as Numeric1D };
  }
}

/** The JS array type a dataset's values land in (64-bit integers as float64: they are turned into numbers). */
function arrayTypeOf(ds: H5Dataset): new (n: number) => Numeric1D {
  const meta = quietHdf5(() => ds.metadata);
  if (meta.type === 1) return meta.size === 4 ? Float32Array : Float64Array;
  if (meta.size === 8) return Float64Array;
  const ints: Record<number, [new (n: number) => Numeric1D, new (n: number) => Numeric1D]> = {
    1: [Int8Array, Uint8Array],
    2: [Int16Array, Uint16Array],
    4: [Int32Array, Uint32Array],
  };
  return (ints[meta.size] ?? [Float64Array, Float64Array])[meta.signed ? 0 : 1];
}

/** Most entries read by libhdf5 at once: the wasm heap grows to the largest read and never shrinks. */
const READ_PIECE = 1 << 20;

function readRangeInto(ds: H5Dataset, p0: number, p1: number, out: Numeric1D | Float64Array, file: string): void {
  for (let a = p0; a < p1; a += READ_PIECE) readInto(ds, a, Math.min(p1, a + READ_PIECE), out, a - p0, file);
}

function* byCellRows(m: Extract<H5Matrix, { kind: "by-cell" }>, where: string, file: string, opts: RowsOptions): Generator<RowChunk> {
  const indexType = quietHdf5(() => m.indices.metadata);
  const geneType = indexType.type === 0 && indexType.size === 4 ? (indexType.signed ? Int32Array : Uint32Array) : Int32Array;
  const arrays = new ChunkArrays(geneType, arrayTypeOf(m.data));
  for (let start = 0; start < m.nCells; start += opts.chunkCells) {
    const end = Math.min(m.nCells, start + opts.chunkCells);
    const raw = readSlice(m.indptr, [[start, end + 1]], file) as ArrayLike<number | bigint>;
    const p0 = Number(raw[0]);
    const p1 = Number(raw[raw.length - 1]);
    const indptr = toIndptr(raw);
    for (let i = 1; i < indptr.length; i++) {
      if (indptr[i] < indptr[i - 1]) fail("CONVERT_INPUT_INVALID", `${file}: ${where}/indptr decreases at row ${start + i - 1}`, { path: file });
    }
    const { genes, values } = arrays.take(Math.max(0, p1 - p0));
    readRangeInto(m.indices, p0, p1, genes as Numeric1D, file);
    readRangeInto(m.data, p0, p1, values, file);
    checkIndices(genes, m.nGenes, `${where} gene`, file);
    yield { start, end, indptr, genes, values: values as RowChunk["values"] };
  }
}

const DENSE_BLOCK_VALUES = 4 * 1024 * 1024;

function* denseRows(m: Extract<H5Matrix, { kind: "dense" }>, file: string, opts: RowsOptions): Generator<RowChunk> {
  const rowsPerRead = Math.max(1, Math.floor(DENSE_BLOCK_VALUES / Math.max(1, m.nGenes)));
  for (let start = 0; start < m.nCells; start += opts.chunkCells) {
    const end = Math.min(m.nCells, start + opts.chunkCells);
    const indptr = new Float64Array(end - start + 1);
    let genes = new Uint32Array(1 << 16);
    let values = new Float32Array(1 << 16);
    let n = 0;
    for (let r0 = start; r0 < end; r0 += rowsPerRead) {
      const r1 = Math.min(end, r0 + rowsPerRead);
      const block = readSlice(
        m.data,
        [
          [r0, r1],
          [0, m.nGenes],
        ],
        file,
      ) as ArrayLike<number>;
      for (let r = r0; r < r1; r++) {
        const base = (r - r0) * m.nGenes;
        for (let g = 0; g < m.nGenes; g++) {
          const v = Number(block[base + g]);
          if (v === 0) continue;
          if (n === genes.length) {
            const g2 = new Uint32Array(n * 2);
            g2.set(genes);
            genes = g2;
            const v2 = new Float32Array(n * 2);
            v2.set(values);
            values = v2;
          }
          genes[n] = g;
          values[n++] = v;
        }
        indptr[r - start + 1] = n;
      }
    }
    yield { start, end, indptr, genes: genes.subarray(0, n), values: values.subarray(0, n) };
  }
}

/**
 * Dense genes × cells: each chunk of cells is read in blocks of genes (at most DENSE_BLOCK_VALUES values at a
 * time); the nonzeros arrive gene by gene and a stable counting sort by cell gives CSR with sorted genes.
 */
function* denseByGeneRows(m: Extract<H5Matrix, { kind: "dense-by-gene" }>, file: string, opts: RowsOptions): Generator<RowChunk> {
  for (let start = 0; start < m.nCells; start += opts.chunkCells) {
    const end = Math.min(m.nCells, start + opts.chunkCells);
    const width = end - start;
    const genesPerRead = Math.max(1, Math.floor(DENSE_BLOCK_VALUES / width));
    let cell = new Uint32Array(1 << 16);
    let gene = new Uint32Array(1 << 16);
    let value = new Float32Array(1 << 16);
    let n = 0;
    for (let g0 = 0; g0 < m.nGenes; g0 += genesPerRead) {
      if (opts.signal?.aborted) throw opts.signal.reason;
      const g1 = Math.min(m.nGenes, g0 + genesPerRead);
      const block = readSlice(
        m.data,
        [
          [g0, g1],
          [start, end],
        ],
        file,
      ) as ArrayLike<number>;
      for (let g = g0; g < g1; g++) {
        const base = (g - g0) * width;
        for (let c = 0; c < width; c++) {
          const v = Number(block[base + c]);
          if (v === 0) continue;
          if (n === cell.length) {
            const grow = <T extends Uint32Array | Float32Array>(a: T, make: (k: number) => T): T => {
              const b = make(n * 2);
              b.set(a);
              return b;
            };
            cell = grow(cell, (k) => new Uint32Array(k));
            gene = grow(gene, (k) => new Uint32Array(k));
            value = grow(value, (k) => new Float32Array(k));
          }
          cell[n] = start + c;
          gene[n] = g;
          value[n++] = v;
        }
      }
    }
    yield countingSortByCell(cell.subarray(0, n), gene.subarray(0, n), value.subarray(0, n), start, end);
  }
}

const GENE_MAJOR_BLOCK = 4 * 1024 * 1024;

function* byGeneRows(m: Extract<H5Matrix, { kind: "by-gene" }>, where: string, file: string, opts: RowsOptions): Generator<RowChunk> {
  const buckets = new CellBuckets(m.nCells, opts.chunkCells, opts.scratchDir);
  try {
    const gp = readSlice(m.indptr, [], file) as ArrayLike<number | bigint>;
    const nnz = Number(gp[gp.length - 1]);
    let gene = 0;
    let geneEnd = Number(gp[1]);
    for (let p0 = 0; p0 < nnz; p0 += GENE_MAJOR_BLOCK) {
      if (opts.signal?.aborted) throw opts.signal.reason;
      const p1 = Math.min(nnz, p0 + GENE_MAJOR_BLOCK);
      const cells = readSlice(m.indices, [[p0, p1]], file) as ArrayLike<number>;
      const vals = readSlice(m.data, [[p0, p1]], file) as ArrayLike<number>;
      checkIndices(cells, m.nCells, `${where} cell`, file);
      for (let i = 0; i < cells.length; i++) {
        while (p0 + i >= geneEnd) geneEnd = Number(gp[++gene + 1]);
        buckets.add(cells[i], gene, Number(vals[i]));
      }
      opts.onPrepass?.(p1 / nnz);
    }
    yield* buckets.chunks();
  } finally {
    buckets.close();
  }
}
