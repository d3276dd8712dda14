/**
 * 10x MTX folder (Cell Ranger v2 `genes.tsv` or v3 `features.tsv.gz`, `matrix.mtx[.gz]`, `barcodes.tsv[.gz]`,
 * gzipped or not) as a conversion source. The matrix is decompressed and parsed from bytes in a worker thread
 * (mtx-worker.ts, mtx-chunks.ts): chunks of cells are cut as the entries stream by when the file is written cell
 * by cell, as 10x files are; otherwise the writer is asked to start over (RestartRows) and the entries go
 * through CellBuckets' disk spill. No triple ever becomes a JS object and memory does not grow with the cells.
 */
import { existsSync } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";
import { fail } from "../errors";
import { convertWorkerPath } from "../resources";
import { bytesOf, mtxRowChunks, ReadFailure, UnsortedInput, type MtxReadConfig } from "./mtx-chunks";
import { MtxError, MtxParser, type MtxHeader } from "./mtx-parse";
import { CompactStrings } from "./names";
import { mtxChunksInWorker } from "./mtx-worker";
import { RestartRows, type Frame, type FrameColumn, type RowChunk, type RowsOptions, type Source } from "./source";

export interface MtxFiles {
  matrix: string;
  barcodes: string;
  features: string;
}

function pick(dir: string, names: string[]): string | null {
  for (const n of names) for (const name of [n, `${n}.gz`]) if (existsSync(path.join(dir, name))) return path.join(dir, name);
  return null;
}

export function findMtxFiles(dir: string): MtxFiles | null {
  const matrix = pick(dir, ["matrix.mtx"]);
  const features = pick(dir, ["features.tsv", "genes.tsv"]);
  const barcodes = pick(dir, ["barcodes.tsv"]);
  if (!matrix || !features) return null;
  if (!barcodes) fail("CONVERT_INPUT_INVALID", `${dir} has ${path.basename(matrix)} but no barcodes.tsv[.gz]`, { path: dir });
  return { matrix, features, barcodes };
}

async function readLines(file: string): Promise<string[]> {
  const parts: Buffer[] = [];
  // Copies: bytesOf reuses its buffer from one block to the next.
  for await (const b of bytesOf(file)) parts.push(Buffer.from(b));
  const lines = Buffer.concat(parts).toString("utf8").split("\n");
  while (lines.length && lines[lines.length - 1].trim() === "") lines.pop();
  return lines.map((l) => l.replace(/\r$/, ""));
}

function mtxFail(file: string, e: unknown): never {
  if (e instanceof MtxError) fail("CONVERT_INPUT_INVALID", `${file}: ${e.message}`, { path: file });
  if (e instanceof ReadFailure) fail("CONVERT_INPUT_INVALID", e.message, { path: file });
  throw e;
}

export async function readMtxHeader(file: string): Promise<MtxHeader> {
  const parser = new MtxParser();
  try {
    for await (const chunk of bytesOf(file)) if (!parser.feed(chunk)) break;
    return parser.header ?? parser.end();
  } catch (e) {
    mtxFail(file, e);
  }
}

function stringColumn(name: string, values: string[]): FrameColumn {
  return { name, read: (s, e) => ({ type: "string", values: values.slice(s, e) }) };
}

export async function openMtxDir(dir: string): Promise<Source> {
  const files = findMtxFiles(dir);
  if (!files) fail("CONVERT_INPUT_INVALID", `${dir} is not a 10x MTX folder (needs matrix.mtx[.gz] and features.tsv[.gz] or genes.tsv[.gz])`, { path: dir });
  const header = await readMtxHeader(files.matrix);
  const barcodes = (await readLines(files.barcodes)).map((l) => l.split("\t")[0]);
  const featureRows = (await readLines(files.features)).map((l) => l.split("\t"));
  const nFeatures = featureRows.length;
  const nBarcodes = barcodes.length;
  // 10x writes genes × cells; accept the transpose when only it matches the tsv files.
  let transposed = false;
  if (header.nRows !== nFeatures || header.nCols !== nBarcodes) {
    if (header.nRows === nBarcodes && header.nCols === nFeatures) transposed = true;
    else {
      fail(
        "CONVERT_INPUT_INVALID",
        `${files.matrix}: the header says ${header.nRows} × ${header.nCols} but ${path.basename(files.features)} has ${nFeatures} genes and ${path.basename(files.barcodes)} has ${nBarcodes} cells`,
        { path: files.matrix },
      );
    }
  }
  const width = Math.max(...featureRows.map((r) => r.length));
  const symbols = featureRows.map((r) => r[Math.min(1, r.length - 1)]);
  const varFrame: Frame = {
    length: nFeatures,
    readIndex: () => symbols,
    columns:
      width >= 2
        ? [
            stringColumn(
              "gene_ids",
              featureRows.map((r) => r[0]),
            ),
          ]
        : [],
  };
  if (width >= 3)
    varFrame.columns.push(
      stringColumn(
        "feature_types",
        featureRows.map((r) => r[2] ?? ""),
      ),
    );
  // Kept compact: a million barcodes as JS strings would hold ~60 MB for the whole conversion.
  const barcodeNames = CompactStrings.from(barcodes);
  const obsFrame: Frame = { length: nBarcodes, readIndex: () => barcodeNames.toArray(), columns: [] };
  const matrixSize = (await fs.stat(files.matrix)).size;

  // Unknown until read: stream chunks as the entries come (files written cell by cell), else spill to buckets.
  let mode: MtxReadConfig["mode"] = "stream";
  const workerFile = convertWorkerPath();
  const inWorker = existsSync(workerFile);

  async function* rows(opts: RowsOptions): AsyncGenerator<RowChunk> {
    const cfg: MtxReadConfig = {
      file: files!.matrix,
      nCells: nBarcodes,
      nGenes: nFeatures,
      chunkCells: opts.chunkCells,
      transposed,
      mode,
      scratchDir: opts.scratchDir,
    };
    const onBytes = mode === "buckets" ? (n: number) => opts.onPrepass?.(Math.min(1, n / matrixSize)) : undefined;
    try {
      yield* inWorker ? mtxChunksInWorker(workerFile, cfg, opts.signal, onBytes) : mtxRowChunks(cfg, opts.signal, onBytes);
    } catch (e) {
      if (e instanceof UnsortedInput) {
        mode = "buckets";
        throw new RestartRows(
          `${path.basename(files!.matrix)} is not stored cell by cell, so it was read whole into a disk spill first (slower than a 10x file)`,
        );
      }
      if (opts.signal?.aborted) throw opts.signal.reason;
      mtxFail(files!.matrix, e);
    }
  }

  return {
    format: "10x_mtx",
    path: dir,
    nCells: nBarcodes,
    nGenes: nFeatures,
    obs: obsFrame,
    var: varFrame,
    obsm: [],
    varm: [],
    layers: [],
    matrices: [
      {
        name: "X",
        path: path.basename(files.matrix),
        nCells: nBarcodes,
        nGenes: nFeatures,
        dtype: header.field === "real" ? "float64" : "int64",
        integer: header.field !== "real",
        nnz: header.nnz,
      },
    ],
    nnz: header.nnz,
    warnings: [],
    featureTypes: width >= 3 ? featureRows.map((r) => r[2] ?? "") : undefined,
    rows(matrix, opts) {
      if (matrix !== "X") fail("INTERNAL", "10x MTX folders have no layers");
      return rows(opts);
    },
    async close() {},
  };
}
