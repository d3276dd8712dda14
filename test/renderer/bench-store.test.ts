import { describe, expect, it } from "vitest";
import {
  BENCH_ANNOUNCEMENT_PRESET,
  type BenchMeasurement,
  type BenchOptions,
  type BenchRun,
  type BenchRunSummary,
  type BenchSourceResult,
  type JobEvent,
  type JobEventOf,
} from "../../shared/ipc/contract";
import { err, ok, type Result } from "../../shared/result";
import {
  chartBars,
  compareRuns,
  describeOptions,
  isPartial,
  notMeasured,
  optionsProblem,
  parseColumns,
  resultRows,
  runFileStem,
  sourceKindOf,
  sourceLabel,
  sourceLabels,
  sourceNotes,
} from "../../renderer/stores/bench-results";
import { BENCH_DEFAULTS, Bench } from "../../renderer/stores/bench.svelte";
import { Jobs } from "../../renderer/stores/jobs.svelte";
import { FakeMain, settle } from "./fake-main";

const LOCAL = "/data/pbmc3k.slaf";
const HF = "hf://datasets/acme/pbmc/pbmc.slaf@main";
const S3 = "s3://bucket/atlas/pbmc.slaf";

function measurement(over: Partial<BenchMeasurement> = {}): BenchMeasurement {
  return {
    rows: 160,
    bytes: 1024 * 1024,
    cells: 160,
    batches: 1,
    seconds: 0.5,
    mibPerSecond: 2,
    rowsPerSecond: 320,
    cellsPerSecond: 320,
    ttfbMs: 12.5,
    batchMs: { p50: 4, p95: 9.5 },
    upstreamRequests: 0,
    upstreamBytes: 0,
    cacheHits: 0,
    cacheMisses: 0,
    rateLimitUsed: null,
    ...over,
  };
}

function result(uri: string, over: Partial<BenchSourceResult> = {}, m: Partial<BenchMeasurement> = {}): BenchSourceResult {
  const median = measurement(m);
  return { uri, source: sourceKindOf(uri), revision: null, median, repeats: [median], spread: 0, ...over };
}

function run(runId: string, results: BenchSourceResult[], over: Partial<BenchRun> = {}): BenchRun {
  return {
    runId,
    startedAt: Date.UTC(2026, 10, 26, 1, 48),
    endedAt: Date.UTC(2026, 10, 26, 1, 49),
    appVersion: "0.1.0",
    machine: { platform: "linux", arch: "x64", cpus: 2, cpuModel: "cpu", memoryBytes: 1 },
    dataset: "pbmc3k",
    options: { ...BENCH_DEFAULTS, uris: results.map((r) => r.uri), columns: null },
    results,
    cancelled: false,
    ...over,
  };
}

function summary(r: BenchRun): BenchRunSummary {
  return {
    runId: r.runId,
    startedAt: r.startedAt,
    dataset: r.dataset,
    table: r.options.table,
    reader: r.options.reader,
    cold: r.options.cold,
    sources: r.results.map((x) => ({ uri: x.uri, source: x.source, mibPerSecond: x.error ? null : x.median.mibPerSecond })),
    cancelled: r.cancelled,
  };
}

/**
 * The bench store on an in-memory main: saved runs, a bench job that ends when the test says so (or is cancelled,
 * saving the sources measured so far), exports that refuse to replace a file unasked.
 */
