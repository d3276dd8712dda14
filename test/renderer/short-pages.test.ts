/** Main caps each page by bytes as well as rows: the grid and the plot loader keep asking until they have every row. */
import { tableToIPC, tableFromArrays } from "apache-arrow";
import { describe, expect, it } from "vitest";
import type { Client, QuerySummary, RowPage } from "../../shared/ipc/contract";
import { plotDataLoader } from "../../renderer/stores/plot-data";
import { Rows } from "../../renderer/stores/rows";

const TOTAL = 23;
const summary: QuerySummary = {
  resultId: "r1",
  name: null,
  columns: [{ name: "i", type: "Int32", kind: "int", nullable: true }],
  rowCount: TOTAL,
  elapsedMs: 1,
  scans: [],
};

/** A main that answers at most 4 rows at a time, whatever was asked, as it does for wide rows. */
function cappedClient(asked: { offset: number; limit: number }[]): Client {
  const page = async (req: { offset: number; limit: number }) => {
    asked.push({ offset: req.offset, limit: req.limit });
    const n = Math.max(0, Math.min(4, req.limit, TOTAL - req.offset));
    const i = Int32Array.from({ length: n }, (_, k) => req.offset + k);
    const value: RowPage = { offset: req.offset, numRows: n, totalRows: TOTAL, arrow: tableToIPC(tableFromArrays({ i }), "stream") };
    return { ok: true as const, value };
  };
  return { query: { page }, datasets: { readRows: page } } as unknown as Client;
}

describe("short pages", () => {
  it("the grid gets every row of the range it asked for", async () => {
    const asked: { offset: number; limit: number }[] = [];
    const rows = await new Rows(cappedClient(asked)).resultPage(summary, 5, 10);
    expect(rows.map((r) => r[0])).toEqual(["5", "6", "7", "8", "9", "10", "11", "12", "13", "14"]);
    expect(asked.map((a) => a.offset)).toEqual([5, 9, 13]);
    const tail = await new Rows(cappedClient([])).resultPage(summary, 20, 10);
    expect(tail.map((r) => r[0])).toEqual(["20", "21", "22"]);
  });

  it("the plot gets every point, in order, with no holes", async () => {
    const data = await plotDataLoader(cappedClient([]))(summary, ["i"], { cancelled: false });
    expect(data.length).toBe(TOTAL);
    expect(data.columns.i).toEqual(Array.from({ length: TOTAL }, (_, k) => k));
  });
});
