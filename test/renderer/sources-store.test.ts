import { afterEach, describe, expect, it, vi } from "vitest";
import type { DatasetSummary, SourceCounters } from "../../shared/ipc/contract";
import { ok } from "../../shared/result";
import { Jobs } from "../../renderer/stores/jobs.svelte";
import { createNotebook } from "../../renderer/stores/notebook";
import { Recents } from "../../renderer/stores/recents.svelte";
import { POLL_MS, Sources, countersMayChange, sourceUsed, summarizeAll, summarizeSource } from "../../renderer/stores/sources.svelte";
import { Workspace } from "../../renderer/stores/workspace.svelte";
import { FakeMain, fakeDataset, settle } from "./fake-main";
import { FakeSources, hubCounters } from "./fake-sources";

function remoteDataset(datasetId: string): DatasetSummary {
  return {
    ...fakeDataset(datasetId, "pbmc"),
    uri: "hf://datasets/acme/pbmc/pbmc.slaf@main",
    source: "hf",
    revision: { requested: "main", sha: "0123456789abcdef0123456789abcdef01234567" },
  };
}

/** The app's stores on an in-memory main, with `datasets.open` answering the datasets given. */
function setup(datasets: DatasetSummary[]) {
  const main = new FakeMain();
  const fake = new FakeSources(main);
  main.client.datasets.open = async ({ uri }) => ok(main.openDataset(datasets.find((d) => d.uri === uri)!));
  main.client.datasets.close = async () => ok(null);
  const jobs = new Jobs(main.client);
  const nb = createNotebook(main.client, jobs, { askPath: async () => null });
  const storage = new Map<string, string>();
  const recents = new Recents({ getItem: (k) => storage.get(k) ?? null, setItem: (k, v) => void storage.set(k, v) });
  const workspace = new Workspace(main.client, nb.file, recents);
  const sources = new Sources(main.client);
  // What the status bar's effect does whenever the dataset or the running jobs change (effects do not run in
  // these tests: the stores are compiled for the server here).
  const react = () => sources.follow(countersMayChange(workspace.dataset, jobs.running));
  return { main, fake, jobs, nb, workspace, sources, react };
}

/** Advances fake time by whole polling periods, letting each answer arrive. */
async function periods(n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    await vi.advanceTimersByTimeAsync(POLL_MS);
    await settle();
  }
}

afterEach(() => {
  vi.useRealTimers();
});

describe("polling the gateway's counters", () => {
  it("polls only while a remote dataset is open or a query runs, with one last read when it stops", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const local = fakeDataset("ds-local", "local");
    const remote = remoteDataset("ds-remote");
    const s = setup([local, remote]);
    s.react();
    await periods(3);
    expect(s.fake.statusCalls()).toBe(0);
    expect(s.sources.polling).toBe(false);

    await s.workspace.open(local.uri);
    s.react();
    await periods(3);
    expect(s.fake.statusCalls()).toBe(0);

    s.fake.gatewayRunning = true;
    await s.workspace.open(remote.uri);
    s.react();
    await settle();
    expect(s.sources.polling).toBe(true);
    expect(s.fake.statusCalls()).toBe(1);
    expect(s.sources.gatewayRunning).toBe(true);
    await periods(3);
    expect(s.fake.statusCalls()).toBe(4);

    s.fake.counters = [hubCounters({ requests: { api: 2, tree: 1, resolve: 5, cdn: 5 } })];
    await s.workspace.close();
    s.react();
    await settle();
    // The read at the stop shows the final counters...
    expect(s.fake.statusCalls()).toBe(5);
    expect(s.sources.status?.counters[0].requests.resolve).toBe(5);
    // ...and nothing more is asked.
    await periods(5);
    expect(s.fake.statusCalls()).toBe(5);
    expect(s.sources.polling).toBe(false);

    // A query on a local dataset (the gateway may still serve another page's remote dataset): polled while it runs.
    s.main.emit("job", {
      jobId: "q1",
      kind: "query",
      state: "running",
      progress: { done: 0, total: null, unit: "rows", ratePerSecond: null, etaSeconds: null },
      startedAt: 1,
    });
    s.react();
    await settle();
    await periods(2);
    expect(s.fake.statusCalls()).toBe(8);
    s.main.emit("job", {
      jobId: "q1",
      kind: "query",
      state: "done",
      progress: { done: 1, total: 1, unit: "rows", ratePerSecond: null, etaSeconds: null },
      startedAt: 1,
      endedAt: 2,
    });
    s.react();
    await settle();
    await periods(5);
    expect(s.fake.statusCalls()).toBe(9);

    s.sources.dispose();
  });

  it("a conversion running is no reason to poll", () => {
    expect(countersMayChange(null, [{ kind: "convert" }])).toBe(false);
    expect(countersMayChange(fakeDataset("ds"), [])).toBe(false);
    expect(countersMayChange({ source: "s3" }, [])).toBe(true);
  });

  it("stopping and starting again while a read is on its way keeps one polling loop", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const { fake, sources } = setup([]);
    fake.hold();
    sources.follow(true);
    sources.follow(false);
    sources.follow(true);
    await settle();
    expect(fake.statusCalls()).toBe(3);
    fake.release();
    await settle();
    await periods(4);
    // One loop: one read per period after the three at the switches.
    expect(fake.statusCalls()).toBe(7);
    sources.dispose();
    await periods(3);
    expect(fake.statusCalls()).toBe(7);
  });
});