function setup(opts: { answer?: boolean; savePath?: string | null } = {}) {
  const main = new FakeMain();
  const saved = new Map<string, BenchRun>();
  const calls: string[] = [];
  const started: BenchOptions[] = [];
  const files = new Map<string, string>();
  let job: JobEventOf<"bench"> | null = null;
  let finish: () => void = () => {};
  let ended = Promise.resolve();
  /** What a cancel saves: the sources finished before it. */
  let partial: BenchSourceResult[] = [];
  let nextRun = 1;
  /** The id main gives the run it starts (and saves under when cancelled). */
  let runId = "";

  const save = (r: BenchRun) => saved.set(r.runId, r);
  main.client.bench.history = async () => {
    calls.push("history");
    return ok([...saved.values()].sort((a, b) => b.startedAt - a.startedAt).map(summary));
  };
  main.client.bench.get = async ({ runId }) => {
    calls.push(`get:${runId}`);
    const r = saved.get(runId);
    return r ? ok(r) : err("BENCH_RUN_NOT_FOUND", `No benchmark run ${runId}`);
  };
  main.client.bench.remove = async ({ runId }) => {
    calls.push(`remove:${runId}`);
    return saved.delete(runId) ? ok(null) : err("BENCH_RUN_NOT_FOUND", `No benchmark run ${runId}`);
  };
  main.client.bench.export = async ({ runId, format, path, overwrite }) => {
    calls.push(`export:${runId}:${format}:${path}:${overwrite ?? false}`);
    if (files.has(path) && !overwrite) return err("EXPORT_TARGET_EXISTS", `${path} already exists`, { path });
    const text = `${format} of ${runId}`;
    files.set(path, text);
    return ok({ path, bytes: text.length });
  };
  main.client.bench.start = async ({ options }) => {
    calls.push("start");
    started.push(options);
    job = {
      jobId: "job-bench",
      kind: "bench",
      state: "running",
      progress: { done: 0, total: options.batches, unit: "batches", ratePerSecond: null, etaSeconds: null },
      startedAt: 5,
    };
    ended = new Promise<void>((resolve) => (finish = resolve));
    main.emit("job", job);
    runId = `run-${nextRun++}`;
    return ok({ jobId: job.jobId, runId });
  };
  main.client.jobs.wait = async ({ jobId }): Promise<Result<JobEvent>> => {
    if (!job || jobId !== job.jobId) return err("JOB_NOT_FOUND", `No job ${jobId}`);
    await ended;
    return ok(job);
  };
  main.client.jobs.cancel = async () => {
    calls.push("cancel");
    const r = run(runId, partial, { cancelled: true, startedAt: Date.UTC(2026, 10, 27) });
    save(r);
    job = { ...job!, state: "cancelled", error: { code: "BENCH_CANCELLED", message: "Cancelled by the user" }, endedAt: 9 };
    finish();
    return ok(null);
  };

  const asked: string[] = [];
  const paths: string[] = [];
  const jobs = new Jobs(main.client);
  const bench = new Bench(
    main.client,
    jobs,
    async (_kind, title, initial) => (paths.push(`${title}|${initial}`), opts.savePath === undefined ? `/out/${initial}` : opts.savePath),
    async (q) => (asked.push(q.title), opts.answer ?? true),
  );
  return {
    main,
    bench,
    calls,
    started,
    files,
    asked,
    paths,
    save,
    setPartial: (r: BenchSourceResult[]) => (partial = r),
    progress: (done: number) => {
      job = { ...job!, progress: { ...job!.progress, done, message: `Measuring ${HF}` } };
      main.emit("job", job);
    },
    /** Ends the running job well with `r` (saved first, as main does). */
    end: (r: BenchRun) => {
      save(r);
      job = { ...job!, state: "done", result: r, endedAt: 9 };
      finish();
    },
  };
}

