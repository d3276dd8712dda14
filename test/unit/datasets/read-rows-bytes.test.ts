import fs from "node:fs/promises";
import path from "node:path";
import * as lancedb from "@lancedb/lancedb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { arrow } from "../../../main/services/arrow";
import { DatasetService } from "../../../main/services/datasets/service";
import { tableRowBytes } from "../../../main/services/datasets/row-bytes";
import { MAX_PAGE_BYTES } from "../../../shared/ipc/contract";
import { tempDir, writePbmcSlaf } from "../../fixtures/slaf-fixture";

const WIDE_ROWS = 60;
const CELL_BYTES = 200 * 1024;

let dir: string;
let root: string;

/** Row i of the wide table: `i:` then filler, 200 KB in all. */
function wideText(i: number): string {
  const head = `${i}:`;
  return head + "x".repeat(CELL_BYTES - head.length);
}

beforeAll(async () => {
  dir = await tempDir();
  root = path.join(dir, "wide.slaf");
  await writePbmcSlaf(root);
  // An extra table of 60 rows of 200 KB strings (12 MB, over the 8 MB page cap), listed in config.json.
  const { Table, vectorFromArray, Utf8, Int32 } = arrow;
  const ids = Array.from({ length: WIDE_ROWS }, (_, i) => i);
  const wide = new Table({ id: vectorFromArray(ids, new Int32()), text: vectorFromArray(ids.map(wideText), new Utf8()) });
  const db = await lancedb.connect(root);
  (await db.createTable("wide", wide as never)).close();
  db.close();
  const configPath = path.join(root, "config.json");
  const config = JSON.parse(await fs.readFile(configPath, "utf8"));
  config.tables.wide = "wide.lance";
  await fs.writeFile(configPath, JSON.stringify(config));
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe("datasets.readRows caps a page by bytes", () => {
  it("returns fewer very wide rows, never more than the cap plus one row, and pages on from there", async () => {
    const service = new DatasetService();
    const opened = await service.open({ uri: root });
    if (!opened.ok) throw new Error(opened.error.message);
    const datasetId = opened.value.datasetId;
    const first = await service.readRows({ datasetId, table: "wide", offset: 0, limit: 5000 });
    if (!first.ok) throw new Error(first.error.message);
    const n = first.value.numRows;
    expect(first.value.totalRows).toBe(WIDE_ROWS);
    expect(n).toBeLessThan(WIDE_ROWS);
    expect((n - 1) * CELL_BYTES).toBeLessThan(MAX_PAGE_BYTES);
    expect((n + 1) * CELL_BYTES).toBeGreaterThan(MAX_PAGE_BYTES);
    expect(first.value.arrow.byteLength).toBeLessThan(MAX_PAGE_BYTES + 2 * CELL_BYTES);
    const rows = arrow.tableFromIPC(first.value.arrow);
    expect(rows.numRows).toBe(n);
    expect([0, n - 1].map((i) => (rows.getChild("text")!.get(i) as string).slice(0, 4))).toEqual([wideText(0).slice(0, 4), wideText(n - 1).slice(0, 4)]);

    const rest = await service.readRows({ datasetId, table: "wide", offset: n, limit: 5000, columns: ["id"] });
    if (!rest.ok) throw new Error(rest.error.message);
    expect(rest.value.numRows).toBe(WIDE_ROWS - n);
    expect(Array.from(arrow.tableFromIPC(rest.value.arrow).getChild("id")!.toArray())).toEqual(Array.from({ length: WIDE_ROWS - n }, (_, i) => n + i));
    await service.closeAll();
  });

  it("measures rows of strings, lists, fixed-size lists and numbers", () => {
    const { Table, vectorFromArray, Utf8, Float32, Field, List, FixedSizeList, Int64 } = arrow;
    const t = new Table({
      s: vectorFromArray(["a", "bbbb", null], new Utf8()),
      l: vectorFromArray([[1], [1, 2, 3], []], new List(new Field("item", new Float32(), true))),
      f: vectorFromArray(
        [
          [1, 2],
          [3, 4],
          [5, 6],
        ],
        new FixedSizeList(2, new Field("item", new Float32(), true)),
      ),
      n: vectorFromArray([1n, 2n, 3n], new Int64()),
    });
    const sizes = Array.from(tableRowBytes(t));
    // Each row: string bytes + 4 offset bytes; list items * 4 + 4; 2 floats; 8 bytes; plus validity bits where present.
    const fixed = 4 + 4 + 8 + 8;
    expect(sizes[1] - sizes[0]).toBeCloseTo(3 + 2 * 4, 5);
    expect(sizes[0]).toBeGreaterThanOrEqual(1 + 4 + fixed);
    expect(sizes[2]).toBeLessThan(sizes[0]);
  });
});
