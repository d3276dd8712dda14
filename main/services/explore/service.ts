/** The Explore view's main side (issue 13): embeddings, colours, genes, cell sets and QC over an open dataset. */
import type { CellSetSource, ExploreApi, ExploreColumnKind, ExploreTransform } from "../../../shared/ipc/contract";
import type { DatasetService } from "../datasets/service";
import { fail, guard } from "../errors";
import type { JobService } from "../jobs/service";
import type { QueryService } from "../query/service";

export interface ExploreDeps {
  datasets: DatasetService;
  jobs: JobService;
  query: QueryService;
}

function notYet(method: string): never {
  fail("INTERNAL", `explore.${method} is not available yet`);
}

export class ExploreService implements ExploreApi {
  constructor(readonly deps: ExploreDeps) {}

  info(_req: { datasetId: string }) {
    return guard(async () => notYet("info"));
  }
  points(_req: { datasetId: string; column: string; dims: [number, number]; offset: number; limit: number }) {
    return guard(async () => notYet("points"));
  }
  colors(_req: { datasetId: string; column: string; as?: ExploreColumnKind }) {
    return guard(async () => notYet("colors"));
  }
  searchGenes(_req: { datasetId: string; query: string; limit?: number }) {
    return guard(async () => notYet("searchGenes"));
  }
  gene(_req: { datasetId: string; geneIntegerId: number; transform: ExploreTransform; requestKey?: string }) {
    return guard(async () => notYet("gene"));
  }
  cancel(_req: { requestKey: string }) {
    return guard(async () => notYet("cancel"));
  }
  stats(_req: { datasetId: string }) {
    return guard(async () => notYet("stats"));
  }
  defineSet(_req: { datasetId: string; name: string; from: CellSetSource; replace?: boolean }) {
    return guard(async () => notYet("defineSet"));
  }
  listSets(_req: { datasetId: string }) {
    return guard(async () => notYet("listSets"));
  }
  getSet(_req: { datasetId: string; name: string }) {
    return guard(async () => notYet("getSet"));
  }
  renameSet(_req: { datasetId: string; name: string; newName: string }) {
    return guard(async () => notYet("renameSet"));
  }
  deleteSet(_req: { datasetId: string; name: string }) {
    return guard(async () => notYet("deleteSet"));
  }
  exportSetCsv(_req: { datasetId: string; name: string; path: string; overwrite?: boolean }) {
    return guard(async () => notYet("exportSetCsv"));
  }
  importSetCsv(_req: { datasetId: string; name: string; path: string; replace?: boolean }) {
    return guard(async () => notYet("importSetCsv"));
  }
  qc(_req: { datasetId: string; set?: string | null }) {
    return guard(async () => notYet("qc"));
  }
  qcData(_req: { datasetId: string; set?: string | null }) {
    return guard(async () => notYet("qcData"));
  }
}
