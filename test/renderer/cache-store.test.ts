import { afterEach, describe, expect, it, vi } from "vitest";
import type { CacheEntry, CacheUsage, JobEvent, JobEventOf } from "../../shared/ipc/contract";
import { err, ok } from "../../shared/result";
import { Cache, PIN_POLL_MS, groupUsage, parseCapInput, pinUriOf } from "../../renderer/stores/cache.svelte";
import { Jobs } from "../../renderer/stores/jobs.svelte";
import { countersMayChange } from "../../renderer/stores/sources.svelte";
import { FakeMain, settle } from "./fake-main";

const SHA = "0123456789abcdef0123456789abcdef01234567";
const OLD = "fedcba9876543210fedcba9876543210fedcba98";

function entry(over: Partial<CacheEntry>): CacheEntry {
  const sha = over.sha === undefined ? SHA : over.sha;
  return {
    source: "hf",
    endpoint: "https://huggingface.co",
    repo: "acme/pbmc",
    dataset: "pbmc.slaf",
    sha,
    refs: [],
    table: "cells",
    uri: `hf://datasets/acme/pbmc/pbmc.slaf@${sha}`,
    bytes: 100,
    pinnedBytes: 0,
    blocks: 1,
    lastUsed: "2026-01-01T00:00:00.000Z",
    ...over,
  };
}

function usageOf(entries: CacheEntry[]): CacheUsage {
  return {
    dir: "/user/cache",
    totalBytes: entries.reduce((s, e) => s + e.bytes, 0),
    pinnedBytes: entries.reduce((s, e) => s + e.pinnedBytes, 0),
    capBytes: 20 * 1024 ** 3,
    entries,
    pins: [],
    geneIndexes: [],
  };
}

/** The cache store on an in-memory main whose cache.* calls are recorded; pin jobs end when the test says so. */
function setup(answer: boolean) {
  const main = new FakeMain();
  const calls: string[] = [];
  let usage = usageOf([entry({ table: "cells", pinnedBytes: 80 }), entry({ table: "genes" })]);
  const pinJob: { event: JobEventOf<"pin"> | null; end: (e: Partial<JobEventOf<"pin">>) => void } = { event: null, end: () => {} };
  main.client.cache.usage = async () => {
    calls.push("usage");
    return ok(usage);
  };
  main.client.cache.clear = async () => {
    calls.push("clear");
    usage = usageOf([]);
    return ok({ removedBytes: 200, removedBlocks: 2, pinsRemoved: 0 });
  };
  main.client.cache.evict = async (sel) => {
    calls.push(`evict:${sel.uri}:${sel.table ?? "*"}`);
    return ok({ removedBytes: 100, removedBlocks: 1, pinsRemoved: 0 });
  };
  main.client.cache.setCap = async ({ capBytes }) => {
    calls.push(`setCap:${capBytes}`);
    return capBytes < 1 ? err("INVALID_ARGUMENT", "too small") : ok({ totalBytes: 0, pinnedBytes: 0, capBytes, evictedBytes: 50, evictedBlocks: 1 });
  };
  let finish: () => void = () => {};
  const ended = new Promise<void>((resolve) => (finish = resolve));
  main.client.cache.pin = async (req) => {
    calls.push(`pin:${req.uri}:${req.tables?.join(",")}:${req.columns?.join(",") ?? "*"}`);
    pinJob.event = {
      jobId: "job-pin",
      kind: "pin",
      state: "running",
      progress: { done: 0, total: 10, unit: "rows", ratePerSecond: null, etaSeconds: null },
      startedAt: 1,
    };
    main.emit("job", pinJob.event);
    return ok({ jobId: "job-pin" });
  };
  pinJob.end = (e) => {
    pinJob.event = { ...pinJob.event!, ...e };
    finish();
  };
  main.client.jobs.wait = async () => {
    await ended;
    return ok(pinJob.event as JobEvent);
  };
  main.client.jobs.cancel = async () => {
    calls.push("cancel");
    pinJob.end({ state: "cancelled", error: { code: "PIN_CANCELLED", message: "Cancelled by the user" } });
    return ok(null);
  };
  const asked: string[] = [];
  const jobs = new Jobs(main.client);
  const cache = new Cache(main.client, jobs, async (q) => (asked.push(q.title), answer));
  return { main, calls, asked, cache, pinJob, setUsage: (u: CacheUsage) => (usage = u) };
}

