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
import { BLOCK, Inflater, ReadFailure, syncZlibUsable } from "./inflate";
import { inflatedBlocks } from "./inflate-worker";
import { MtxBody, type EntrySink } from "./mtx-body";
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
  /** The worker bundle to decompress in (inflate-worker.ts); else decompression runs on this thread. */
  inflateWorker?: string;
}

export { ReadFailure };

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

function* blocksSync(file: string, progress?: (compressedBytes: number) => void): Generator<Buffer> {
  const inflater = new Inflater(file);
  const out = Buffer.allocUnsafe(BLOCK);
  try {
    for (let n; (n = inflater.fill(out)) > 0;) {
      progress?.(inflater.read);
      yield out.subarray(0, n);
    }
  } finally {
    inflater.close();
  }
}

let syncZlib: boolean | null = null;

/** Decompressed bytes of a possibly gzipped file (each block valid until the next), with the compressed bytes read so far. */
export async function* bytesOf(file: string, progress?: (compressedBytes: number) => void): AsyncGenerator<Buffer> {
  if ((syncZlib ??= syncZlibUsable())) {
    try {
      yield* blocksSync(file, progress);
    } catch (e) {
      if (e instanceof ReadFailure) throw e;
      throw new ReadFailure(`${file} cannot be read: ${(e as Error).message}`);
    }
    return;
  }
  const gzip = await isGzip(file);
  const raw = createReadStream(file, { highWaterMark: BLOCK });
  const stream = gzip ? raw.pipe(createGunzip({ chunkSize: BLOCK })) : raw;
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
 * ArrayBuffers handed back by the thread that consumed the chunks made of them, reused for the next chunks:
 * tens of MB per chunk would otherwise be allocated and collected on both threads.
 */
export class BufferPool {
  private free: ArrayBuffer[] = [];
  constructor(private readonly keep = 3) {}
  /** A buffer of at least `bytes` bytes (a returned one when one fits without wasting half of it). */
  take(bytes: number): ArrayBuffer {
    const at = this.free.findIndex((b) => b.byteLength >= bytes && b.byteLength <= bytes * 2);
    return at >= 0 ? this.free.splice(at, 1)[0] : new ArrayBuffer(bytes);
  }
  give(buffer: ArrayBuffer): void {
    if (buffer.byteLength === 0) return;
    this.free.push(buffer);
    // Keep the largest few: chunks grow a little, rarely shrink.
    if (this.free.length > this.keep) this.free = this.free.sort((a, b) => b.byteLength - a.byteLength).slice(0, this.keep);
  }
}

/**
 * Cuts chunks of `chunkCells` cells from entries that arrive cell by cell. Each cell's entries are one run (a
 * cell met again later in the same chunk is fine: the chunk is then counting-sorted); each chunk gets fresh
 * arrays sized from the previous one, handed over as views without copying, with its values' statistics and
 * whether its genes are ascending, so the writing thread only copies.
 */
export class StreamChunker implements EntrySink {
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
    private readonly pool = new BufferPool(),
  ) {
    this.gene = this.newGenes(1 << 16);
    this.value = this.newValues(1 << 16);
  }

  private newGenes(size: number): GeneArray {
    return this.nGenes <= 65536 ? new Uint16Array(this.pool.take(size * 2), 0, size) : new Uint32Array(this.pool.take(size * 4), 0, size);
  }

  private newValues(size: number): Float32Array {
    return new Float32Array(this.pool.take(size * 4), 0, size);
  }

  /** One entry, row and column 1-based as in the file (the hot path: same cell as before, room left). */
  put(row: number, col: number, v: number): void {
    const c = (this.transposed ? row : col) - 1;
    if (c !== this.last) this.newRun(c);
    const n = this.n;
    if (n === this.value.length) this.grow(n * 2);
    this.gene[n] = (this.transposed ? col : row) - 1;
    this.value[n] = v;
    this.n = n + 1;
  }

  private newRun(c: number): void {
    if (c < this.start) throw new UnsortedInput();
    if (c >= Math.min(this.nCells, this.start + this.chunkCells)) this.flushUntil(c);
    if (this.nRuns * 2 === this.runs.length) {
      const r = new Uint32Array(this.runs.length * 2);
      r.set(this.runs);
      this.runs = r;
    }
    this.runs[this.nRuns * 2] = c;
    this.runs[this.nRuns * 2 + 1] = this.n;
    this.nRuns++;
    this.last = c;
  }

  /** Emits every chunk left, up to the last cell. */
  end(): void {
    while (this.start < this.nCells) this.flush();
  }

  private grow(size: number): void {
    const g = this.newGenes(size);
    g.set(this.gene.subarray(0, this.n));
    const v = this.newValues(size);
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
    this.value = this.newValues(size);
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
export async function* mtxRowChunks(cfg: MtxReadConfig, signal?: AbortSignal, onBytes?: (bytes: number) => void, pool?: BufferPool): AsyncGenerator<RowChunk> {
  const ready: RowChunk[] = [];
  const buckets = cfg.mode === "buckets" ? new CellBuckets(cfg.nCells, cfg.chunkCells, cfg.scratchDir) : null;
  const chunker = buckets ? null : new StreamChunker(cfg.nCells, cfg.nGenes, cfg.chunkCells, cfg.transposed, (c) => ready.push(c), pool);
  const headerParser = new MtxParser();
  const sink: EntrySink = chunker ?? {
    put: cfg.transposed ? (row, col, v) => buckets!.add(row - 1, col - 1, v) : (row, col, v) => buckets!.add(col - 1, row - 1, v),
  };
  let body: MtxBody | null = null;
  try {
    const blocks = cfg.inflateWorker ? inflatedBlocks(cfg.inflateWorker, cfg.file, onBytes) : bytesOf(cfg.file, onBytes);
    for await (const bytes of blocks) {
      if (signal?.aborted) throw signal.reason;
      if (!body) {
        if (headerParser.feed(bytes)) continue;
        body = new MtxBody(headerParser.header as MtxHeader, sink);
        body.feed(headerParser.body ?? Buffer.alloc(0));
      } else body.feed(bytes);
      while (ready.length) yield ready.shift()!;
    }
    if (!body) body = new MtxBody(headerParser.end(), sink);
    body.end();
    if (chunker) chunker.end();
    else yield* buckets!.chunks();
    while (ready.length) yield ready.shift()!;
  } finally {
    buckets?.close();
  }
}
