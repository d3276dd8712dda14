/** Messages between `bench remote` and its runner processes (one per way of reading: see remote-runner.ts). */

/** local: the folder on disk; direct: Lance straight to the Hub (HF_ENDPOINT = the Hub); gateway: the app's path. */
export type RunnerMode = "local" | "direct" | "gateway";

export type RunnerRequest =
  | {
      cmd: "open";
      mode: RunnerMode;
      /** A folder (local) or `hf://datasets/<owner>/<repo>/<path>` (direct, gateway). */
      uri: string;
      /** direct: the commit to read and the tables of config.json (Lance cannot read config.json itself). */
      sha?: string;
      tables?: Record<string, string>;
      /** gateway: its cache folder and upstream Hub. */
      cacheDir?: string;
      hubEndpoint?: string;
    }
  | { cmd: "scan"; table: string }
  | { cmd: "exit" };

export interface RunnerResult {
  ms: number;
  /** CPU time of the runner process (user + system) during the command: Lance, and the gateway when it runs there. */
  cpuMs: number;
  /** Rows scanned (scan) or tables opened (open). */
  rows: number;
  /** The gateway's own count of upstream requests by kind so far (gateway mode). */
  gatewayRequests: Record<string, number> | null;
}

export type RunnerReply = { ok: true; value: RunnerResult } | { ok: false; error: string };
