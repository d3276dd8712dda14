/** Gene index tests: Explore's services over a PBMC SLAF fixture with a gene index in a cache folder of the test's. */
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { expect } from "vitest";
import type { ExploreGeneValues, JobEvent } from "../../../shared/ipc/contract";
import { DatasetService } from "../../../main/services/datasets/service";
import { ExploreService } from "../../../main/services/explore/service";
import type { GeneIndexOptions } from "../../../main/services/explore/gene-index";
import { JobService } from "../../../main/services/jobs/service";
import { QueryService } from "../../../main/services/query/service";
import { unwrap } from "../../fixtures/result";

export interface IndexEnv {
  datasets: DatasetService;
  jobs: JobService;
  explore: ExploreService;
  datasetId: string;
  gene(geneIntegerId: number): Promise<ExploreGeneValues>;
  /** What opening the dataset in Explore started: the build's job id, or null. */
  opened(): Promise<string | null>;
  waitJob(jobId: string): Promise<JobEvent>;
  close(): Promise<void>;
}

/** Fresh services (nothing cached in memory) over `root`, with gene indexes in `cacheDir` from any table size. */
export async function indexEnv(root: string, cacheDir: string, options: Partial<GeneIndexOptions> = {}): Promise<IndexEnv> {
  const datasets = new DatasetService();
  const jobs = new JobService(() => undefined);
  const tempDir = await fs.mkdtemp(path.join(os.tmpdir(), "slafwb-gene-index-duck-"));
  const query = new QueryService(datasets, jobs, { tempDir });
  const explore = new ExploreService({ datasets, jobs, query, geneIndex: { cacheDir, minRows: 0, ...options } });
  const datasetId = (await datasets.acquire(root)).summary.datasetId;
  return {
    datasets,
    jobs,
    explore,
    datasetId,
    gene: async (geneIntegerId) => unwrap(await explore.gene({ datasetId, geneIntegerId, transform: "raw" })) as ExploreGeneValues,
    opened: () => explore.geneIndexOf(datasetId)!.open(),
    async waitJob(jobId) {
      for (;;) {
        const e = unwrap(await jobs.wait({ jobId, timeoutMs: 60_000 }));
        if (e.state !== "running") return e;
      }
    },
    async close() {
      await query.dispose();
      await datasets.closeAll();
      await fs.rm(tempDir, { recursive: true, force: true });
    },
  };
}

/** The index's files as opened, or a failure when it is not ready. */
export async function readyIndex(env: IndexEnv) {
  const files = await env.explore.geneIndexOf(env.datasetId)!.ready();
  if (!files) throw new Error("the gene index is not ready");
  return files;
}

/** The folders under `<cacheDir>/gene-index`. */
export async function indexFolders(cacheDir: string): Promise<string[]> {
  return (await fs.readdir(path.join(cacheDir, "gene-index")).catch(() => [] as string[])).sort();
}

/** Waits for the build that opening the dataset started. */
export async function built(env: IndexEnv) {
  const jobId = await env.opened();
  expect(jobId).not.toBeNull();
  return env.waitJob(jobId!);
}

/** A build that fails, as the page sees it: `building` with the job on opening Explore, then `failed`; the job's end. */
export async function failedBuild(env: IndexEnv) {
  const { geneIndex } = unwrap(await env.explore.info({ datasetId: env.datasetId }));
  expect(geneIndex).toEqual({ state: "building", jobId: expect.any(String) });
  const done = await built(env);
  expect(done.jobId).toBe(geneIndex.jobId);
  expect(unwrap(await env.explore.info({ datasetId: env.datasetId })).geneIndex).toEqual({ state: "failed", jobId: geneIndex.jobId });
  expect(done.state).toBe("failed");
  return done;
}