afterEach(() => {
  vi.useRealTimers();
});

describe("the cache panel's tree", () => {
  it("groups entries by source, dataset and revision, summing bytes, pinned bytes and the latest use", () => {
    const groups = groupUsage([
      entry({ table: null, bytes: 5, refs: ["main"] }),
      entry({ table: "cells", pinnedBytes: 60, refs: ["main"], lastUsed: "2026-02-01T00:00:00.000Z" }),
      entry({ sha: OLD, table: "cells", bytes: 40 }),
      entry({
        source: "s3",
        endpoint: "http://127.0.0.1:7480",
        repo: "bucket",
        dataset: "atlas.slaf",
        sha: null,
        uri: "s3://bucket/atlas.slaf",
        table: "genes",
      }),
    ]);
    expect(groups.map((g) => g.label)).toEqual(["Hugging Face · huggingface.co", "S3 · 127.0.0.1:7480"]);
    const [hf, s3] = groups;
    expect(hf.datasets).toHaveLength(1);
    const d = hf.datasets[0];
    expect(d).toMatchObject({
      name: "acme/pbmc/pbmc.slaf",
      uri: "hf://datasets/acme/pbmc/pbmc.slaf",
      bytes: 145,
      pinnedBytes: 60,
      lastUsed: "2026-02-01T00:00:00.000Z",
    });
    expect(d.revisions.map((r) => [r.sha, r.refs, r.bytes, r.tables.map((t) => t.table)])).toEqual([
      [SHA, ["main"], 105, [null, "cells"]],
      [OLD, [], 40, ["cells"]],
    ]);
    expect(s3.datasets[0]).toMatchObject({ name: "bucket/atlas.slaf", uri: "s3://bucket/atlas.slaf" });
    expect(s3.datasets[0].revisions[0].sha).toBeNull();
  });

  it("reads cap sizes as shown (1 GB = 1024³ bytes) and refuses what is not a size", () => {
    expect(parseCapInput("50 GB")).toBe(50 * 1024 ** 3);
    expect(parseCapInput("512mb")).toBe(512 * 1024 ** 2);
    expect(parseCapInput("1.5T")).toBe(1.5 * 1024 ** 4);
    expect(parseCapInput("1000")).toBe(1000);
    expect(parseCapInput("lots")).toBeNull();
    expect(parseCapInput("-1 GB")).toBeNull();
  });

  it("pins the open Hub dataset at its resolved commit, whatever revision form its URI has; an S3 one as it is", () => {
    const revision = { requested: "main", sha: SHA };
    expect(pinUriOf({ uri: "hf://datasets/acme/pbmc/pbmc.slaf@main", source: "hf", revision })).toBe(`hf://datasets/acme/pbmc/pbmc.slaf@${SHA}`);
    expect(pinUriOf({ uri: "hf://datasets/acme/pbmc@main/pbmc.slaf", source: "hf", revision })).toBe(`hf://datasets/acme/pbmc/pbmc.slaf@${SHA}`);
    expect(pinUriOf({ uri: "hf://datasets/acme/pbmc@refs/pr/1/x.slaf", source: "hf", revision: { requested: "refs/pr/1", sha: SHA } })).toBe(
      `hf://datasets/acme/pbmc/x.slaf@${SHA}`,
    );
    expect(pinUriOf({ uri: "hf://datasets/acme/pbmc", source: "hf", revision })).toBe(`hf://datasets/acme/pbmc@${SHA}`);
    expect(pinUriOf({ uri: "s3://bucket/atlas.slaf", source: "s3", revision: null })).toBe("s3://bucket/atlas.slaf");
    expect(pinUriOf({ uri: "s3://bucket", source: "s3", revision: null })).toBe("s3://bucket");
    expect(pinUriOf({ uri: "/data/pbmc.slaf", source: "local", revision: null })).toBeNull();
  });
});

