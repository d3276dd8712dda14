/**
 * The `loader` namespace (issue 10): a dataloader preview per start, fed by a prefetcher in worker threads.
 * Each preview holds a reference on its dataset until it stops, so the dataset stays open under it; the
 * session ledger stops a page's previews when the page goes or closes that dataset.
 */
import type {
  LoaderApi,
  LoaderBatch,
  LoaderCellExplain,
  LoaderComparison,
  LoaderEnd,
  LoaderExportFormat,
  LoaderInfo,
  LoaderOptions,
  LoaderStatus,
} from "../../../shared/ipc/contract";
import { JOB_WAIT_DEFAULT_MS } from "../../../shared/ipc/schemas";
import type { DatasetService } from "../datasets/service";
import type { OpenDataset } from "../datasets/open-dataset";
import { fail, guard } from "../errors";
import { compareModes, explainCell } from "./explain";
import { batchJson, batchNpz } from "./export-batch";
import { writeExport } from "./export-file";
import { medianColumns, readGeneMedians } from "./gene-medians";
import { geneSymbols } from "./gene-symbols";
import { labelColumns, readLabelColumn } from "./labels";
import { LoaderRun, type ProducedBatch } from "./loader-run";
import { checkOptions } from "./options";
import { createPrefetcher } from "./prefetch/prefetcher";
import { expressionSource } from "./prefetch/source";
import { createTokenizer } from "./tokenizer";
import { sequenceLength, type TokenizerOptions } from "./tokens";

/** Ready batches a preview's prefetcher may hold ahead of the page (the prefetcher's own default is larger). */
export const PREVIEW_QUEUE_BYTES = 64 * 1024 * 1024;

export interface LoaderServiceOptions {
  /** The bundled prefetch worker (dist/main/loader-worker.mjs). */
  workerFile: string;
  /** Worker threads per preview (default: the prefetcher's, one per core). */
  workers?: number;
  queueBudgetBytes?: number;
  historyBytes?: number;
  historyBatches?: number;
}

interface Held {
  run: LoaderRun;
  datasetId: string;
  ds: OpenDataset;
  tokenizer: TokenizerOptions | "raw";
  explain: Parameters<typeof explainCell>[2];
}

export class LoaderService implements LoaderApi {
  private readonly runs = new Map<string, Held>();
  private nextId = 1;
  /** Holds of pauseAll not yet let go: while any, every preview (new ones too) starts no new read. */
  private holds = 0;

  constructor(
    private readonly datasets: DatasetService,
    private readonly options: LoaderServiceOptions,
  ) {}

  start(req: { datasetId: string; options: LoaderOptions }) {
    return guard(async (): Promise<LoaderInfo> => {
      const ds = this.datasets.get(req.datasetId);
      const o = req.options;
      const cellsInfo = ds.summary.tables.find((t) => t.name === "cells");
      const [labels, symbols] = await Promise.all([labelColumns(ds), geneSymbols(ds)]);
      const checked = checkOptions(o, { cells: cellsInfo?.columns.map((c) => c.name) ?? [], labels });
      // Read once here; the workers get them once, with their tokenizer options.
      const medians = checked !== "raw" && o.geneMediansColumn !== null ? await readGeneMedians(ds, o.geneMediansColumn) : null;
      const tokenizer: TokenizerOptions | "raw" = checked !== "raw" && medians ? { ...checked, geneMedians: medians } : checked;
      const source = await expressionSource(ds);
      const labelColumn = o.labelColumn !== null ? await readLabelColumn(ds, o.labelColumn) : null;
      const held = await this.datasets.acquire(ds.root);
      let prefetcher;
      try {
        if (held !== ds) fail("DATASET_NOT_OPEN", `Dataset ${req.datasetId} was closed while the dataloader started`);
        prefetcher = await createPrefetcher({
          source,
          tokenizer,
          batchSize: o.batchSize,
          seed: o.seed,
          shuffle: o.shuffle,
          epochs: o.epochs,
          keepCsr: true,
          workerFile: this.options.workerFile,
          ...(this.options.workers ? { workers: this.options.workers } : {}),
          queueBudgetBytes: this.options.queueBudgetBytes ?? PREVIEW_QUEUE_BYTES,
        });
      } catch (e) {
        await this.datasets.close({ datasetId: held.summary.datasetId });
        throw e;
      }
      if (this.holds > 0) prefetcher.setPaused(true);
      const layout = prefetcher.layout;
      const loaderId = `ld${this.nextId++}`;
      const run = new LoaderRun({
        loaderId,
        prefetcher,
        stats: { vocabSize: o.vocabSize, nFragments: layout.nFragments, symbols, labels: labelColumn },
        nCells: layout.nCells,
        batchSize: o.batchSize,
        historyBytes: this.options.historyBytes,
        historyBatches: this.options.historyBatches,
      });
      this.runs.set(loaderId, {
        run,
        datasetId: req.datasetId,
        ds,
        tokenizer,
        explain: { tokenizer: tokenizer === "raw" ? null : createTokenizer(tokenizer), symbols, labels: labelColumn },
      });
      return {
        loaderId,
        datasetId: req.datasetId,
        uri: ds.summary.uri,
        revision: ds.summary.revision?.sha ?? null,
        options: { ...o },
        seqLength: tokenizer === "raw" ? 0 : sequenceLength(tokenizer),
        nCells: layout.nCells,
        nRows: layout.nRows,
        nFragments: layout.nFragments,
        nRanges: layout.nRanges,
        nScanners: layout.nScanners,
        workers: layout.workers,
        labelColumns: labels,
        medianColumns: medianColumns(ds),
        batchesPerEpoch: layout.batchesPerEpoch,
      };
    });
  }

