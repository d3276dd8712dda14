/**
 * The moments pass in worker threads (the built dist/main/markers-pass-worker.mjs) against the same pass on this
 * thread: the same doubles, rows and totals (read by row offset, or by filter when the table is not stored by
 * cell); cancel ends the threads after their read; a bad row is named.
 */
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isAppFailure } from "../../../shared/result";
import { openLanceTable } from "../../../main/services/datasets/lance-table";
import { tablePath } from "../../../main/services/datasets/uri";
import { momentsPass, type PassWorkers } from "../../../main/services/markers/moments-pass";
import { passWorkerPath } from "../../../main/services/markers/pass-workers";
import { loadPbmc } from "../../fixtures/pbmc";
import { tempDir } from "../../fixtures/slaf-fixture";
import { writeFloatSlaf } from "./helpers";
import { useExploreEnvironment } from "../explore/helpers";

const env = useExploreEnvironment({ beforeAll, afterAll });

function expression() {
  const ds = env.services.datasets.get(env.datasetId);
  const file = passWorkerPath();
  if (!file) throw new Error("dist/main/markers-pass-worker.mjs is not built");
  const info = ds.summary.tables.find((t) => t.name === "expression")!;
  return {
    ds,
    table: ds.tables.get("expression")!,
    workers: async (): Promise<PassWorkers> => ({ file, tablePath: tablePath(ds.root, info.path)!, version: await ds.tables.get("expression")!.version() }),
  };
}

describe("markers pass workers", () => {
  const pbmc = loadPbmc();
  const classOf = Int32Array.from({ length: pbmc.nCells }, (_, c) => (c % 3 === 0 ? -1 : c % 5));

  it("give the same moments, whole, totals and rows as the pass on this thread", async () => {
    const { table, workers } = expression();
    const run = async (w: PassWorkers | null) => {
      const totals = new Float64Array(pbmc.nCells);
      const m = await momentsPass(table, classOf, 5, pbmc.nGenes, { divisors: null, fromRows: true, totals, whole: true }, {}, w);
      return { m, totals };
    };
    const inline = await run(null);
    const threaded = await run(await workers());
    expect(threaded.m.rows).toBe(pbmc.nnz);
    expect(threaded.m).toEqual(inline.m);
    expect(threaded.totals).toEqual(inline.totals);
    expect(threaded.totals[7]).toBe(pbmc.cells[7].values.reduce((a, b) => a + b, 0));
    expect(threaded.m.whole!.expressing.reduce((a, b) => a + b, 0)).toBe(pbmc.nnz);
  });

  it("a pushed-down read: only the cells asked for", async () => {
    const { table, workers } = expression();
    const rows = await momentsPass(
      table,
      classOf,
      5,
      pbmc.nGenes,
      { divisors: null },
      { where: "cell_integer_id >= 70 AND cell_integer_id < 90" },
      await workers(),
    );
    expect(rows.rows).toBe(pbmc.cells.slice(70, 90).reduce((n, c) => n + c.genes.length, 0));
  });

  it("cancelled: MARKERS_CANCELLED once the threads have finished their read", async () => {
    const { table, workers } = expression();
    for (const when of ["before", "at the first rows"]) {
      const abort = new AbortController();
      if (when === "before") abort.abort();
      const opts = { signal: abort.signal, onRows: () => abort.abort() };
      const e = await momentsPass(table, classOf, 5, pbmc.nGenes, { divisors: null }, opts, await workers()).catch((x: unknown) => x);
      expect(isAppFailure(e) && e.appError.code, when).toBe("MARKERS_CANCELLED");
    }
    // The dataset is still readable: nothing was torn down mid-read.
    expect((await momentsPass(table, classOf, 5, pbmc.nGenes, { divisors: null }, {}, await workers())).rows).toBe(pbmc.nnz);
  });

  it("a table that is not there: a named error, not a crash", async () => {
    const { table, workers } = expression();
    const w = { ...(await workers()), tablePath: "/nonexistent/expression.lance" };
    const e = await momentsPass(table, classOf, 5, pbmc.nGenes, { divisors: null }, {}, w).catch((x: unknown) => x);
    expect(isAppFailure(e)).toBe(true);
  });

  it("a table not stored by cell: the reads by offset find out, it is read again by filter, the same moments", async () => {
    // Every cell's even entries, then the odd ones: a second part that starts at row 0 sees the ids go down.
    const root = path.join(await tempDir("slafwb-markers-apart-"), "apart.slaf");
    await writeFloatSlaf(root, "counts", { cellsApart: true });
    const tablePath = path.join(root, "expression.lance");
    const { db, table } = await openLanceTable(tablePath);
    try {
      const file = passWorkerPath()!;
      const run = (w: PassWorkers | null) => momentsPass(table, classOf.subarray(0, 160), 5, pbmc.nGenes, { divisors: null, whole: true }, {}, w);
      const inline = await run(null);
      const threaded = await run({ file, tablePath, version: await table.version() });
      expect(threaded.rows).toBe(inline.rows);
      expect(threaded).toEqual(inline);
      expect(threaded.whole!.expressing.reduce((a, b) => a + b, 0)).toBe(inline.rows);
    } finally {
      table.close();
      db.close();
    }
  });
});
