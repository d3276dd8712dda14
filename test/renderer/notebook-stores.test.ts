import { afterEach, describe, expect, it, vi } from "vitest";
import { parseNotebook, serializeNotebook } from "../../shared/notebook/format";
import { Jobs } from "../../renderer/stores/jobs.svelte";
import { createNotebook } from "../../renderer/stores/notebook";
import { FakeMain, fakeDataset, settle } from "./fake-main";

function setup(opts: { autosaveMs?: number } = {}) {
  const main = new FakeMain();
  const jobs = new Jobs(main.client);
  const asked: string[] = [];
  const nb = createNotebook(main.client, jobs, { askPath: async (_kind, title) => (asked.push(title), null), autosaveMs: opts.autosaveMs });
  return { main, jobs, nb, asked };
}

async function attachedStarter(opts: { autosaveMs?: number } = {}) {
  const s = setup(opts);
  const ds = s.main.openDataset(fakeDataset("ds-1", "pbmc3k"));
  await s.nb.file.attach(ds);
  return { ...s, ds };
}

const sqlIds = (nb: ReturnType<typeof setup>["nb"]) => nb.doc.nb.cells.filter((c) => c.kind === "sql").map((c) => c.id);

afterEach(() => {
  vi.useRealTimers();
});

describe("run state belongs to one document", () => {
  it("a new notebook after Run all has no outputs, and the old results are released in main", async () => {
    const { main, nb } = await attachedStarter();
    await nb.runs.runAll();
    const ran = sqlIds(nb);
    expect(ran.map((id) => nb.runs.outputs[id]?.state)).toEqual(["done", "done"]);
    expect(main.live()).toHaveLength(2);

    nb.file.newNotebook();
    expect(nb.runs.outputs).toEqual({});
    const added = nb.doc.add("sql", nb.doc.nb.cells[0].id);
    // Cell ids repeat across notebooks: the new notebook's cells reuse the starter's ids...
    expect(ran).toContain(nb.doc.nb.cells[0].id);
    expect(ran).toContain(added);
    // ...and still show nothing of it.
    expect(nb.runs.outputs[nb.doc.nb.cells[0].id]).toBeUndefined();
    expect(nb.runs.outputs[added]).toBeUndefined();
    expect(nb.runs.resultNamed("cell_types")).toBeNull();
    await settle();
    expect(main.live()).toEqual([]);
    expect(main.released.sort()).toEqual(["result-of-job-1", "result-of-job-2"]);
  });

  it.each([
    ["reload", async (s: Awaited<ReturnType<typeof attachedStarter>>) => s.nb.file.reload()],
    ["open", async (s: Awaited<ReturnType<typeof attachedStarter>>) => void (await s.nb.file.open(s.nb.file.path!))],
    ["attach to another dataset", async (s: Awaited<ReturnType<typeof attachedStarter>>) => s.nb.file.attach(s.main.openDataset(fakeDataset("ds-2", "other")))],
    ["detach", async (s: Awaited<ReturnType<typeof attachedStarter>>) => s.nb.file.detach()],
  ])("%s clears the outputs and releases their results", async (_name, swap) => {
    const s = await attachedStarter();
    await s.nb.runs.runAll();
    expect(s.main.live()).toHaveLength(2);
    await swap(s);
    await settle();
    expect(s.nb.runs.outputs).toEqual({});
    expect(s.main.live()).toEqual([]);
  });

  it("a query still running when the document is replaced is cancelled, and its result never shows", async () => {
    const { main, nb } = await attachedStarter();
    main.autoFinish = false;
    const [first] = sqlIds(nb);
    const running = nb.runs.run(first);
    await settle();
    expect(nb.runs.outputs[first]?.state).toBe("running");
    const [jobId] = main.runningJobs();

    nb.file.newNotebook();
    await running;
    await settle();
    expect(main.cancelled).toEqual([jobId]);
    expect(nb.doc.nb.cells[0].id).toBe(first);
    expect(nb.runs.outputs[first]).toBeUndefined();
  });

  it("a query that ends just as the document is replaced has its result released, not shown", async () => {
    const { main, nb } = await attachedStarter();
    main.autoFinish = false;
    const [first] = sqlIds(nb);
    const running = nb.runs.run(first);
    await settle();
    const [jobId] = main.runningJobs();
    main.finish(jobId); // the store has not seen the end yet
    nb.file.newNotebook();
    await running;
    await settle();
    expect(nb.runs.outputs[first]).toBeUndefined();
    expect(main.released).toEqual([`result-of-${jobId}`]);
    expect(main.live()).toEqual([]);
  });

  it("a deleted cell's running query does not reappear on a new cell that gets the same id", async () => {
    const { main, nb } = await attachedStarter();
    nb.file.newNotebook();
    main.autoFinish = false;
    const [id] = sqlIds(nb);
    const running = nb.runs.run(id);
    await settle();
    nb.doc.remove(id);
    const again = nb.doc.add("sql", null);
    expect(again).toBe(id);
    const [jobId] = main.cancelled;
    expect(jobId).toBeDefined();
    await running;
    expect(nb.runs.outputs[again]).toBeUndefined();
  });

  it("running a cell again releases its previous result", async () => {
    const { main, nb } = await attachedStarter();
    const [first] = sqlIds(nb);
    await nb.runs.run(first);
    await nb.runs.run(first);
    await settle();
    expect(main.released).toEqual(["result-of-job-1"]);
    expect(main.live()).toEqual(["result-of-job-2"]);
    expect(nb.runs.outputs[first]?.summary?.resultId).toBe("result-of-job-2");
  });
});

