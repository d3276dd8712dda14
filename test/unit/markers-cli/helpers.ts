/** Markers CLI tests: the PBMC fixture, the built CLI against a fake Hub, and the same comparison through the services in-process. */
import fs from "node:fs/promises";
import path from "node:path";
import type { JobEvent } from "../../../shared/ipc/contract";
import type { MarkersComparison, MarkersFilter, MarkersGene, MarkersNormalization, MarkersRun } from "../../../shared/ipc/types/markers";
import type { Services } from "../../../main/services/index";
import { runBuiltCli, type CliRun } from "../../fixtures/built-cli";
import { publishDataset, startFakeHub, type FakeHub } from "../../fixtures/fake-hub";
import { unwrap } from "../../fixtures/result";
import { testServices } from "../../fixtures/services";
import { tempDir, writePbmcSlaf } from "../../fixtures/slaf-fixture";

/** The keys of each gene object, in the order. */
export const GENE_KEYS = ["gene_id", "score", "logfoldchange", "pval", "pval_adj", "pct_group", "pct_reference"];

export interface GeneJson {
  gene_id: string;
  score: number | null;
  logfoldchange: number | null;
  pval: number | null;
  pval_adj: number | null;
  pct_group: number | null;
  pct_reference: number | null;
}

export interface ComparisonJson {
  group: string | null;
  reference: string | null;
  normalization: string;
  cells_group: number;
  cells_reference: number;
  genes: GeneJson[];
}

export interface AllJson {
  groupby: string;
  normalization: string;
  groups: Omit<ComparisonJson, "normalization">[];
}

export interface MarkersCliEnv {
  dir: string;
  root: string;
  hub: FakeHub;
  services: Services;
  datasetId: string;
  /** The built CLI's `markers` command. */
  cli(args: string[]): Promise<CliRun>;
  /** The same, `--format json`, parsed; fails the test on a non-zero exit or anything on stderr. */
  json<T = ComparisonJson>(args: string[]): Promise<T>;
  /** The service's own ranked genes of a comparison (every group of an "all" run), for `filter`. */
  serviceGenes(
    comparison: MarkersComparison,
    filter?: MarkersFilter,
    normalization?: MarkersNormalization,
  ): Promise<{ run: MarkersRun; genes: Map<string | null, MarkersGene[]> }>;
}

/** One fixture, fake Hub and services per test file (vitest hooks). */
export function useMarkersCli(hooks: { beforeAll: (fn: () => Promise<void>) => void; afterAll: (fn: () => Promise<void>) => void }): MarkersCliEnv {
  const env = {} as MarkersCliEnv;
  hooks.beforeAll(async () => {
    env.dir = await tempDir("slafwb-markers-cli-");
    env.root = path.join(env.dir, "pbmc.slaf");
    await writePbmcSlaf(env.root);
    env.hub = await startFakeHub();
    await publishDataset(env.hub, "acme/pbmc", env.root);
    env.cli = (args) => runBuiltCli(["markers", ...args], { hubUrl: env.hub.url, userData: path.join(env.dir, "user") });
    env.json = async <T>(args: string[]) => {
      const r = await env.cli([...args, "--format", "json"]);
      if (r.code !== 0 || r.stderr !== "") throw new Error(`markers ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
      return JSON.parse(r.stdout) as T;
    };
    env.services = testServices(path.join(env.dir, "services-user"));
    env.datasetId = (await env.services.datasets.acquire(env.root)).summary.datasetId;
    env.serviceGenes = async (comparison, filter, normalization) => {
      const markers = env.services.api.markers;
      const { jobId } = unwrap(await markers.start({ datasetId: env.datasetId, comparison, normalization }));
      const event = unwrap(await env.services.jobs.wait({ jobId })) as JobEvent;
      if (event.kind !== "markers" || event.result?.task !== "rank") throw new Error(`markers job ended ${event.state}: ${event.error?.message}`);
      const run = event.result;
      const genes = new Map<string | null, MarkersGene[]>();
      for (const g of run.groups) {
        const rows: MarkersGene[] = [];
        for (;;) {
          const page = unwrap(
            await markers.table({
              markersId: run.markersId,
              ...(comparison.kind === "all" ? { group: g.group } : {}),
              filter,
              offset: rows.length,
              limit: 1000,
            }),
          );
          rows.push(...page.rows);
          if (page.rows.length === 0 || rows.length >= page.total) break;
        }
        genes.set(g.group, rows);
      }
      return { run, genes };
    };
  });
  hooks.afterAll(async () => {
    await env.services?.dispose();
    await env.hub?.close();
    if (env.dir) await fs.rm(env.dir, { recursive: true, force: true });
  });
  return env;
}

/** The CLI's gene object made from the service's gene: the JSON the CLI must print for it. */
export function expectedJson(g: MarkersGene): GeneJson {
  return JSON.parse(
    JSON.stringify({
      gene_id: g.geneId,
      score: g.score,
      logfoldchange: g.logfoldchange,
      pval: g.pval,
      pval_adj: g.pvalAdj,
      pct_group: g.pctGroup,
      pct_reference: g.pctReference,
    }),
  ) as GeneJson;
}
