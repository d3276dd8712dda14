/** The prefetcher's source (cell_start_index, checked or computed) and the fragment boundaries, on real tables. */
import fs from "node:fs/promises";
import path from "node:path";
import * as lancedb from "@lancedb/lancedb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { arrow } from "../../../main/services/arrow";
import { SlafWriter } from "../../../main/services/convert/slaf-writer";
import { DatasetService } from "../../../main/services/datasets/service";
import { fragmentStarts } from "../../../main/services/loader/prefetch/fragments";
import { checkCellStartIndex, expressionSource } from "../../../main/services/loader/prefetch/source";
import { isAppFailure } from "../../../shared/result";
import { pbmcGenesTable, tempDir } from "../../fixtures/slaf-fixture";
import { readCellsDirectly, rowFragmentsDirectly, writeSpanningSlaf, type SpanningOptions } from "./prefetch-fixture";

let dir: string;
let datasets: DatasetService;

beforeAll(async () => {
  dir = await tempDir("slafwb-prefetch-source-");
  datasets = new DatasetService();
});
afterAll(async () => {
  await datasets.closeAll();
  await fs.rm(dir, { recursive: true, force: true });
});

async function dataset(name: string, o: Partial<SpanningOptions> = {}): Promise<string> {
  const root = path.join(dir, `${name}.slaf`);
  await writeSpanningSlaf(root, { nCells: 300, fragmentRows: 7_919, emptyEvery: 17, ...o });
  return root;
}

/** cell_start_index the obvious way: row counts per cell from a direct read. */
async function expectedStarts(root: string, nCells: number): Promise<number[]> {
  const cells = await readCellsDirectly(root);
  const starts = [0];
  for (let c = 0; c < nCells; c++) starts.push(starts[c] + (cells.get(c)?.genes.length ?? 0));
  return starts;
}

describe("expressionSource", () => {
  it("takes a valid cell_start_index from the cells table", async () => {
    const root = await dataset("right");
    const src = await expressionSource(await datasets.acquire(root));
    expect(src).toMatchObject({ tablePath: path.join(root, "expression.lance"), storageOptions: undefined, version: expect.any(Number) });
    expect(src.cellStartIndexNote).toBeUndefined();
    expect([...(src.cellStartIndex as Float64Array)]).toEqual(await expectedStarts(root, 300));
    expect(src.rows).toBe(src.cellStartIndex![300]);
  });

  it("computes it from the expression table when it is missing or restarts at 0 (SLAF's multi-file bug), and says why", async () => {
    for (const [kind, why] of [
      ["absent", "the cells table has no cell_start_index column"],
      ["restart", "cell_start_index decreases at cell 150"],
    ] as const) {
      const root = await dataset(kind, { cellStartIndex: kind });
      const src = await expressionSource(await datasets.acquire(root));
      expect(src.cellStartIndexNote).toMatch(/^cell_start_index computed from the expression table: /);
      expect(src.cellStartIndexNote).toContain(why);
      expect([...(src.cellStartIndex as Float64Array)]).toEqual(await expectedStarts(root, 300));
    }
  });

  it("refuses an expression table that is not sorted by cell, naming the row", async () => {
    const root = path.join(dir, "unsorted.slaf");
    const writer = await SlafWriter.create(root, { valueType: "uint16", nGenes: 8674, nCells: 2 });
    const { vectorFromArray, Int64, Table } = arrow;
    await writer.writeTable("cells", new Table({ cell_integer_id: vectorFromArray([0n, 1n], new Int64()) }) as never);
    await writer.writeTable("genes", pbmcGenesTable());
    await writer.appendExpression({ cell: Uint32Array.of(1, 1, 0), gene: Uint16Array.of(3, 5, 2), value: Uint16Array.of(1, 2, 3) });
    await writer.finish({ nCells: 2, nGenes: 8674 });
    const error = await expressionSource(await datasets.acquire(root)).then(
      () => null,
      (e: unknown) => e,
    );
    expect(isAppFailure(error, "LOADER_DATASET_UNSUPPORTED")).toBe(true);
    expect((error as Error).message).toContain("row 2 holds cell 0 after cell 1");
  });

  it("checks cells-table values: order, sign, start, monotonicity, range", () => {
    expect(checkCellStartIndex([0, 1, 2], [0, 4, 9], 10)).toBeNull();
    expect(checkCellStartIndex(null, [0, 4, 4, 10], 10)).toBeNull();
    expect(checkCellStartIndex([1, 0], [0, 4], 10)).toMatch(/not ordered by cell_integer_id/);
    expect(checkCellStartIndex(null, [3, 4], 10)).toMatch(/starts at 3/);
    expect(checkCellStartIndex(null, [0, -1], 10)).toMatch(/cell 1 is -1/);
    expect(checkCellStartIndex(null, [0, 6, 2], 10)).toMatch(/decreases at cell 2/);
    expect(checkCellStartIndex(null, [0, 11], 10)).toMatch(/past the 10 expression rows/);
    expect(checkCellStartIndex([0n, 1n], [0n, 4n], 10)).toBeNull();
  });
});

describe("fragmentStarts", () => {
  async function starts(root: string): Promise<{ found: number[]; truth: number[] }> {
    const db = await lancedb.connect(root);
    const table = await db.openTable("expression");
    try {
      const found = await fragmentStarts(table, await table.countRows());
      const rows = await rowFragmentsDirectly(root);
      const truth = [0];
      for (let i = 1; i < rows.length; i++) if (rows[i] !== rows[i - 1]) truth.push(i);
      truth.push(rows.length);
      return { found, truth };
    } finally {
      table.close();
      db.close();
    }
  }

  it("finds every fragment boundary, equal to a full scan of the row addresses", async () => {
    for (const fragmentRows of [7_919, 1_000, 150_000]) {
      const { found, truth } = await starts(await dataset(`fragments-${fragmentRows}`, { fragmentRows }));
      expect(found).toEqual(truth);
      expect(found.length - 1).toBe(Math.ceil(found[found.length - 1] / fragmentRows));
    }
  });

  it("gives one range for one fragment and for an empty table", async () => {
    const { found } = await starts(await dataset("one-fragment", { fragmentRows: 10_000_000 }));
    expect(found.length).toBe(2);
    const db = await lancedb.connect(dir);
    const empty = await db.createTable("empty", [{ a: 1 }]);
    await empty.delete("a = 1");
    expect(await fragmentStarts(empty, 0)).toEqual([0, 0]);
    empty.close();
    db.close();
  });
});
