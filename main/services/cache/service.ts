/**
 * The Cache panel's side of main: the gateway's disk cache (`<user data>/cache`, the same folder SourcesService's
 * gateway and every CLI command use) listed, capped, evicted and cleared through the cache manager, and pins run
 * as jobs of kind "pin" through this process's one gateway.
 */
import type { CacheApi, CachePinRequest, CacheSelector } from "../../../shared/ipc/contract";
import { fail, guard } from "../errors";
import { cacheManager, type CacheManager } from "../gateway/cache-manager";
import { parseHfUri, parseS3Uri, type Gateway, type S3Access } from "../gateway/index";
import type { JobService } from "../jobs/service";

export interface CacheServiceOptions {
  cacheDir: string;
  /** This process's gateway (started on first use); pins read through it. */
  gateway: () => Promise<Gateway>;
  /** The S3 settings an s3:// dataset is pinned with (read at each pin, as at each open). */
  s3Access?: () => Promise<S3Access>;
}

export class CacheService implements CacheApi {
  readonly manager: CacheManager;

  constructor(
    private readonly jobs: JobService,
    private readonly options: CacheServiceOptions,
  ) {
    this.manager = cacheManager(options.cacheDir);
  }

  usage() {
    return guard(() => this.manager.usage());
  }

  setCap(req: { capBytes: number }) {
    return guard(() => this.manager.setCap(req.capBytes));
  }

  pin(req: CachePinRequest) {
    return guard(async () => {
      // What is wrong with the request itself is answered at once, not as a failed job.
      const uri = req.uri.trim();
      if (/^s3:\/\//i.test(uri)) parseS3Uri(uri);
      else if (/^hf:\/\//i.test(uri)) parseHfUri(uri);
      else
        fail(
          "INVALID_ARGUMENT",
          `Only Hugging Face (hf://datasets/...) and S3 (s3://bucket/...) datasets can be pinned, not ${req.uri}: a local folder is read in place`,
        );
      if (req.columns?.length && req.tables?.length !== 1) fail("INVALID_ARGUMENT", "Columns can be pinned for one table at a time: name exactly one table");
      const jobId = this.jobs.start("pin", "rows", async (ctx) => {
        const gateway = await this.options.gateway();
        const s3 = /^s3:\/\//i.test(uri) ? await this.options.s3Access?.() : undefined;
        const pins = await this.manager.pin(
          gateway,
          { uri, tables: req.tables, columns: req.columns, s3 },
          { signal: ctx.signal, onProgress: (p) => ctx.progress(p.done, p.total, p.message) },
        );
        return { pins };
      });
      return { jobId };
    });
  }

  unpin(req: CacheSelector) {
    return guard(async () => ({ pinsRemoved: await this.manager.unpin(req) }));
  }

  evict(req: CacheSelector) {
    return guard(() => this.manager.evict(req));
  }

  clear() {
    return guard(() => this.manager.clear());
  }
}
