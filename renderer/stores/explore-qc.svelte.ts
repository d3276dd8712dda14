/**
 * QC of the whole dataset or of a cell set: genes per cell, counts per cell and percent mitochondrial counts,
 * computed in SQL by main (a job), as per-cell typed arrays for the histograms.
 */
import type { Client } from "../../shared/ipc/contract";
import type { AppError } from "../../shared/result";
import { column } from "./explore-data";
import type { JobWaiter } from "./explore.svelte";

export type QcMetric = "n_genes" | "total_counts" | "pct_mito";

export const QC_METRICS: { key: QcMetric; label: string }[] = [
  { key: "n_genes", label: "Genes per cell" },
  { key: "total_counts", label: "Counts per cell" },
  { key: "pct_mito", label: "Percent mitochondrial counts" },
];

export interface QcData {
  set: string | null;
  sql: string;
  cells: number;
  mitoGenes: number;
  /** Row r is the cell ids[r]. */
  ids: Int32Array;
  n_genes: Float32Array;
  total_counts: Float32Array;
  pct_mito: Float32Array;
}

export class ExploreQcStore {
  data = $state.raw<QcData | null>(null);
  running = $state(false);
  private seq = 0;

  constructor(
    private readonly client: Client,
    private readonly jobs: JobWaiter,
    private readonly datasetId: () => string | null,
    private readonly fail: (e: AppError) => void,
  ) {}

  reset(): void {
    this.seq++;
    this.data = null;
    this.running = false;
  }

  /** Computes QC for the dataset (set null) or a set; a newer run replaces an older one. */
  async run(set: string | null): Promise<void> {
    const datasetId = this.datasetId();
    if (!datasetId) return;
    const seq = ++this.seq;
    this.running = true;
    try {
      const started = await this.client.explore.qc({ datasetId, set });
      if (seq !== this.seq) return;
      if (!started.ok) return this.fail(started.error);
      const final = await this.jobs.wait(started.value.jobId);
      if (seq !== this.seq) return;
      if (final.state !== "done") return final.error ? this.fail(final.error) : undefined;
      const r = await this.client.explore.qcData({ datasetId, set });
      if (seq !== this.seq) return;
      if (!r.ok) return this.fail(r.error);
      const q = r.value;
      this.data = {
        set: q.set,
        sql: q.sql,
        cells: q.cells,
        mitoGenes: q.mitoGenes,
        ids: column(q.arrow, "cell_integer_id", Int32Array),
        n_genes: column(q.arrow, "n_genes", Float32Array),
        total_counts: column(q.arrow, "total_counts", Float32Array),
        pct_mito: column(q.arrow, "pct_mito", Float32Array),
      };
    } finally {
      if (seq === this.seq) this.running = false;
    }
  }

  /** Cell ids whose metric lies in [lo, hi), or [lo, hi] with `closed` (a range ending at the last bin's edge). */
  cellsIn(metric: QcMetric, lo: number, hi: number, closed: boolean): number[] {
    const d = this.data;
    if (!d) return [];
    const v = d[metric];
    const out: number[] = [];
    for (let r = 0; r < v.length; r++) if (v[r] >= lo && (v[r] < hi || (closed && v[r] === hi))) out.push(d.ids[r]);
    return out;
  }
}
