import type { QueryApi } from "../../../shared/ipc/contract";
import type { DatasetService } from "../datasets/service";
import { fail, guard } from "../errors";
import type { JobService } from "../jobs/service";

export interface QueryServiceOptions {
  tempDir: string;
}

/** SQL over SLAF tables: DuckDB over Lance scans with projection and predicate pushdown. (Issue 5.) */
export class QueryService implements QueryApi {
  constructor(
    readonly datasets: DatasetService,
    readonly jobs: JobService,
    readonly options: QueryServiceOptions,
  ) {}

  start() {
    return guard(async (): Promise<{ jobId: string }> => fail("UNSUPPORTED_IN_MODE", "SQL is not built yet"));
  }
  preview() {
    return guard(async () => fail("UNSUPPORTED_IN_MODE", "SQL is not built yet"));
  }
  page() {
    return guard(async () => fail("UNSUPPORTED_IN_MODE", "SQL is not built yet"));
  }
  export() {
    return guard(async () => fail("UNSUPPORTED_IN_MODE", "SQL is not built yet"));
  }
  release() {
    return guard(async () => fail("UNSUPPORTED_IN_MODE", "SQL is not built yet"));
  }
  async dispose(): Promise<void> {}
}
