/**
 * Remote sources: the one gateway of this process (started with the first remote dataset), the offline switch
 * and the counters. Lance reads `hf://` through the gateway because HF_ENDPOINT names it, and LanceDB reads that
 * variable once per process: so there is one gateway per process, shared by every service that opens remote
 * datasets, and it is never restarted (offline is switched on the running gateway).
 */
import path from "node:path";
import type { SourceCounters, SourcesApi, SourcesStatus } from "../../../shared/ipc/contract";
import { guard } from "../errors";
import { pointLanceAt, startGateway, type Gateway, type GatewayOptions } from "../gateway/index";

export interface SourcesOptions {
  /** Root of the disk cache: `<user data>/cache`. */
  cacheDir: string;
  /** The upstream Hub (see hub-endpoint.ts for how it is chosen). */
  hubEndpoint: string;
  /** The Hub token, or a function reading it when the gateway starts (the environment's or the saved one). */
  hfToken?: string | null | (() => Promise<string | null>);
  offline?: boolean;
  /** Gateway tuning (tests). */
  gateway?: Partial<GatewayOptions>;
}

let processGateway: { options: SourcesOptions; gateway: Promise<Gateway> } | null = null;

export class SourcesService implements SourcesApi {
  private offline: boolean;

  constructor(readonly options: SourcesOptions) {
    this.offline = options.offline ?? false;
  }

  /** The gateway, started on first use with this process's environment pointed at it. */
  gateway(): Promise<Gateway> {
    if (!processGateway) {
      const options = this.options;
      const token = typeof options.hfToken === "function" ? options.hfToken() : Promise.resolve(options.hfToken ?? null);
      const gateway = token
        .then((hfToken) => startGateway({ ...options.gateway, cacheDir: options.cacheDir, hubEndpoint: options.hubEndpoint, hfToken, offline: this.offline }))
        .then((gw) => {
          pointLanceAt(gw);
          return gw;
        });
      processGateway = { options, gateway };
      gateway.catch(() => {
        if (processGateway?.gateway === gateway) processGateway = null;
      });
    }
    const shared = processGateway.gateway;
    return shared.then((gw) => {
      if (gw.offline !== this.offline) gw.setOffline(this.offline);
      return gw;
    });
  }

  status() {
    return guard(async () => this.snapshot());
  }

  setOffline(req: { offline: boolean }) {
    return guard(async () => {
      this.offline = req.offline;
      if (processGateway) (await processGateway.gateway).setOffline(req.offline);
      return this.snapshot();
    });
  }

  /** A changed Hub token: the running gateway uses it from its next request (a gateway started later reads it itself). */
  async setHfToken(token: string | null): Promise<void> {
    const gw = processGateway ? await processGateway.gateway.catch(() => null) : null;
    gw?.setHfToken(token);
  }

  isOffline(): boolean {
    return this.offline;
  }

  private async snapshot(): Promise<SourcesStatus> {
    const gw = processGateway ? await processGateway.gateway.catch(() => null) : null;
    const counters = gw ? sourceCounters(gw.counters()) : [];
    return { offline: this.offline, gatewayRunning: gw !== null, counters, cacheDir: path.resolve(this.options.cacheDir) };
  }

  async dispose(): Promise<void> {
    // The gateway outlives services in a process (HF_ENDPOINT keeps naming it); it closes with the process.
  }
}

/** The gateway's counters in the contract's one shape per source (S3 has several endpoints and SlowDowns, no budget). */
export function sourceCounters(c: ReturnType<Gateway["counters"]>): SourceCounters[] {
  const out: SourceCounters[] = [c.hf];
  if (c.s3 && c.s3.endpoints.length > 0) {
    const { endpoints, slowDowns, ...rest } = c.s3;
    out.push({ ...rest, endpoint: endpoints.join(", "), rateLimited: slowDowns, rateLimit: {} });
  }
  return out;
}