describe("jobs", () => {
  it("wait asks again while the long poll answers that the job still runs", async () => {
    const { main, jobs } = setup();
    main.runningPolls = 3;
    const started = await main.client.query.start({ datasetId: "ds-1", sql: "SELECT 1" });
    const final = await jobs.wait(started.ok ? started.value.jobId : "");
    expect(final.state).toBe("done");
  });
});

describe("file sync", () => {
  it("a save that finds the file changed on disk is a conflict; Keep mine writes over it", async () => {
    const { main, nb } = await attachedStarter();
    nb.file.autosave = false;
    const path = nb.file.path!;
    main.files.set(path, { text: "# changed elsewhere, no event\n", mtimeMs: 99_999 });
    nb.doc.setText(sqlIds(nb)[0], "SELECT 42");
    expect(await nb.file.save()).toBe(false);
    expect(nb.file.conflict).toBe(true);
    expect(nb.file.dirty).toBe(true);

    await nb.file.overwrite();
    expect(nb.file.conflict).toBe(false);
    expect(nb.file.dirty).toBe(false);
    expect(main.files.get(path)!.text).toContain("SELECT 42");
  });

  it("a file changed on disk reloads when clean, and asks when there are unsaved edits", async () => {
    const { main, nb } = await attachedStarter();
    nb.file.autosave = false;
    const path = nb.file.path!;
    await nb.runs.runAll();
    const outside = parseNotebook(main.files.get(path)!.text);
    outside.cells = outside.cells.slice(0, 1);
    main.changeOnDisk(path, serializeNotebook(outside));
    await settle();
    expect(nb.doc.nb.cells).toHaveLength(1);
    expect(nb.runs.outputs).toEqual({});
    expect(nb.file.conflict).toBe(false);

    nb.doc.setText(nb.doc.nb.cells[0].id, "SELECT 'mine'");
    main.changeOnDisk(path, main.files.get(path)!.text + "\nAgain.\n");
    await settle();
    expect(nb.file.conflict).toBe(true);
    expect(nb.doc.nb.cells[0]).toMatchObject({ text: "SELECT 'mine'" });

    await nb.file.reload();
    expect(nb.file.conflict).toBe(false);
    expect(nb.file.dirty).toBe(false);
    expect(serializeNotebook(nb.doc.nb)).toContain("Again.");
  });

  it("autosave writes a saved notebook after a pause in editing, once", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const { main, nb } = await attachedStarter({ autosaveMs: 1000 });
    const [id] = sqlIds(nb);
    nb.doc.setText(id, "SELECT 1");
    await vi.advanceTimersByTimeAsync(600);
    nb.doc.setText(id, "SELECT 12");
    await vi.advanceTimersByTimeAsync(600);
    expect(main.writes).toEqual([]);
    await vi.advanceTimersByTimeAsync(400);
    await settle();
    expect(main.writes).toEqual([nb.file.path]);
    expect(nb.file.dirty).toBe(false);
    expect(main.files.get(nb.file.path!)!.text).toContain("SELECT 12");
  });

  it("autosave never writes an untitled notebook, nor over a conflict", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const { main, nb } = await attachedStarter({ autosaveMs: 1000 });
    nb.doc.setText(sqlIds(nb)[0], "SELECT 'edited'");
    main.changeOnDisk(nb.file.path!, "# someone else\n");
    await vi.advanceTimersByTimeAsync(5000);
    await settle();
    expect(nb.file.conflict).toBe(true);
    expect(main.writes).toEqual([]);

    nb.file.newNotebook();
    nb.doc.add("markdown", null);
    await vi.advanceTimersByTimeAsync(5000);
    await settle();
    expect(main.writes).toEqual([]);
    expect(nb.file.dirty).toBe(true);
  });

  it("Save on an untitled notebook asks for a path; a new notebook stays when the panel attaches again", async () => {
    const { nb, ds, asked } = await attachedStarter();
    nb.file.newNotebook();
    expect(await nb.file.saveOrAsk()).toBe(false);
    expect(asked).toEqual(["Save notebook as"]);
    await nb.file.attach(ds);
    expect(nb.file.path).toBeNull();
    expect(nb.doc.nb.cells).toHaveLength(1);
  });

  it("attaching twice at once loads the starter once; a notebook chosen meanwhile is not replaced by it", async () => {
    const { main, nb } = setup();
    const ds = main.openDataset(fakeDataset("ds-1", "pbmc3k"));
    const starter = vi.spyOn(main.client.notebooks, "starter");
    const first = nb.file.attach(ds);
    const second = nb.file.attach(ds);
    await Promise.all([first, second]);
    expect(starter).toHaveBeenCalledTimes(1);

    // A menu's New right after the dataset opens, before the notebook panel (which attaches) appears.
    const other = main.openDataset(fakeDataset("ds-2", "other"));
    const attaching = nb.file.attach(other);
    nb.file.newNotebook();
    await attaching;
    await nb.file.attach(other);
    expect(nb.file.path).toBeNull();
    expect(nb.doc.nb.cells).toHaveLength(1);
    expect(nb.doc.nb.cells[0]).toMatchObject({ text: "SELECT * FROM cells LIMIT 100" });
  });

  it("watches exactly the file that is shown", async () => {
    const { main, nb } = await attachedStarter();
    const starter = nb.file.path!;
    expect([...main.watching]).toEqual([[starter, 1]]);
    nb.file.newNotebook();
    await settle();
    expect([...main.watching]).toEqual([]);
    await nb.file.save("/work/mine.slafnb.md");
    expect([...main.watching]).toEqual([["/work/mine.slafnb.md", 1]]);
    await nb.file.open(starter);
    expect([...main.watching]).toEqual([[starter, 1]]);
  });
});