  batch(req: { loaderId: string; index: number; timeoutMs?: number }) {
    return guard(async (): Promise<LoaderBatch | LoaderEnd> => {
      const { run } = this.get(req.loaderId);
      const got = await run.batchAt(req.index, req.timeoutMs ?? JOB_WAIT_DEFAULT_MS);
      return "end" in got ? got : run.view(got);
    });
  }

  play(req: { loaderId: string; playing: boolean }) {
    return guard(async (): Promise<LoaderStatus> => {
      const { run } = this.get(req.loaderId);
      await run.setPlaying(req.playing);
      return run.status();
    });
  }

  status(req: { loaderId: string }) {
    return guard(async () => this.get(req.loaderId).run.status());
  }

  cell(req: { loaderId: string; index: number; row: number }) {
    return guard(async (): Promise<LoaderCellExplain> => {
      const held = this.get(req.loaderId);
      const { batch } = await this.produced(held, req.index);
      const csr = batch.csr ?? fail("INTERNAL", `Batch ${req.index} kept no cells to explain`);
      if (req.row >= batch.cellIds.length) fail("INVALID_ARGUMENT", `Row ${req.row} is outside batch ${req.index}, which has ${batch.cellIds.length} cells`);
      return explainCell(csr, req.row, held.explain);
    });
  }

  compare(req: { loaderId: string; index: number }) {
    return guard(async (): Promise<LoaderComparison> => {
      const held = this.get(req.loaderId);
      if (held.tokenizer === "raw")
        fail("LOADER_OPTIONS_INVALID", "Option tokenizer: raw mode has no tokenizer to compare; start Geneformer or scGPT", {
          detail: "field: options.tokenizer",
        });
      const { batch } = await this.produced(held, req.index);
      const csr = batch.csr ?? fail("INTERNAL", `Batch ${req.index} kept no cells to compare`);
      return { index: req.index, ...compareModes(csr, batch.fragments, held.tokenizer, held.explain) };
    });
  }

  export(req: { loaderId: string; index: number; format: LoaderExportFormat; path: string; overwrite?: boolean }) {
    return guard(async () => {
      const held = this.get(req.loaderId);
      const { batch } = await this.produced(held, req.index);
      await this.datasets.refuseWriteInside(req.path, "Cannot export there");
      const doc = batch.tokens ? { tokens: batch.tokens } : { raw: batch.raw ?? fail("INTERNAL", `Batch ${req.index} has no data`) };
      return writeExport(req.path, req.format === "json" ? batchJson(doc) : batchNpz(doc), req.overwrite ?? false);
    });
  }

  stop(req: { loaderId: string }) {
    return guard(async () => {
      const held = this.get(req.loaderId);
      await this.release(held);
      return null;
    });
  }

  /**
   * Holds every preview's reads (a benchmark measures meanwhile): prefetchers hand out no new reads, pages still
   * get the batches already made. Returns the function that lets them go on (once; holds nest).
   */
  pauseAll(): () => void {
    if (this.holds++ === 0) for (const h of this.runs.values()) h.run.hold(true);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--this.holds === 0) for (const h of this.runs.values()) h.run.hold(false);
    };
  }

  /** Stops every preview of a dataset (it is being closed). */
  async stopDataset(datasetId: string): Promise<void> {
    await Promise.allSettled([...this.runs.values()].filter((h) => h.datasetId === datasetId).map((h) => this.release(h)));
  }

  async dispose(): Promise<void> {
    await Promise.allSettled([...this.runs.values()].map((h) => this.release(h)));
  }

  private get(loaderId: string): Held {
    return (
      this.runs.get(loaderId) ?? fail("LOADER_NOT_FOUND", `No dataloader preview ${loaderId}: it was stopped, or its page or dataset closed; start it again`)
    );
  }

  /** A batch the preview produced (waiting for it like `batch`); past the end is INVALID_ARGUMENT. */
  private async produced(held: Held, index: number): Promise<ProducedBatch> {
    const got = await held.run.batchAt(index, JOB_WAIT_DEFAULT_MS);
    if ("end" in got) fail("INVALID_ARGUMENT", `There is no batch ${index}: the run produced ${got.batches} batches`);
    return got;
  }

  private async release(held: Held): Promise<void> {
    if (!this.runs.delete(held.run.loaderId)) return;
    try {
      await held.run.stop();
    } finally {
      await this.datasets.close({ datasetId: held.datasetId });
    }
  }
}
