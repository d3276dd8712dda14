import type { AppApi, AppInfo } from "../../shared/ipc/contract";
import { fail, guard } from "./errors";

export type PickPath = (req: Parameters<AppApi["pickPath"]>[0]) => Promise<string | null>;

export class AppService implements AppApi {
  constructor(
    private readonly appInfo: AppInfo,
    private readonly picker: PickPath | null,
  ) {}

  info() {
    return guard(async () => this.appInfo);
  }

  pickPath(req: Parameters<AppApi["pickPath"]>[0]) {
    return guard(async () => {
      if (!this.picker) fail("UNSUPPORTED_IN_MODE", "There is no native file dialog in browser mode; type the path instead");
      return this.picker(req);
    });
  }
}