describe("cache actions", () => {
  it("clear asks first: no leaves the cache alone, yes clears and reads the usage again", async () => {
    const no = setup(false);
    await no.cache.refresh();
    expect(await no.cache.clear()).toBe(false);
    expect(no.asked).toEqual(["Clear the whole cache?"]);
    expect(no.calls).toEqual(["usage"]);

    const yes = setup(true);
    await yes.cache.refresh();
    expect(await yes.cache.clear()).toBe(true);
    expect(yes.calls).toEqual(["usage", "clear", "usage"]);
    expect(yes.cache.usage?.entries).toEqual([]);
    expect(yes.cache.notice).toContain("200 B freed");
  });

  it("evicting pinned data asks first; unpinned data goes at once", async () => {
    const s = setup(false);
    await s.cache.refresh();
    const [cells, genes] = s.cache.usage!.entries;
    expect(await s.cache.evict({ uri: cells.uri, table: "cells" }, "table cells", cells.pinnedBytes)).toBe(false);
    expect(s.asked).toEqual(["Evict pinned data?"]);
    expect(await s.cache.evict({ uri: genes.uri, table: "genes" }, "table genes", genes.pinnedBytes)).toBe(true);
    expect(s.asked).toHaveLength(1);
    expect(s.calls).toEqual(["usage", `evict:${genes.uri}:genes`, "usage"]);
  });

  it("a refused cap shows main's error and still reads the usage again", async () => {
    const s = setup(true);
    expect(await s.cache.setCap(0)).toBe(false);
    expect(s.cache.error).toMatchObject({ code: "INVALID_ARGUMENT" });
    expect(await s.cache.setCap(1024 ** 3)).toBe(true);
    expect(s.cache.error).toBeNull();
    expect(s.cache.notice).toBe("Cap set to 1.0 GB; evicted 50 B to fit");
    expect(s.calls).toEqual(["setCap:0", "usage", `setCap:${1024 ** 3}`, "usage"]);
  });
});

describe("pins", () => {
  it("follows a pin job: progress from job events, the usage read while it runs and once at the end", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const s = setup(true);
    const pinning = s.cache.pin({ uri: `hf://datasets/acme/pbmc/pbmc.slaf@${SHA}`, tables: ["cells"], columns: ["cell_type"] }, "cells (cell_type)");
    await settle();
    expect(s.cache.pinJob).toMatchObject({ jobId: "job-pin", state: "running", progress: { total: 10 } });
    s.main.emit("job", { ...s.pinJob.event!, progress: { ...s.pinJob.event!.progress, done: 5 } });
    expect(s.cache.pinJob?.progress.done).toBe(5);
    for (let i = 0; i < 3; i++) {
      await vi.advanceTimersByTimeAsync(PIN_POLL_MS);
      await settle();
    }
    expect(s.calls.filter((c) => c === "usage")).toHaveLength(3);
    s.pinJob.end({ state: "done", result: { pins: [{ bytes: 2048 } as never] } });
    const end = await pinning;
    expect(end?.state).toBe("done");
    expect(s.cache.pinJob).toBeNull();
    expect(s.cache.notice).toBe("Pinned cells (cell_type): 2.0 KB kept for offline use");
    expect(s.calls[0]).toBe(`pin:hf://datasets/acme/pbmc/pbmc.slaf@${SHA}:cells:cell_type`);
    expect(s.calls.filter((c) => c === "usage")).toHaveLength(4);
    // No polling once it ended.
    await vi.advanceTimersByTimeAsync(PIN_POLL_MS * 3);
    expect(s.calls.filter((c) => c === "usage")).toHaveLength(4);
  });

  it("a running pin keeps the status bar's counters polling (it reads through the gateway)", () => {
    expect(countersMayChange(null, [{ kind: "pin" }])).toBe(true);
    expect(countersMayChange(null, [{ kind: "convert" }])).toBe(false);
  });

  it("cancel ends the pin with main's PIN_CANCELLED error shown", async () => {
    const s = setup(true);
    const pinning = s.cache.pin({ uri: `hf://datasets/acme/pbmc/pbmc.slaf@${SHA}`, tables: ["expression"] }, "expression");
    await settle();
    await s.cache.cancelPin();
    expect((await pinning)?.state).toBe("cancelled");
    expect(s.cache.error?.code).toBe("PIN_CANCELLED");
    expect(s.calls).toContain("cancel");
    expect(s.cache.pinJobId).toBeNull();
  });
});
