import type { NotebooksApi } from "../../../shared/ipc/contract";
import type { DatasetService } from "../datasets/service";
import { fail, guard } from "../errors";
import type { EmitEvent } from "../events";

/** Notebook files on disk: atomic writes, conflict detection, watching. (Issue 5.) */
export class NotebookService implements NotebooksApi {
  constructor(
    readonly emit: EmitEvent,
    readonly datasets: DatasetService,
  ) {}

  read() {
    return guard(async () => fail("UNSUPPORTED_IN_MODE", "Notebooks are not built yet"));
  }
  write() {
    return guard(async () => fail("UNSUPPORTED_IN_MODE", "Notebooks are not built yet"));
  }
  watch() {
    return guard(async () => fail("UNSUPPORTED_IN_MODE", "Notebooks are not built yet"));
  }
  unwatch() {
    return guard(async () => fail("UNSUPPORTED_IN_MODE", "Notebooks are not built yet"));
  }
  starter() {
    return guard(async () => fail("UNSUPPORTED_IN_MODE", "Notebooks are not built yet"));
  }
  dispose(): void {}
}
