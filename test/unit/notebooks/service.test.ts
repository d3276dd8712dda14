import { execFileSync } from "node:child_process";
import fs from "node:fs/promises";
import path from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DatasetService } from "../../../main/services/datasets/service";
import { NotebookService, starterFileName } from "../../../main/services/notebooks/service";
import type { OpenDataset } from "../../../main/services/datasets/open-dataset";
import type { DatasetSummary } from "../../../shared/ipc/contract";
import { isCanonical, parseNotebook } from "../../../shared/notebook/format";
import type { Cell } from "../../../shared/notebook/model";
import { tempDir, writePbmcSlaf } from "../../fixtures/slaf-fixture";
import { recorder, sleep, type Recorded } from "./helpers";
import { Oracle } from "../query/helpers";
import { unwrap } from "../../fixtures/result";

const DEBOUNCE = 60;

describe("NotebookService files", () => {
  let dir: string;
  let rec: ReturnType<typeof recorder>;
  let svc: NotebookService;

  beforeEach(async () => {
    dir = await tempDir("slafwb-nb-");
    rec = recorder();
    svc = new NotebookService(rec.emit, new DatasetService(), { userDataDir: dir, debounceMs: DEBOUNCE });
  });
  afterEach(async () => {
    svc.dispose();
    await fs.rm(dir, { recursive: true, force: true });
  });

  const leftovers = async () => (await fs.readdir(dir)).filter((f) => f.endsWith(".tmp"));

  it("reads a file with its mtime, and names the path when it is missing", async () => {
    const file = path.join(dir, "a.slafnb.md");
    await fs.writeFile(file, "# hi\n");
    const st = await fs.stat(file);
    expect(unwrap(await svc.read({ path: file }))).toEqual({ path: file, text: "# hi\n", mtimeMs: st.mtimeMs });

    const missing = path.join(dir, "nope.slafnb.md");
    const r = await svc.read({ path: missing });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.code).toBe("NOTEBOOK_NOT_FOUND");
      expect(r.error.message).toContain(missing);
      expect(r.error.path).toBe(missing);
    }
    const rel = await svc.read({ path: "relative.slafnb.md" });
    expect(!rel.ok && rel.error.code).toBe("INVALID_ARGUMENT");
    const folder = await svc.read({ path: dir });
    expect(!folder.ok && folder.error.code).toBe("NOTEBOOK_NOT_FOUND");
  });

  it("writes a new file atomically and returns the mtime on disk", async () => {
    const file = path.join(dir, "sub", "new.slafnb.md");
    const { mtimeMs } = unwrap(await svc.write({ path: file, text: "one\n", expectedMtimeMs: null }));
    expect(await fs.readFile(file, "utf8")).toBe("one\n");
    expect((await fs.stat(file)).mtimeMs).toBe(mtimeMs);
    expect((await fs.readdir(path.dirname(file))).filter((f) => f !== "new.slafnb.md")).toEqual([]);

    const before = await fs.stat(file);
    const second = unwrap(await svc.write({ path: file, text: "two\n", expectedMtimeMs: mtimeMs }));
    const after = await fs.stat(file);
    // Replaced by rename: a new inode, never the old one rewritten in place.
    expect(after.ino).not.toBe(before.ino);
    expect(after.mtimeMs).toBe(second.mtimeMs);
    expect(unwrap(await svc.read({ path: file })).text).toBe("two\n");
  });

  it("keeps the file mode when replacing", async () => {
    const file = path.join(dir, "mode.slafnb.md");
    await fs.writeFile(file, "x\n", { mode: 0o600 });
    await fs.chmod(file, 0o600);
    unwrap(await svc.write({ path: file, text: "y\n", expectedMtimeMs: null, overwrite: true }));
    expect((await fs.stat(file)).mode & 0o777).toBe(0o600);
  });

  it("never shows a reader a partial file", async () => {
    const file = path.join(dir, "big.slafnb.md");
    const a = "A".repeat(2_000_000) + "\n";
    const b = "B".repeat(3_000_000) + "\n";
    let mtime = unwrap(await svc.write({ path: file, text: a, expectedMtimeMs: null })).mtimeMs;
    let stop = false;
    const seen = new Set<string>();
    const reader = (async () => {
      while (!stop) {
        const text = await fs.readFile(file, "utf8");
        seen.add(text === a ? "a" : text === b ? "b" : `partial(${text.length})`);
      }
    })();
    for (let k = 0; k < 10; k++) mtime = unwrap(await svc.write({ path: file, text: k % 2 ? a : b, expectedMtimeMs: mtime })).mtimeMs;
    stop = true;
    await reader;
    expect([...seen].filter((s) => s.startsWith("partial"))).toEqual([]);
    expect(await leftovers()).toEqual([]);
  });

  it("detects conflicts from the mtime, unless overwrite", async () => {
    const file = path.join(dir, "c.slafnb.md");
    const first = unwrap(await svc.write({ path: file, text: "mine\n", expectedMtimeMs: null }));
    // Someone else edits the file.
    await sleep(20);
    await fs.writeFile(file, "theirs\n");
    const stale = await svc.write({ path: file, text: "mine again\n", expectedMtimeMs: first.mtimeMs });
    expect(stale.ok).toBe(false);
    if (!stale.ok) {
      expect(stale.error.code).toBe("NOTEBOOK_CONFLICT");
      expect(stale.error.message).toContain(file);
    }
    expect(await fs.readFile(file, "utf8")).toBe("theirs\n");
    expect(await leftovers()).toEqual([]);

    // A new file over an existing one is a conflict too.
    const exists = await svc.write({ path: file, text: "new\n", expectedMtimeMs: null });
    expect(!exists.ok && exists.error.code).toBe("NOTEBOOK_CONFLICT");

    // Deleted on disk since opened.
    const gone = path.join(dir, "gone.slafnb.md");
    const g = unwrap(await svc.write({ path: gone, text: "x\n", expectedMtimeMs: null }));
    await fs.rm(gone);
    const deleted = await svc.write({ path: gone, text: "y\n", expectedMtimeMs: g.mtimeMs });
    expect(!deleted.ok && deleted.error.code).toBe("NOTEBOOK_CONFLICT");
    expect(!deleted.ok && deleted.error.message).toContain("deleted");

    const forced = unwrap(await svc.write({ path: file, text: "mine wins\n", expectedMtimeMs: first.mtimeMs, overwrite: true }));
    expect(await fs.readFile(file, "utf8")).toBe("mine wins\n");
    // The mtime we got back is the one to use next.
    unwrap(await svc.write({ path: file, text: "again\n", expectedMtimeMs: forced.mtimeMs }));
  });

  it("lets only one of two saves from the same mtime win", async () => {
    const file = path.join(dir, "race.slafnb.md");
    const { mtimeMs } = unwrap(await svc.write({ path: file, text: "base\n", expectedMtimeMs: null }));
    await sleep(5);
    const results = await Promise.all([
      svc.write({ path: file, text: "left\n", expectedMtimeMs: mtimeMs }),
      svc.write({ path: file, text: "right\n", expectedMtimeMs: mtimeMs }),
    ]);
    expect(results.map((r) => r.ok).sort()).toEqual([false, true]);
    expect(["left\n", "right\n"]).toContain(await fs.readFile(file, "utf8"));
  });

  describe("watch", () => {
    const changes = () => rec.events.filter((e) => e.name === "notebook.changed");
    const isChangeOf = (file: string) => (e: Recorded) => e.name === "notebook.changed" && (e.payload as { path: string }).path === file;

    it("reports another process's change, debounced, with the new mtime", async () => {
      const file = path.join(dir, "w.slafnb.md");
      const { mtimeMs } = unwrap(await svc.write({ path: file, text: "v1\n", expectedMtimeMs: null }));
      unwrap(await svc.watch({ path: file }));
      await sleep(20);
      // Another process writes in several steps (truncate, then two appends).
      execFileSync(process.execPath, [
        "-e",
        `const fs=require("fs");fs.writeFileSync(${JSON.stringify(file)},"");fs.appendFileSync(${JSON.stringify(file)},"v2 ");fs.appendFileSync(${JSON.stringify(file)},"from outside\\n")`,
      ]);
      const e = await rec.waitFor(isChangeOf(file));
      const st = await fs.stat(file);
      expect(e.payload).toEqual({ path: file, mtimeMs: st.mtimeMs });
      expect(st.mtimeMs).not.toBe(mtimeMs);
      await sleep(DEBOUNCE * 3);
      expect(changes()).toHaveLength(1);
      // And the new mtime is good for the next save.
      unwrap(await svc.write({ path: file, text: "v3\n", expectedMtimeMs: st.mtimeMs }));
    });

    it("does not report our own writes", async () => {
      const file = path.join(dir, "own.slafnb.md");
      unwrap(await svc.watch({ path: file }));
      let m = unwrap(await svc.write({ path: file, text: "1\n", expectedMtimeMs: null })).mtimeMs;
      for (let k = 2; k < 6; k++) m = unwrap(await svc.write({ path: file, text: `${k}\n`, expectedMtimeMs: m })).mtimeMs;
      await sleep(DEBOUNCE * 5);
      expect(changes()).toEqual([]);

      // But a change by someone else right after our write is reported.
      await fs.writeFile(file, "outside\n");
      await rec.waitFor(isChangeOf(file));
    });

    it("reports deletion and creation, ignores other files in the folder, and stops on unwatch", async () => {
      const file = path.join(dir, "d.slafnb.md");
      await fs.writeFile(file, "x\n");
      unwrap(await svc.watch({ path: file }));
      unwrap(await svc.watch({ path: file })); // two watchers of the same file: refcounted
      await fs.writeFile(path.join(dir, "other.slafnb.md"), "noise\n");
      await sleep(DEBOUNCE * 4);
      expect(changes()).toEqual([]);

      await fs.rm(file);
      const del = await rec.waitFor(isChangeOf(file));
      expect(del.payload).toEqual({ path: file, mtimeMs: null });

      await fs.writeFile(file, "back\n");
      await rec.waitFor((e) => isChangeOf(file)(e) && (e.payload as { mtimeMs: number | null }).mtimeMs !== null);
      const count = changes().length;

      unwrap(await svc.unwatch({ path: file }));
      await fs.writeFile(file, "still watched once\n");
      await rec.waitFor((e) => isChangeOf(file)(e) && changes().length > count);

      unwrap(await svc.unwatch({ path: file }));
      const after = changes().length;
      await fs.writeFile(file, "unwatched\n");
      await sleep(DEBOUNCE * 4);
      expect(changes()).toHaveLength(after);
    });

    it("refuses to watch in a folder that does not exist", async () => {
      const r = await svc.watch({ path: path.join(dir, "no", "such", "x.slafnb.md") });
      expect(!r.ok && r.error.code).toBe("NOTEBOOK_NOT_FOUND");
    });
  });
});

