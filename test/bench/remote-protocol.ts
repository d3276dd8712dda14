/** Messages between `bench remote` and its runner processes (one per way of reading: see remote-runner.ts). */
import type { S3Access } from "../../main/services/gateway/index";

export type RunnerRequest =
  /** The folder on disk, opened as the app does. */
  | { cmd: "open"; mode: "local"; uri: string }
  /** Lance straight to the source: each table of config.json (Lance cannot read config.json itself) with these options. */
  | { cmd: "open"; mode: "direct"; uri: string; tables: Record<string, string>; storageOptions: Record<string, string> }
  /** The app's path: sources and datasets services, the gateway with this cache folder and upstreams. */
  | { cmd: "open"; mode: "gateway"; uri: string; cacheDir: string; hubEndpoint: string; s3Access?: S3Access; tables: Record<string, string> }
  /** `emptyCache`: a gateway cache folder emptied before the scan (not timed); the gateway's memory of the open stays. */
  | { cmd: "scan"; table: string; emptyCache?: string }
  | { cmd: "exit" };

export interface RunnerResult {
  ms: number;
  /** CPU time of the runner process (user + system) during the command: Lance, and the gateway when it runs there. */
  cpuMs: number;
  /** Rows scanned (scan) or tables opened (open). */
  rows: number;
  /** The gateway's own count of upstream requests so far, by source and kind ("hf.resolve", "s3.get"...). */
  gatewayRequests: Record<string, number> | null;
}

export type RunnerReply = { ok: true; value: RunnerResult } | { ok: false; error: string };