describe("the Offline switch", () => {
  it("switches main's offline mode both ways and shows main's answer", async () => {
    const { fake, sources } = setup([]);
    await sources.refresh();
    expect(sources.offline).toBe(false);
    await sources.setOffline(true);
    expect(fake.offline).toBe(true);
    expect(sources.offline).toBe(true);
    await sources.setOffline(false);
    expect(fake.offline).toBe(false);
    expect(sources.offline).toBe(false);
    expect(fake.calls).toEqual(["status", "setOffline:true", "setOffline:false"]);
  });

  it("a status read sent before the switch and answered after it does not turn the switch back", async () => {
    const { fake, sources } = setup([]);
    fake.hold();
    const stale = sources.refresh();
    await settle();
    await sources.setOffline(true);
    expect(sources.offline).toBe(true);
    fake.release();
    await stale;
    expect(sources.offline).toBe(true);
  });

  it("a failed switch is kept as the store's error and leaves the state shown as it was", async () => {
    const { main, sources } = setup([]);
    await sources.refresh();
    main.client.sources.setOffline = async () => ({ ok: false, error: { code: "INTERNAL", message: "gateway gone" } });
    await sources.setOffline(true);
    expect(sources.offline).toBe(false);
    expect(sources.error?.message).toBe("gateway gone");
    expect(sources.switching).toBe(false);
    await sources.refresh();
    expect(sources.error).toBeNull();
  });
});

describe("counter summaries", () => {
  const now = Date.parse("2026-01-01T00:00:00Z");
  const hub = hubCounters({
    requests: { api: 3, tree: 2, resolve: 40, cdn: 40 },
    bytesDown: 5 * 1024 * 1024,
    latencyMs: { p50: 12, p95: 80 },
    cache: { hits: 30, misses: 10, hitBytes: 1 },
    rateLimit: {
      api: { remaining: 480, quota: 500, resetAt: now + 100_000, windowSeconds: 300 },
      resolvers: { remaining: 2900, quota: 3000, resetAt: now + 42_500, windowSeconds: 300 },
    },
  });

  it("adds up requests of every kind, gives the hit ratio and the tightest rate-limit bucket first", () => {
    const s = summarizeSource(hub, now);
    expect(s.requests).toBe(85);
    expect(s.bytesDown).toBe(5 * 1024 * 1024);
    expect(s.hitRatio).toBe(0.75);
    expect([s.p50, s.p95]).toEqual([12, 80]);
    // resolvers: 2900/3000 = 96.7% left; api: 480/500 = 96%: api is the tighter.
    expect(s.budgets.map((b) => [b.bucket, b.remaining, b.quota, b.resetsInSeconds])).toEqual([
      ["api", 480, 500, 100],
      ["resolvers", 2900, 3000, 43],
    ]);
  });

  it("no reads yet: no hit ratio; several sources: sums and the slower latencies", () => {
    expect(summarizeSource(hubCounters(), now).hitRatio).toBeNull();
    const s3 = {
      ...hubCounters({ requests: { list: 1, get: 4 }, latencyMs: { p50: 30, p95: 60 }, cache: { hits: 0, misses: 10, hitBytes: 0 } }),
      source: "s3" as const,
    };
    const all = summarizeAll([hub, s3], now);
    expect(all.requests).toBe(90);
    expect(all.hitRatio).toBe(0.6);
    expect([all.p50, all.p95]).toEqual([30, 80]);
    expect(summarizeAll([], now)).toMatchObject({ requests: 0, hitRatio: null, p50: null, budgets: [] });
  });
});

describe("counters as sources report them", () => {
  it("an S3 entry without rate-limit buckets, with several endpoints and SlowDowns, is completed; unused sources are told apart", async () => {
    const { fake, sources } = setup([]);
    const s3 = {
      source: "s3",
      endpoints: ["http://127.0.0.1:7480", "https://s3.amazonaws.com"],
      requests: { list: 1, get: 3, head: 0 },
      bytesDown: 10,
      bytesServed: 10,
      latencyMs: { p50: 5, p95: 9 },
      cache: { hits: 1, misses: 3, hitBytes: 2 },
      retries: 1,
      slowDowns: 2,
      waitedMs: 100,
    } as unknown as SourceCounters;
    fake.counters = [hubCounters(), s3];
    await sources.refresh();
    const [hub, completed] = sources.status!.counters;
    expect(completed).toMatchObject({ endpoint: "http://127.0.0.1:7480, https://s3.amazonaws.com", rateLimited: 2, rateLimit: {} });
    expect(summarizeSource(completed, 0)).toMatchObject({ requests: 4, hitRatio: 0.25, budgets: [] });
    expect([sourceUsed(hub), sourceUsed(completed)]).toEqual([false, true]);
    expect(summarizeAll(sources.status!.counters, 0).requests).toBe(4);
  });
});
