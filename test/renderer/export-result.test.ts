import { describe, expect, it } from "vitest";
import type { QuerySummary } from "../../shared/ipc/contract";
import { Rows } from "../../renderer/stores/rows";
import { FakeMain } from "./fake-main";

const summary = (resultId: string): QuerySummary => ({ resultId, name: "per_type", columns: [], rowCount: 1, elapsedMs: 1, scans: [] });

describe("export never replaces a file unasked", () => {
  it("asks when the file exists; no keeps it, yes replaces it", async () => {
    const main = new FakeMain();
    const rows = new Rows(main.client);
    const asked: string[] = [];
    const answer = (yes: boolean) => async (path: string) => (asked.push(path), yes);

    const first = await rows.exportResult(summary("r1"), "csv", "/out/a.csv", answer(true));
    expect(first).toMatchObject({ ok: true });
    expect(asked).toEqual([]);

    expect(await rows.exportResult(summary("r2"), "csv", "/out/a.csv", answer(false))).toBeNull();
    expect(asked).toEqual(["/out/a.csv"]);
    expect(main.exports.get("/out/a.csv")).toBe("csv of r1");

    expect(await rows.exportResult(summary("r2"), "csv", "/out/a.csv", answer(true))).toMatchObject({ ok: true, value: { path: "/out/a.csv" } });
    expect(asked).toEqual(["/out/a.csv", "/out/a.csv"]);
    expect(main.exports.get("/out/a.csv")).toBe("csv of r2");
  });
});
