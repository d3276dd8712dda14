import type { ConvertApi } from "../../../shared/ipc/contract";
import { fail, guard } from "../errors";
import type { JobService } from "../jobs/service";

export interface ConvertServiceOptions {
  userDataDir: string;
  /** Folder with the bundled demo input (PBMC 3k), shipped inside the app. */
  demoInputDir: string;
}

/** h5ad / 10x MTX / 10x HDF5 → SLAF 0.5, streaming. (Issue 4.) */
export class ConvertService implements ConvertApi {
  constructor(
    readonly jobs: JobService,
    readonly options: ConvertServiceOptions,
  ) {}

  inspect() {
    return guard(async () => fail("UNSUPPORTED_IN_MODE", "Conversion is not built yet"));
  }
  start() {
    return guard(async (): Promise<{ jobId: string }> => fail("UNSUPPORTED_IN_MODE", "Conversion is not built yet"));
  }
  /** Path of the demo dataset, built on first use. */
  async ensureDemo(): Promise<string> {
    fail("UNSUPPORTED_IN_MODE", "The demo dataset is not built yet");
  }
}
