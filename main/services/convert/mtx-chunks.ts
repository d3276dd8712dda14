/**
 * A 10x MTX matrix as chunks of consecutive cells. Cell Ranger (and Seurat's writeMM, scipy's mmwrite of a
 * CSC genes × cells or a CSR cells × genes matrix) write entries cell by cell, so the chunks are cut as the
 * entries stream by ("stream" mode, no spill). An entry for a chunk already cut means the file is not stored
 * cell by cell: UnsortedInput is thrown and the caller reads again in "buckets" mode (CellBuckets, with a disk
 * spill). Decompression runs on the zlib thread pool, parsing on whichever thread runs this (mtx-worker.ts
 * runs it off the main thread).
 */
import { createReadStream } from "node:fs";
import fs from "node:fs/promises";
import { createGunzip } from "node:zlib";
import { CellBuckets, countingSortByCell } from "./cell-buckets";
import { MtxBody, newBatch, type EntryBatch } from "./mtx-body";
import { MtxParser, type MtxHeader } from "./mtx-parse";
import { chunkStats, type RowChunk } from "./source";

export class UnsortedInput extends Error {
  constructor() {
    super("the matrix is not stored cell by cell");
  }
}

export interface MtxReadConfig {
  file: string;
  nCells: number;
  nGenes: number;
  chunkCells: number;
  /** The file is cells × genes (rows are cells) rather than 10x's genes × cells. */
  transposed: boolean;
  mode: "stream" | "buckets";
  scratchDir: string;
}

export async function isGzip(file: string): Promise<boolean> {
  const fh = await fs.open(file, "r");
  try {
    const b = Buffer.alloc(2);
    const { bytesRead } = await fh.read(b, 0, 2, 0);
    return bytesRead === 2 && b[0] === 0x1f && b[1] === 0x8b;
  } finally {
    await fh.close();
  }
}

export class ReadFailure extends Error {}

/** Decompressed bytes of a possibly gzipped file, with the compressed bytes read so far. */
export async function* bytesOf(file: string, progress?: (compressedBytes: number) => void): AsyncGenerator<Buffer> {
  const gzip = await isGzip(file);
  const raw = createReadStream(file, { highWaterMark: 4 << 20 });
  const stream = gzip ? raw.pipe(createGunzip({ chunkSize: 4 << 20 })) : raw;
  if (progress) raw.on("data", () => progress(raw.bytesRead));
  try {
    for await (const chunk of stream) yield chunk as Buffer;
  } catch (e) {
    throw new ReadFailure(`${file} cannot be read: ${(e as Error).message} (a gzip file cut short?)`);
  } finally {
    raw.destroy();
  }
}

type GeneArray = Uint16Array | Uint32Array;

/**
 * Cuts chunks of `chunkCells` cells from entries that arrive cell by cell. Each cell's entries are one run (a
 * cell met again later in the same chunk is fine: the chunk is then counting-sorted); each chunk gets fresh
 * arrays sized from the previous one, handed over as views without copying, with its values' statistics and
 * whether its genes are ascending, so the writing thread only copies.
 */
export class StreamChunker {
  private start = 0;
  private gene: GeneArray;
  private value: Float32Array;
  private n = 0;
  /** Runs of one cell: its cell and first entry, as pairs. */
  private runs = new Uint32Array(2 * 8192);
  private nRuns = 0;
  private last = -1;

  constructor(
    readonly nCells: number,
    readonly nGenes: number,
    readonly chunkCells: number,
    readonly transposed: boolean,
    private readonly emit: (chunk: RowChunk) => void,
  ) {
    this.gene = this.newGenes(1 << 16);
    this.value = new Float32Array(1 << 16);
  }

  private newGenes(size: number): GeneArray {
    return this.nGenes <= 65536 ? new Uint16Array(size) : new Uint32Array(size);
  }

  add(batch: EntryBatch): void {
    const [cells, genes] = this.transposed ? [batch.rows, batch.cols] : [batch.cols, batch.rows];
    const values = batch.values;
    // The hot loop works on locals, written back around flushes and growth.
    let { gene, value, n, last, start } = this;
    let end = Math.min(this.nCells, start + this.chunkCells);
    for (let k = 0; k < batch.n; k++) {
      const c = cells[k] - 1;
      if (c !== last) {
        if (c >= end || c < start) {
          if (c < start) throw new UnsortedInput();
          Object.assign(this, { n, last });
          this.flushUntil(c);
          ({ gene, value, n, start } = this);
          end = Math.min(this.nCells, start + this.chunkCells);
        }
        if (this.nRuns * 2 === this.runs.length) {
          const r = new Uint32Array(this.runs.length * 2);
          r.set(this.runs);
          this.runs = r;
        }
        this.runs[this.nRuns * 2] = c;
        this.runs[this.nRuns * 2 + 1] = n;
        this.nRuns++;
        last = c;
      }
      if (n === value.length) {
        this.n = n;
        this.grow(n * 2);
        ({ gene, value } = this);
      }
      gene[n] = genes[k] - 1;
      value[n++] = values[k];
    }
    Object.assign(this, { n, last });
  }

