/**
 * Regroups (cell, gene, value) triples that arrive in any order (MatrixMarket is written gene by gene or cell
 * by cell; CSC is gene-major) into chunks of consecutive cells, in bounded memory: each chunk of cells has a
 * small typed-array buffer, flushed to one spill file as it fills; a chunk is read back whole when its turn comes.
 */
import fs from "node:fs";
import path from "node:path";
import type { RowChunk } from "./source";

const ENTRY_BYTES = 12;

export class CellBuckets {
  readonly nBuckets: number;
  private readonly capacity: number;
  private readonly cells: (Uint32Array | null)[];
  private readonly genes: (Uint32Array | null)[];
  private readonly values: (Float32Array | null)[];
  private readonly fill: Int32Array;
  private readonly blocks: number[][];
  private readonly totals: Float64Array;
  private fd: number | null = null;
  private spillBytes = 0;
  private readonly spillPath: string;
  /** Every value added so far is an integer in 0..65535. */
  allFitUint16 = true;

  constructor(
    readonly nCells: number,
    readonly chunkCells: number,
    scratchDir: string,
    memoryBudgetBytes = 96 * 1024 * 1024,
  ) {
    this.nBuckets = Math.max(1, Math.ceil(nCells / chunkCells));
    this.capacity = Math.max(1024, Math.min(1 << 20, Math.floor(memoryBudgetBytes / ENTRY_BYTES / this.nBuckets)));
    this.cells = new Array(this.nBuckets).fill(null);
    this.genes = new Array(this.nBuckets).fill(null);
    this.values = new Array(this.nBuckets).fill(null);
    this.fill = new Int32Array(this.nBuckets);
    this.blocks = Array.from({ length: this.nBuckets }, () => []);
    this.totals = new Float64Array(this.nBuckets);
    this.spillPath = path.join(scratchDir, `cells-${process.pid}-${Date.now()}.spill`);
  }

  add(cell: number, gene: number, value: number): void {
    if (this.allFitUint16 && !(value >= 0 && value <= 65535 && Math.floor(value) === value)) this.allFitUint16 = false;
    const b = (cell / this.chunkCells) | 0;
    let cells = this.cells[b];
    if (cells === null) {
      cells = this.cells[b] = new Uint32Array(this.capacity);
      this.genes[b] = new Uint32Array(this.capacity);
      this.values[b] = new Float32Array(this.capacity);
    }
    const i = this.fill[b];
    cells[i] = cell;
    this.genes[b]![i] = gene;
    this.values[b]![i] = value;
    this.totals[b]++;
    if ((this.fill[b] = i + 1) === this.capacity) this.flush(b);
  }

  private flush(b: number): void {
    const n = this.fill[b];
    if (n === 0) return;
    if (this.fd === null) this.fd = fs.openSync(this.spillPath, "w+");
    const at = this.spillBytes;
    for (const arr of [this.cells[b]!, this.genes[b]!, this.values[b]!]) {
      const bytes = new Uint8Array(arr.buffer, 0, n * 4);
      let written = 0;
      while (written < bytes.length) written += fs.writeSync(this.fd, bytes, written, bytes.length - written, this.spillBytes + written);
      this.spillBytes += bytes.length;
    }
    this.blocks[b].push(at, n);
    this.fill[b] = 0;
  }

  /** Entries of each cell, counted while adding. */
  count(bucket: number): number {
    return this.totals[bucket];
  }

  /** The chunks in cell order; each entry keeps its arrival order within its cell. */
  *chunks(): Generator<RowChunk> {
    for (let b = 0; b < this.nBuckets; b++) {
      const n = this.totals[b];
      const cell = new Uint32Array(n);
      const gene = new Uint32Array(n);
      const value = new Float32Array(n);
      let at = 0;
      const blocks = this.blocks[b];
      for (let k = 0; k < blocks.length; k += 2) {
        const offset = blocks[k];
        const m = blocks[k + 1];
        this.readInto(new Uint8Array(cell.buffer, at * 4, m * 4), offset);
        this.readInto(new Uint8Array(gene.buffer, at * 4, m * 4), offset + m * 4);
        this.readInto(new Uint8Array(value.buffer, at * 4, m * 4), offset + m * 8);
        at += m;
      }
      const f = this.fill[b];
      if (f > 0) {
        cell.set(this.cells[b]!.subarray(0, f), at);
        gene.set(this.genes[b]!.subarray(0, f), at);
        value.set(this.values[b]!.subarray(0, f), at);
      }
      this.cells[b] = this.genes[b] = this.values[b] = null;
      const start = b * this.chunkCells;
      const end = Math.min(this.nCells, start + this.chunkCells);
      yield { ...countingSortByCell(cell, gene, value, start, end), allFitUint16: this.allFitUint16 };
    }
  }

  private readInto(target: Uint8Array, offset: number): void {
    let done = 0;
    while (done < target.length) {
      const got = fs.readSync(this.fd!, target, done, target.length - done, offset + done);
      if (got === 0) throw new Error(`spill file ${this.spillPath} ended early`);
      done += got;
    }
  }

  close(): void {
    if (this.fd !== null) {
      fs.closeSync(this.fd);
      this.fd = null;
      fs.rmSync(this.spillPath, { force: true });
    }
  }
}

/** Stable counting sort of one chunk's entries by cell, giving CSR for cells [start, end). */
export function countingSortByCell(cell: Uint32Array, gene: Uint32Array, value: Float32Array, start: number, end: number): RowChunk {
  const nRows = end - start;
  const indptr = new Uint32Array(nRows + 1);
  for (let i = 0; i < cell.length; i++) indptr[cell[i] - start + 1]++;
  for (let r = 0; r < nRows; r++) indptr[r + 1] += indptr[r];
  const next = indptr.slice(0, nRows);
  const genes = new Uint32Array(cell.length);
  const values = new Float32Array(cell.length);
  for (let i = 0; i < cell.length; i++) {
    const at = next[cell[i] - start]++;
    genes[at] = gene[i];
    values[at] = value[i];
  }
  return { start, end, indptr, genes, values };
}
