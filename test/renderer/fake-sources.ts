/** Main's remote sources in memory, installed on a FakeMain's client: the offline flag, the gateway and its counters. */
import type { SourceCounters, SourcesStatus } from "../../shared/ipc/contract";
import { ok } from "../../shared/result";
import type { FakeMain } from "./fake-main";

export function hubCounters(over: Partial<SourceCounters> = {}): SourceCounters {
  return {
    source: "hf",
    endpoint: "https://huggingface.co",
    requests: { api: 0, tree: 0, resolve: 0, cdn: 0 },
    bytesDown: 0,
    bytesServed: 0,
    latencyMs: { p50: null, p95: null },
    cache: { hits: 0, misses: 0, hitBytes: 0 },
    retries: 0,
    rateLimited: 0,
    waitedMs: 0,
    rateLimit: {},
    ...over,
  };
}

export class FakeSources {
  offline = false;
  gatewayRunning = false;
  counters: SourceCounters[] = [];
  /** Every call, in order: "status" or "setOffline:<true|false>". */
  readonly calls: string[] = [];
  /** While holding, `status` answers only when the test releases it. */
  private holding = false;
  private readonly waiting: (() => void)[] = [];

  constructor(main: FakeMain) {
    main.client.sources.status = async () => {
      this.calls.push("status");
      const snapshot = this.snapshot();
      if (this.holding) await new Promise<void>((resolve) => this.waiting.push(resolve));
      return ok(snapshot);
    };
    main.client.sources.setOffline = async ({ offline }) => {
      this.calls.push(`setOffline:${offline}`);
      this.offline = offline;
      return ok(this.snapshot());
    };
  }

  statusCalls(): number {
    return this.calls.filter((c) => c === "status").length;
  }

  /** The next `status` calls wait (with what main had when they arrived) until `release`. */
  hold(): void {
    this.holding = true;
  }

  release(): void {
    this.holding = false;
    for (const resolve of this.waiting.splice(0)) resolve();
  }

  private snapshot(): SourcesStatus {
    return { offline: this.offline, gatewayRunning: this.gatewayRunning, counters: structuredClone(this.counters), cacheDir: "/user/cache" };
  }
}