  /** Emits every chunk left, up to the last cell. */
  end(): void {
    while (this.start < this.nCells) this.flush();
  }

  private grow(size: number): void {
    const g = this.newGenes(size);
    g.set(this.gene.subarray(0, this.n));
    const v = new Float32Array(size);
    v.set(this.value.subarray(0, this.n));
    [this.gene, this.value] = [g, v];
  }

  private flushUntil(cell: number): void {
    while (cell >= Math.min(this.nCells, this.start + this.chunkCells)) this.flush();
  }

  private flush(): void {
    const start = this.start;
    const end = Math.min(this.nCells, start + this.chunkCells);
    const n = this.n;
    const rows = end - start;
    const runs = this.runs;
    let increasing = true;
    for (let r = 1; r < this.nRuns; r++) if (runs[2 * r] <= runs[2 * r - 2]) increasing = false;
    let chunk: RowChunk;
    if (increasing) {
      const indptr = new Uint32Array(rows + 1);
      for (let r = 0; r < this.nRuns; r++) indptr[runs[2 * r] - start + 1] = (r + 1 < this.nRuns ? runs[2 * r + 3] : n) - runs[2 * r + 1];
      for (let r = 0; r < rows; r++) indptr[r + 1] += indptr[r];
      chunk = { start, end, indptr, genes: this.gene.subarray(0, n), values: this.value.subarray(0, n) };
    } else {
      const cell = new Uint32Array(n);
      for (let r = 0; r < this.nRuns; r++) cell.fill(runs[2 * r], runs[2 * r + 1], r + 1 < this.nRuns ? runs[2 * r + 3] : n);
      chunk = countingSortByCell(cell, Uint32Array.from(this.gene.subarray(0, n)), this.value.subarray(0, n), start, end);
    }
    chunk.genesSorted = genesAscending(chunk.indptr, chunk.genes);
    chunk.stats = chunkStats(chunk.values);
    this.start = end;
    this.n = 0;
    this.nRuns = 0;
    this.last = -1;
    // The next chunk's arrays: about this one's size, so they rarely grow.
    const size = Math.max(1 << 16, Math.ceil(n * 1.15));
    this.gene = this.newGenes(size);
    this.value = new Float32Array(size);
    this.emit(chunk);
  }
}

function genesAscending(indptr: ArrayLike<number>, genes: ArrayLike<number>): boolean {
  for (let r = 0; r + 1 < indptr.length; r++) {
    for (let i = indptr[r] + 1; i < indptr[r + 1]; i++) if (genes[i] <= genes[i - 1]) return false;
  }
  return true;
}

/**
 * The matrix of one MTX file as chunks of cells, checked against its header. `onBytes` reports compressed
 * bytes read; in buckets mode nothing is yielded before the whole file is read.
 */
export async function* mtxRowChunks(cfg: MtxReadConfig, signal?: AbortSignal, onBytes?: (bytes: number) => void): AsyncGenerator<RowChunk> {
  const ready: RowChunk[] = [];
  const buckets = cfg.mode === "buckets" ? new CellBuckets(cfg.nCells, cfg.chunkCells, cfg.scratchDir) : null;
  const chunker = buckets ? null : new StreamChunker(cfg.nCells, cfg.nGenes, cfg.chunkCells, cfg.transposed, (c) => ready.push(c));
  const headerParser = new MtxParser();
  let body: MtxBody | null = null;
  let batch = newBatch(0);
  const take = (b: EntryBatch) => {
    if (chunker) chunker.add(b);
    else {
      const [cells, genes] = cfg.transposed ? [b.rows, b.cols] : [b.cols, b.rows];
      for (let k = 0; k < b.n; k++) buckets!.add(cells[k] - 1, genes[k] - 1, b.values[k]);
    }
  };
  const parse = (bytes: Buffer) => {
    if (batch.rows.length < bytes.length / 4 + 16) batch = newBatch(Math.ceil(bytes.length / 4) + 1024);
    batch.n = 0;
    take(body!.feed(bytes, batch));
  };
  try {
    for await (const bytes of bytesOf(cfg.file, onBytes)) {
      if (signal?.aborted) throw signal.reason;
      if (!body) {
        if (headerParser.feed(bytes)) continue;
        body = new MtxBody(headerParser.header as MtxHeader);
        parse(headerParser.body ?? Buffer.alloc(0));
      } else parse(bytes);
      while (ready.length) yield ready.shift()!;
    }
    if (!body) body = new MtxBody(headerParser.end());
    batch.n = 0;
    take(body.end(batch));
    if (chunker) chunker.end();
    else yield* buckets!.chunks();
    while (ready.length) yield ready.shift()!;
  } finally {
    buckets?.close();
  }
}
