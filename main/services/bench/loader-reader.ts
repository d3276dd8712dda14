/**
 * The dataloader readers (`raw`, `geneformer`, `scgpt`): the loader's seeded prefetcher over the expression table
 * with `concurrency` worker threads, drained as a training loop would. Bytes are those of the batches handed over
 * (typed arrays), rows the expression values they carry, cells the cells in them.
 */
import { LOADER_DEFAULTS, type BenchOptions } from "../../../shared/ipc/contract";
import { isAppFailure } from "../../../shared/result";
import type { OpenDataset } from "../datasets/open-dataset";
import { createPrefetcher } from "../loader/prefetch/prefetcher";
import { expressionSource } from "../loader/prefetch/source";
import type { PrefetchBatch, Prefetcher } from "../loader/prefetch/types";
import { validateOptions, type TokenizerOptions } from "../loader/tokens";
import { CANCELLED, unlessCancelled, type Tally } from "./tally";

/** SLAF's defaults: Geneformer 2048 genes, scGPT 1024; the panel's mode, vocabulary and bins. */
export function benchTokenizer(reader: BenchOptions["reader"]): TokenizerOptions | "raw" {
  if (reader === "raw" || reader === "scan") return "raw";
  return validateOptions({
    tokenizer: reader,
    mode: LOADER_DEFAULTS.mode,
    maxGenes: reader === "geneformer" ? 2048 : 1024,
    vocabSize: LOADER_DEFAULTS.vocabSize,
    nExpressionBins: LOADER_DEFAULTS.nExpressionBins,
  });
}

function valuesIn(b: PrefetchBatch): number {
  if (b.raw) return b.raw.rowCellIds.length;
  let n = 0;
  if (b.tokens) for (let i = 0; i < b.tokens.batchSize; i++) n += b.tokens.facts.nGenes[i];
  return n;
}

/**
 * Reads through the prefetcher into `tally`. The clock starts when the prefetcher is made (its plan reads the
 * fragment layout, as a training job's first batch waits for it); cell_start_index is read before, with the open.
 */
export async function readLoader(ds: OpenDataset, o: BenchOptions, tally: Tally, workerFile: string, signal?: AbortSignal): Promise<string[]> {
  const source = await expressionSource(ds);
  tally.start();
  let prefetcher: Prefetcher | null = null;
  let ended = false;
  try {
    const made = await unlessCancelled(
      createPrefetcher({
        source,
        tokenizer: benchTokenizer(o.reader),
        batchSize: o.batchSize,
        seed: 0,
        shuffle: true,
        epochs: 1,
        workers: o.concurrency,
        workerFile,
        signal,
      }),
      signal,
      (p) => p.close(),
    );
    if (made === CANCELLED) return [];
    prefetcher = made;
    while (!tally.done) {
      const b = await prefetcher.next();
      if (!b) {
        ended = true;
        break;
      }
      tally.add(valuesIn(b), b.bytes, b.cellIds.length);
    }
  } catch (e) {
    // The run was cancelled: the prefetcher closed under the read, which stops like a deadline.
    if (!(signal?.aborted && isAppFailure(e, "LOADER_CANCELLED"))) throw e;
  } finally {
    await prefetcher?.close();
  }
  const notes: string[] = [];
  if (ended)
    notes.push(`one epoch of the expression table is ${tally.batches.toLocaleString("en-US")} batches of ${o.batchSize} cells, and the run ended with it`);
  return notes;
}
