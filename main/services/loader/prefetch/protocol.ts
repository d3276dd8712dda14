/**
 * Messages between the prefetcher (main thread) and its workers (worker-entry.ts). Everything numeric travels as
 * typed arrays, which the worker transfers (moves, never copies) with each step's result.
 */
import type { AppError } from "../../../../shared/result";
import type { CsrBatch, TokenizedBatch, TokenizerOptions } from "../tokens";
import type { RawBatch } from "../raw";

/** workerData: what every worker needs once. */
export interface WorkerConfig {
  tablePath: string;
  storageOptions?: Record<string, string>;
  version?: number;
  tokenizer: TokenizerOptions | "raw";
  batchSize: number;
  keepCsr: boolean;
}

export interface BlockTask {
  fragment: number;
  rowStart: number;
  rowEnd: number;
  cellStart: number;
  /** cell_start_index of cells [cellStart, cellEnd], absolute rows (cellEnd − cellStart + 1 entries). */
  starts: Float64Array;
}

export interface StepTask {
  t: "step";
  /** Position of the step over the whole run (the order results are handed out in). */
  seq: number;
  epoch: number;
  step: number;
  blocks: BlockTask[];
  /** Cells the step emits (its blocks' cells with rows). */
  nCells: number;
  cellOffset: number;
  shuffleSeed: [number, number, number, number] | null;
}

/** The cells of one batch that one step holds (a batch straddling two steps comes in two parts). */
export interface BatchPart {
  batch: number;
  cellIds: Uint32Array;
  fragments: Int32Array;
  tokens: TokenizedBatch | null;
  raw: RawBatch | null;
  csr: CsrBatch | null;
}

export type WorkerReply =
  { t: "step"; seq: number; parts: BatchPart[]; rows: number; readMs: number; workMs: number } | { t: "error"; seq: number; error: AppError };
