/**
 * Draining a prefetcher flat out, as a training loop that does nothing with its batches would: what
 * `slaf-workbench loader --bench` prints and `npm run bench loader` tabulates. The clock starts at the first
 * batch (the plan, worker start-up and first read are reported apart), so the rate is the steady state.
 */
import type { Prefetcher } from "../services/loader/prefetch/types";

export interface Throughput {
  /** From the call to the first batch. */
  firstBatchMs: number;
  /** Measured after the first batch. */
  seconds: number;
  batches: number;
  cells: number;
  /** Cells × sequence length (SLAF's tokens/s); 0 in raw mode. */
  tokens: number;
  /** Expression values moved (raw mode: COO rows; tokenized: genes before truncation). */
  values: number;
  cellsPerSecond: number;
  tokensPerSecond: number;
  /** True when the run ended (all epochs) before the time was up. */
  ended: boolean;
}

export interface MeasureOptions {
  seconds: number;
  /** Called with every batch, measured ones and the first, e.g. to track shuffle entropy (keep it cheap). */
  onBatch?: (cellIds: Uint32Array) => void;
}

export async function measurePrefetcher(prefetcher: Prefetcher, opts: MeasureOptions): Promise<Throughput> {
  const t0 = performance.now();
  const first = await prefetcher.next();
  const tStart = performance.now();
  if (first) opts.onBatch?.(first.cellIds);
  const deadline = tStart + opts.seconds * 1000;
  let batches = 0;
  let cells = 0;
  let tokens = 0;
  let values = 0;
  let ended = first === null;
  let now = tStart;
  while (!ended && now < deadline) {
    const b = await prefetcher.next();
    now = performance.now();
    if (!b) {
      ended = true;
      break;
    }
    opts.onBatch?.(b.cellIds);
    batches++;
    cells += b.cellIds.length;
    if (b.tokens) {
      tokens += b.tokens.batchSize * b.tokens.seqLength;
      for (let i = 0; i < b.tokens.batchSize; i++) values += b.tokens.facts.nGenes[i];
    } else if (b.raw) values += b.raw.rowCellIds.length;
  }
  const seconds = (now - tStart) / 1000;
  return {
    firstBatchMs: tStart - t0,
    seconds,
    batches,
    cells,
    tokens,
    values,
    cellsPerSecond: seconds > 0 ? cells / seconds : 0,
    tokensPerSecond: seconds > 0 ? tokens / seconds : 0,
    ended,
  };
}