describe("the benchmark's views of a run", () => {
  it("names sources by where they are, kept apart when two read the same", () => {
    expect([sourceKindOf(LOCAL), sourceKindOf(HF), sourceKindOf(S3), sourceKindOf("C:\\data\\x.slaf")]).toEqual(["local", "hf", "s3", "local"]);
    expect(sourceLabel(HF)).toBe("Hugging Face · acme/pbmc");
    expect(sourceLabel("hf://datasets/acme/pbmc@v2/pbmc.slaf")).toBe("Hugging Face · acme/pbmc");
    expect(sourceLabel(S3)).toBe("S3 · bucket");
    expect(sourceLabel("/data/pbmc3k.slaf/")).toBe("Local · pbmc3k.slaf");
    expect(sourceLabels([LOCAL, "/other/pbmc3k.slaf", HF])).toEqual(["Local · pbmc3k.slaf", "Local · pbmc3k.slaf (2)", "Hugging Face · acme/pbmc"]);
  });

  it("lays the results table out one value per source, with upstream counters, cache hits and the Hub's budget", () => {
    const r = run("run-a", [
      result(LOCAL, {}, { mibPerSecond: 189.724, rowsPerSecond: 1234.4, ttfbMs: 3.25, batchMs: { p50: 4.5, p95: 1500 } }),
      result(
        HF,
        { spread: 0.125, repeats: [measurement(), measurement(), measurement()] },
        {
          mibPerSecond: 44.84,
          upstreamRequests: 1234,
          upstreamBytes: 5 * 1024 * 1024,
          cacheHits: 1,
          cacheMisses: 3,
          rateLimitUsed: { api: { used: 12, quota: 1000 }, resolvers: { used: 40, quota: null } },
          upstreamByKind: { api: 0, resolve: 30, cdn: 4 },
          servedBytes: 2 * 1024 * 1024,
          openMs: 120,
        },
      ),
      result(S3, { error: { code: "SOURCE_UNREACHABLE", message: "no route" } }),
    ]);
    const rows = Object.fromEntries(resultRows(r).map((row) => [row.key, row.values]));
    expect(rows.mib).toEqual(["189.72", "44.84", null]);
    expect(rows["rows-per-s"][0]).toBe("1,234");
    expect(rows.rows).toEqual(["160", "160", null]);
    expect(rows.ttfb[0]).toBe("3.25 ms");
    expect(rows.p95[0]).toBe("1.50 s");
    expect(rows.seconds).toEqual(["500 ms", "500 ms", null]);
    expect(rows.spread).toEqual(["one run", "12.5% over 3 runs", null]);
    expect(rows["upstream-requests"]).toEqual(["—", "1,234", null]);
    expect(rows["upstream-bytes"]).toEqual(["—", "5.0 MB", null]);
    expect(rows["cache-hits"]).toEqual(["—", "1 of 4 (25%)", null]);
    expect(rows["rate-limit"]).toEqual(["—", "api 12 / 1,000 · resolvers 40", null]);
    expect(rows["upstream-kinds"]).toEqual(["—", "resolve 30 · cdn 4", null]);
    expect(rows["served-bytes"]).toEqual(["—", "2.0 MB", null]);
    expect(rows.open).toEqual(["—", "120 ms", null]);
  });

  it("draws one bar per measured source, fastest first, and compares two runs per source", () => {
    const a = run("run-a", [result(LOCAL, {}, { mibPerSecond: 20 }), result(HF, {}, { mibPerSecond: 50 }), result(S3, { error: { code: "X", message: "" } })]);
    expect(chartBars(a).map((b) => [b.label, b.mib, b.source])).toEqual([
      ["Hugging Face · acme/pbmc", 50, "hf"],
      ["Local · pbmc3k.slaf", 20, "local"],
    ]);
    const b = run("run-b", [result(HF, {}, { mibPerSecond: 25 }), result(S3, {}, { mibPerSecond: 10 })]);
    expect(compareRuns(a, b)).toEqual([
      { uri: LOCAL, label: "Local · pbmc3k.slaf", a: 20, b: null, ratio: null },
      { uri: HF, label: "Hugging Face · acme/pbmc", a: 50, b: 25, ratio: 0.5 },
      { uri: S3, label: "S3 · bucket", a: null, b: 10, ratio: null },
    ]);
  });

  it("marks a source cut short by a cancel, lists the sources never reached, and carries main's notes", () => {
    const partial = result(HF, {}, { cancelled: true });
    const r = run("run-a", [{ ...result(LOCAL), notes: ["cold has no effect on a local folder"] }, partial], {
      options: { ...BENCH_DEFAULTS, uris: [LOCAL, HF, S3], columns: null },
      cancelled: true,
    });
    expect(r.results.map(isPartial)).toEqual([false, true]);
    expect(notMeasured(r)).toEqual([S3]);
    expect(sourceNotes(r)).toEqual([{ label: "Local · pbmc3k.slaf", note: "cold has no effect on a local folder" }]);
  });

  it("checks options before main is asked, naming the field", () => {
    const good: BenchOptions = { ...BENCH_DEFAULTS, uris: [LOCAL], columns: null };
    expect(optionsProblem(good)).toBeNull();
    expect(optionsProblem({ ...good, uris: [] })).toMatch(/source/);
    expect(optionsProblem({ ...good, batchSize: 0 })).toMatch(/^Batch size/);
    expect(optionsProblem({ ...good, batchSize: 2.5 })).toMatch(/^Batch size/);
    expect(optionsProblem({ ...good, batches: null, seconds: null })).toMatch(/batches.*seconds/);
    expect(optionsProblem({ ...good, batches: null, seconds: 0.01 })).toMatch(/^Seconds/);
    expect(optionsProblem({ ...good, concurrency: 65 })).toMatch(/^Concurrency/);
    expect(optionsProblem({ ...good, repeat: 0 })).toMatch(/^Repeat/);
    expect(optionsProblem({ ...good, reader: "raw", columns: ["x"] })).toMatch(/scan/);
    expect(parseColumns(" cell_type, , n_genes ,cell_type")).toEqual(["cell_type", "n_genes"]);
    expect(parseColumns("  ")).toBeNull();
    expect(describeOptions({ ...BENCH_ANNOUNCEMENT_PRESET })).toBe("cells · scan · 256 rows × 20,000 batches · cold");
    expect(describeOptions({ ...good, reader: "geneformer", table: "expression", concurrency: 2, repeat: 3, cold: false })).toBe(
      "expression · geneformer · 256 cells × 2,000 batches or 30 s · warm · 2 readers · repeat 3",
    );
  });
});