describe("NotebookService starter", () => {
  let dir: string;
  let datasets: DatasetService;
  let ds: OpenDataset;
  /** DuckDB over full copies of the dataset's tables: proves the starter's SQL binds and runs. */
  let duck: Oracle;

  beforeAll(async () => {
    dir = await tempDir("slafwb-starter-");
    await writePbmcSlaf(path.join(dir, "pbmc3k.slaf"));
    datasets = new DatasetService();
    ds = await datasets.acquire(path.join(dir, "pbmc3k.slaf"));
    duck = await Oracle.load(path.join(dir, "pbmc3k.slaf"));
  });
  afterAll(async () => {
    duck?.close();
    await datasets?.closeAll();
    await fs.rm(dir, { recursive: true, force: true });
  });

  function columnsOf(summary: DatasetSummary): Set<string> {
    return new Set(summary.tables.flatMap((t) => t.columns.map((c) => c.name)));
  }

  /** Runs every SQL cell; returns rows per cell name. Also checks each plot reads columns its source returns. */
  async function runAll(cells: Cell[]): Promise<Map<string, Record<string, unknown>[]>> {
    const results = new Map<string, Record<string, unknown>[]>();
    for (const cell of cells) {
      if (cell.kind === "sql") {
        results.set(cell.name ?? cell.id, await duck.rowObjects(cell.text));
      } else if (cell.kind === "plot") {
        expect(cell.source && results.has(cell.source), `plot ${cell.id} source ${cell.source}`).toBeTruthy();
        const rows = results.get(cell.source!)!;
        expect(rows.length).toBeGreaterThan(0);
        for (const key of ["x", "y", "fill", "stroke", "fx", "fy", "r"] as const) {
          const col = cell.spec[key];
          if (col) expect(Object.keys(rows[0]), `plot ${cell.id}.${key}`).toContain(col);
        }
      }
    }
    return results;
  }

  it("writes the PBMC tour once and returns it", async () => {
    const rec = recorder();
    const svc = new NotebookService(rec.emit, datasets, { userDataDir: dir });
    const file = unwrap(await svc.starter({ datasetId: ds.summary.datasetId }));
    expect(file.path).toBe(path.join(dir, "notebooks", "pbmc3k.slafnb.md"));
    expect(await fs.readFile(file.path, "utf8")).toBe(file.text);
    expect((await fs.stat(file.path)).mtimeMs).toBe(file.mtimeMs);

    const nb = parseNotebook(file.text);
    expect(isCanonical(file.text)).toBe(true);
    expect(file.text).not.toContain("<!-- cell -->");
    expect(nb.frontmatter.dataset).toBe(ds.summary.uri);
    expect(nb.frontmatter.title).toBe("pbmc3k");
    expect(nb.cells[0].kind).toBe("markdown");
    const sql = nb.cells.filter((c) => c.kind === "sql");
    expect(sql.map((c) => c.name)).toEqual(["cell_types", "top_genes", "umap"]);
    expect(sql.find((c) => c.name === "top_genes")!.text).toMatch(/RANK\(\) OVER \(PARTITION BY/);
    expect(sql.find((c) => c.name === "umap")!.text).toContain("X_umap[1] AS umap_1, X_umap[2] AS umap_2");
    const plots = nb.cells.filter((c) => c.kind === "plot");
    expect(plots.map((p) => [p.source, p.spec.mark])).toEqual([
      ["cell_types", "bar"],
      ["umap", "dot"],
    ]);
    expect(plots[1].spec).toMatchObject({ x: "umap_1", y: "umap_2", fill: "cell_type", tip: true });

    // Every SQL cell runs on the real data, and the results make sense.
    const results = await runAll(nb.cells);
    const types = results.get("cell_types")!;
    expect(types.reduce((s, r) => s + Number(r.n_cells), 0)).toBe(ds.summary.tables.find((t) => t.name === "cells")!.rows);
    const top = results.get("top_genes")!;
    const perType = new Map<string, number>();
    for (const r of top) perType.set(String(r.cell_type), (perType.get(String(r.cell_type)) ?? 0) + 1);
    expect([...perType.keys()].sort()).toEqual(types.map((r) => String(r.cell_type)).sort());
    for (const n of perType.values()) expect(n).toBeGreaterThanOrEqual(5); // ties share a rank
    expect(top.every((r) => Number(r.gene_rank) <= 5)).toBe(true);
    const umap = results.get("umap")!;
    expect(umap).toHaveLength(types.reduce((s, r) => s + Number(r.n_cells), 0));
    expect(umap.every((r) => Number.isFinite(r.umap_1) && Number.isFinite(r.umap_2))).toBe(true);

    // A second call returns the same file untouched (even after the user edited it).
    await fs.writeFile(file.path, file.text + "\nMy notes.\n");
    const again = unwrap(await svc.starter({ datasetId: ds.summary.datasetId }));
    expect(again.path).toBe(file.path);
    expect(again.text).toBe(file.text + "\nMy notes.\n");
    svc.dispose();
  });

  it("writes a generic starter when the dataset lacks the PBMC columns", async () => {
    const summary: DatasetSummary = {
      ...ds.summary,
      name: "plain",
      tables: ds.summary.tables.map((t) =>
        t.name === "cells" ? { ...t, columns: t.columns.filter((c) => c.name !== "cell_type" && c.name !== "X_umap") } : t,
      ),
    };
    const fake = { get: () => ({ ...ds, summary }) } as unknown as DatasetService;
    const svc = new NotebookService(recorder().emit, fake, { userDataDir: dir });
    const file = unwrap(await svc.starter({ datasetId: "any" }));
    expect(path.basename(file.path)).toBe("plain.slafnb.md");
    const nb = parseNotebook(file.text);
    const sql = nb.cells.filter((c) => c.kind === "sql");
    expect(sql.map((c) => c.name)).toEqual(["table_rows", "first_cells", "genes_per_cell"]);
    for (const c of sql) expect(c.text).not.toMatch(/cell_type|X_umap/);
    const plots = nb.cells.filter((c) => c.kind === "plot");
    expect(plots.map((p) => [p.source, p.spec.mark, p.spec.x])).toEqual([["genes_per_cell", "histogram", "n_genes"]]);
    const results = await runAll(nb.cells);
    expect(results.get("table_rows")!.map((r) => [r.table_name, Number(r.n_rows)])).toEqual(
      summary.tables.map((t) => [t.name, t.rows]).sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
    );
    expect(results.get("first_cells")).toHaveLength(20);
    expect(columnsOf(summary).has("cell_integer_id")).toBe(true);
    svc.dispose();
  });

  it("does not hand one dataset's starter to another dataset of the same name", async () => {
    const other: DatasetSummary = { ...ds.summary, uri: "/elsewhere/pbmc3k.slaf" };
    const fake = { get: () => ({ ...ds, summary: other }) } as unknown as DatasetService;
    const svc = new NotebookService(recorder().emit, fake, { userDataDir: dir });
    const file = unwrap(await svc.starter({ datasetId: "x" }));
    expect(path.basename(file.path)).toBe("pbmc3k-2.slafnb.md");
    expect(parseNotebook(file.text).frontmatter.dataset).toBe("/elsewhere/pbmc3k.slaf");
    svc.dispose();
  });

  it("fails clearly for an unknown dataset id or without a user data folder", async () => {
    const svc = new NotebookService(recorder().emit, datasets, { userDataDir: dir });
    const r = await svc.starter({ datasetId: "ds999" });
    expect(!r.ok && r.error.code).toBe("DATASET_NOT_OPEN");
    const bare = new NotebookService(recorder().emit, datasets);
    const r2 = await bare.starter({ datasetId: ds.summary.datasetId });
    expect(!r2.ok && r2.error.code).toBe("UNSUPPORTED_IN_MODE");
  });

  it("names starter files safely", () => {
    expect(starterFileName("pbmc3k")).toBe("pbmc3k.slafnb.md");
    expect(starterFileName('a/b:c*?"<>|')).toBe("a_b_c______.slafnb.md");
    expect(starterFileName("..")).toBe("notebook.slafnb.md");
    expect(starterFileName("x", 3)).toBe("x-3.slafnb.md");
  });
});