describe("the bench store", () => {
  it("starts from the open dataset, which it follows until the user edits the list", () => {
    const { bench } = setup();
    bench.prefill(LOCAL);
    expect(bench.sources).toEqual([LOCAL]);
    bench.prefill("/data/other.slaf");
    expect(bench.sources).toEqual(["/data/other.slaf"]);
    expect(bench.addSource("https://huggingface.co/datasets/acme/pbmc/tree/main/pbmc.slaf")).toBeNull();
    expect(bench.sources).toEqual(["/data/other.slaf", "hf://datasets/acme/pbmc/pbmc.slaf@main"]);
    bench.prefill(LOCAL);
    expect(bench.sources).toEqual(["/data/other.slaf", "hf://datasets/acme/pbmc/pbmc.slaf@main"]);
    expect(bench.addSource("hf://datasets/acme/pbmc/pbmc.slaf@main")).toMatch(/already in the list/);
    expect(bench.addSource("hf://acme")).toMatch(/hf:\/\/datasets\/<owner>\/<repo>/);
    expect(bench.addSource("  ")).toMatch(/local folder/);
    expect(bench.addSource(` ${S3} `)).toBeNull();
    bench.removeSource("/data/other.slaf");
    expect(bench.sources).toEqual(["hf://datasets/acme/pbmc/pbmc.slaf@main", S3]);
    for (let i = 0; i < 6; i++) expect(bench.addSource(`/d/${i}.slaf`)).toBeNull();
    expect(bench.addSource("/d/9.slaf")).toMatch(/At most 8/);
  });

  it("reads expression for the loader's readers, drops columns there, and applies the announcement's preset", () => {
    const { bench } = setup();
    bench.prefill(LOCAL);
    bench.columnsText = "cell_type";
    expect(bench.options.columns).toEqual(["cell_type"]);
    bench.setReader("geneformer");
    expect(bench.form.table).toBe("expression");
    expect(bench.options.columns).toBeNull();
    bench.form.batches = null;
    bench.form.seconds = null;
    expect(bench.problem).toMatch(/batches.*seconds/);
    bench.applyPreset();
    const { columns, ...form } = BENCH_ANNOUNCEMENT_PRESET;
    expect(bench.form).toEqual(form);
    expect(bench.options).toEqual({ ...BENCH_ANNOUNCEMENT_PRESET, columns, uris: [LOCAL] });
    expect(bench.problem).toBeNull();
  });

  it("does not ask main to run options it can see are wrong", async () => {
    const { bench, calls } = setup();
    expect(await bench.run()).toBeNull();
    expect(bench.error).toMatchObject({ code: "BENCH_OPTIONS_INVALID", message: "Add at least one source" });
    expect(calls).not.toContain("start");
  });

  it("runs as a job: progress while it runs, then the run shown and the history read again", async () => {
    const t = setup();
    t.bench.prefill(LOCAL);
    t.bench.addSource(HF);
    const running = t.bench.run();
    await settle();
    expect(t.started).toEqual([{ ...BENCH_DEFAULTS, uris: [LOCAL, HF], columns: null }]);
    expect(t.bench.running).toBe(true);
    expect(await t.bench.run()).toBeNull();
    t.progress(700);
    expect(t.bench.progress?.progress).toMatchObject({ done: 700, total: 2000, unit: "batches", message: `Measuring ${HF}` });
    const done = run("run-9", [result(LOCAL), result(HF)]);
    t.end(done);
    expect(await running).toEqual(done);
    expect(t.bench.running).toBe(false);
    expect(t.bench.progress).toBeNull();
    expect(t.bench.current).toEqual(done);
    expect(t.bench.history.map((h) => h.runId)).toEqual(["run-9"]);
    expect(t.bench.error).toBeNull();
  });

  it("shows a refused start's named error", async () => {
    const t = setup();
    t.main.client.bench.start = async () => err("BENCH_OPTIONS_INVALID", "options.uris[0]: not a SLAF dataset");
    t.bench.prefill(LOCAL);
    expect(await t.bench.run()).toBeNull();
    expect(t.bench.error).toMatchObject({ code: "BENCH_OPTIONS_INVALID", message: "options.uris[0]: not a SLAF dataset" });
    expect(t.bench.running).toBe(false);
  });

  it("cancels: the run saved with the sources measured so far is shown, marked", async () => {
    const t = setup();
    t.save(run("run-old", [result(LOCAL)], { startedAt: Date.UTC(2026, 0, 1) }));
    t.bench.prefill(LOCAL);
    t.bench.addSource(HF);
    t.setPartial([result(LOCAL, {}, { mibPerSecond: 7 }), result(HF, {}, { mibPerSecond: 1, cancelled: true })]);
    const running = t.bench.run();
    await settle();
    await t.bench.cancel();
    const shown = await running;
    expect(t.calls).toContain("cancel");
    expect(shown?.cancelled).toBe(true);
    expect(t.bench.current?.runId).toBe(shown?.runId);
    expect(t.bench.current?.results.map((r) => r.median.mibPerSecond)).toEqual([7, 1]);
    expect(t.bench.notice).toBe("Cancelled: 1 of 2 sources measured, saved in the history");
    expect(t.bench.history.map((h) => [h.runId, h.cancelled])).toEqual([
      [shown?.runId, true],
      ["run-old", false],
    ]);
    expect(t.bench.error).toBeNull();
  });

  it("after a cancel, shows the run start named even when another page's cancelled run was saved meanwhile", async () => {
    const t = setup();
    t.bench.prefill(LOCAL);
    const running = t.bench.run();
    await settle();
    t.save(run("run-other", [result(HF)], { cancelled: true, startedAt: Date.UTC(2026, 10, 28) }));
    await t.bench.cancel();
    const shown = await running;
    expect(shown?.runId).toBe("run-1");
    expect(t.bench.current?.runId).toBe("run-1");
    expect(t.bench.history.map((h) => h.runId)).toEqual(["run-other", "run-1"]);
  });

  it("after a cancel before anything was saved, says so and keeps the shown run", async () => {
    const t = setup();
    t.save(run("run-old", [result(LOCAL)], { startedAt: Date.UTC(2026, 0, 1) }));
    await t.bench.open("run-old");
    t.bench.prefill(LOCAL);
    const running = t.bench.run();
    await settle();
    t.main.client.bench.history = async () => ok([]);
    await t.bench.cancel();
    expect(await running).toBeNull();
    expect(t.bench.current?.runId).toBe("run-old");
    expect(t.bench.notice).toBe("Cancelled: 0 of 1 source measured");
  });

  it("opens a saved run, names a missing one, and removes one only when the user says so", async () => {
    const no = setup({ answer: false });
    no.save(run("run-a", [result(LOCAL)]));
    await no.bench.refreshHistory();
    expect(await no.bench.open("run-a")).toBe(true);
    expect(await no.bench.remove("run-a")).toBe(false);
    expect(no.asked).toEqual(["Remove this run?"]);
    expect(no.calls.filter((c) => c.startsWith("remove"))).toEqual([]);
    expect(no.bench.current?.runId).toBe("run-a");
    expect(await no.bench.open("run-gone")).toBe(false);
    expect(no.bench.error?.code).toBe("BENCH_RUN_NOT_FOUND");

    const yes = setup({ answer: true });
    yes.save(run("run-a", [result(LOCAL)]));
    await yes.bench.open("run-a");
    await yes.bench.togglePick("run-a");
    expect(await yes.bench.remove("run-a")).toBe(true);
    expect(yes.bench.current).toBeNull();
    expect(yes.bench.picked).toEqual([]);
    expect(yes.bench.history).toEqual([]);
  });

  it("compares the two runs picked last, loading both, the older one as A", async () => {
    const t = setup();
    t.save(run("run-a", [result(LOCAL, {}, { mibPerSecond: 10 })], { startedAt: 1 }));
    t.save(run("run-b", [result(LOCAL, {}, { mibPerSecond: 30 })], { startedAt: 2 }));
    t.save(run("run-c", [result(LOCAL, {}, { mibPerSecond: 5 })], { startedAt: 3 }));
    await t.bench.togglePick("run-b");
    expect(t.bench.compared).toBeNull();
    await t.bench.togglePick("run-a");
    expect(t.bench.picked).toEqual(["run-b", "run-a"]);
    expect(t.bench.compared?.map((r) => r.runId)).toEqual(["run-a", "run-b"]);
    expect(compareRuns(...t.bench.compared!)[0].ratio).toBe(3);
    await t.bench.togglePick("run-c");
    expect(t.bench.picked).toEqual(["run-a", "run-c"]);
    expect(t.bench.compared?.map((r) => r.runId)).toEqual(["run-a", "run-c"]);
    expect(compareRuns(...t.bench.compared!)[0].ratio).toBe(0.5);
    await t.bench.togglePick("run-c");
    expect(t.bench.picked).toEqual(["run-a"]);
    expect(t.bench.compared).toBeNull();
  });

  it("exports the shown run to the path asked, replacing an existing file only when the user says so", async () => {
    const t = setup({ answer: false });
    const r = run("run-a", [result(LOCAL)]);
    t.save(r);
    expect(await t.bench.exportRun("csv")).toBe(false);
    await t.bench.open("run-a");
    const stem = runFileStem(r);
    expect(stem).toMatch(/^bench-pbmc3k-2026-11-2\d-\d{4}$/);
    expect(await t.bench.exportRun("csv")).toBe(true);
    expect(t.paths).toEqual([`Export the benchmark as CSV|${stem}.csv`]);
    expect(t.files.get(`/out/${stem}.csv`)).toBe("csv of run-a");
    expect(t.bench.notice).toBe(`Saved the run as CSV (12 B) to /out/${stem}.csv`);
    expect(await t.bench.exportRun("csv")).toBe(false);
    expect(t.asked).toEqual([`Replace ${stem}.csv?`]);
    expect(t.bench.notice).toBe(`Not exported: kept the existing /out/${stem}.csv`);
    expect(t.calls.filter((c) => c.startsWith("export")).map((c) => c.endsWith(":true"))).toEqual([false, false]);

    const y = setup({ answer: true });
    y.save(r);
    await y.bench.open("run-a");
    await y.bench.exportRun("json");
    expect(await y.bench.exportRun("json")).toBe(true);
    expect(y.calls.filter((c) => c.startsWith("export")).map((c) => c.endsWith(":true"))).toEqual([false, false, true]);

    const none = setup({ savePath: null });
    none.save(r);
    await none.bench.open("run-a");
    expect(await none.bench.exportRun("json")).toBe(false);
    expect(none.calls.filter((c) => c.startsWith("export"))).toEqual([]);
  });
});
