/** Cell sets on the PBMC fixture: every way to define one, algebra, SQL's cell_sets table, CSV, page sessions. */
import fs from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CellSetInfo, CellSetMembers, ExplorePointsPage, JobEvent, QuerySummary } from "../../../shared/ipc/contract";
import { cellIdsFromBytes, cellIdsToBytes } from "../../../shared/notebook/cell-sets";
import { polygonSql } from "../../../main/services/explore/polygon";
import { decodeRows } from "../../../main/commands/query";
import { failure } from "../../fixtures/result";
import { ipcColumns, useExploreEnvironment } from "./helpers";

const env = useExploreEnvironment({ beforeAll, afterAll });

const define = (name: string, from: unknown, extra: Record<string, unknown> = {}, session?: string) =>
  env.ok<CellSetInfo>("explore", "defineSet", { datasetId: env.datasetId, name, from, ...extra }, session);
const members = async (name: string) =>
  Array.from(cellIdsFromBytes((await env.ok<CellSetMembers>("explore", "getSet", { datasetId: env.datasetId, name })).ids));

/** Runs SQL through the app's engine (as a notebook cell does) and returns its rows. */
async function sql(text: string): Promise<unknown[][]> {
  const { jobId } = await env.ok<{ jobId: string }>("query", "start", { datasetId: env.datasetId, sql: text, confirmed: true });
  const event = await env.waitJob(jobId);
  if (event.state !== "done") throw new Error(`${event.error?.code}: ${event.error?.message}`);
  const summary = event.result as QuerySummary;
  const page = await env.ok<{ arrow: Uint8Array }>("query", "page", { resultId: summary.resultId, offset: 0, limit: 5000 });
  return decodeRows(page.arrow);
}

describe("cell sets", () => {
  it("defines sets from ids, a category and a SQL result, and lists them with sizes", async () => {
    const a = await define("first ten", { kind: "ids", ids: cellIdsToBytes([9, 3, 0, 1, 2, 4, 5, 6, 7, 8, 3]) });
    expect(a).toMatchObject({ name: "first ten", size: 10 });
    expect(await members("first ten")).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);

    await define("NK and B", { kind: "category", column: "cell_type", values: ["NK", "B"] });
    const truth = ((await env.oracle.rows("SELECT cell_integer_id FROM cells WHERE cell_type IN ('NK', 'B') ORDER BY 1")) as number[][]).map((r) => r[0]);
    expect(await members("NK and B")).toEqual(truth);

    const { jobId } = await env.ok<{ jobId: string }>("query", "start", {
      datasetId: env.datasetId,
      sql: "SELECT cell_integer_id FROM cells WHERE nCount_RNA > 3000",
      confirmed: true,
    });
    const summary = (await env.waitJob(jobId)).result as QuerySummary;
    await define("big", { kind: "result", resultId: summary.resultId });
    const big = ((await env.oracle.rows("SELECT cell_integer_id FROM cells WHERE nCount_RNA > 3000 ORDER BY 1")) as number[][]).map((r) => r[0]);
    expect(big.length).toBeGreaterThan(0);
    expect(await members("big")).toEqual(big);

    const list = await env.ok<CellSetInfo[]>("explore", "listSets", { datasetId: env.datasetId });
    expect(list.map((s) => [s.name, s.size])).toEqual([
      ["first ten", 10],
      ["NK and B", 40],
      ["big", big.length],
    ]);
  });

  it("combines sets: union, intersection, difference", async () => {
    await define("u", { kind: "algebra", op: "union", sets: ["first ten", "NK and B"] });
    await define("i", { kind: "algebra", op: "intersection", sets: ["big", "NK and B"] });
    await define("d", { kind: "algebra", op: "difference", sets: ["NK and B", "big", "first ten"] });
    const nkb = new Set(await members("NK and B"));
    const big = new Set(await members("big"));
    const ten = new Set(await members("first ten"));
    const sorted = (s: Iterable<number>) => [...s].sort((x, y) => x - y);
    expect(await members("u")).toEqual(sorted(new Set([...ten, ...nkb])));
    expect(await members("i")).toEqual(sorted([...nkb].filter((x) => big.has(x))));
    expect(await members("d")).toEqual(sorted([...nkb].filter((x) => !big.has(x) && !ten.has(x))));
  });

  it("selects exactly the cells a DuckDB point-in-polygon query finds", async () => {
    const page = await env.ok<ExplorePointsPage>("explore", "points", { datasetId: env.datasetId, column: "X_umap", dims: [0, 1], offset: 0, limit: 160 });
    const { x, y } = page.bounds;
    const cx = (x[0] + x[1]) / 2;
    const cy = (y[0] + y[1]) / 2;
    const w = (x[1] - x[0]) / 2;
    const h = (y[1] - y[0]) / 2;
    // A concave lasso (a star) around the middle of the embedding.
    const polygon: number[] = [];
    for (let k = 0; k < 10; k++) {
      const r = k % 2 === 0 ? 0.9 : 0.35;
      const t = (k / 10) * 2 * Math.PI;
      polygon.push(cx + r * w * Math.cos(t), cy + r * h * Math.sin(t));
    }
    const info = await define("lasso", { kind: "polygon", column: "X_umap", dims: [0, 1], polygon });
    const truth = (
      (await env.oracle.rows(`SELECT cell_integer_id FROM cells WHERE ${polygonSql("X_umap[1]", "X_umap[2]", polygon)} ORDER BY 1`)) as number[][]
    ).map((r) => r[0]);
    expect(truth.length).toBeGreaterThan(5);
    expect(truth.length).toBeLessThan(160);
    expect(info.size).toBe(truth.length);
    expect(await members("lasso")).toEqual(truth);
    // And the same count through the app's SQL engine, over cell_sets.
    expect(await sql("SELECT count(*) FROM cell_sets WHERE set_name = 'lasso'")).toEqual([[truth.length]]);
    // Points from the points page agree with the ones the polygon was tested on.
    expect(ipcColumns(page.arrow).x).toHaveLength(160);
  });

  it("is a table SQL can join: cell_sets(set_name, cell_integer_id)", async () => {
    const rows = await sql(
      "SELECT s.set_name, c.cell_type, count(*) AS n FROM cell_sets s JOIN cells c USING (cell_integer_id) WHERE s.set_name = 'NK and B' GROUP BY 1, 2 ORDER BY 2",
    );
    expect(rows).toEqual([
      ["NK and B", "B", 20],
      ["NK and B", "NK", 20],
    ]);
    const perSet = await sql("SELECT set_name, count(*) FROM cell_sets GROUP BY 1 ORDER BY 1");
    const list = await env.ok<CellSetInfo[]>("explore", "listSets", { datasetId: env.datasetId });
    expect(perSet).toEqual(list.map((s) => [s.name, s.size]).sort((a, b) => (String(a[0]) < String(b[0]) ? -1 : 1)));
  });

  it("renames, replaces and deletes, and SQL follows", async () => {
    await env.ok("explore", "renameSet", { datasetId: env.datasetId, name: "u", newName: "union's set" });
    expect(failure(await env.call("explore", "getSet", { datasetId: env.datasetId, name: "u" })).code).toBe("EXPLORE_SET_NOT_FOUND");
    expect(await sql("SELECT count(*) FROM cell_sets WHERE set_name = 'union''s set'")).toEqual([[(await members("union's set")).length]]);
    expect(failure(await env.call("explore", "defineSet", { datasetId: env.datasetId, name: "i", from: { kind: "ids", ids: cellIdsToBytes([1]) } })).code).toBe(
      "EXPLORE_SET_EXISTS",
    );
    const replaced = await define("i", { kind: "ids", ids: cellIdsToBytes([1, 2]) }, { replace: true });
    expect(replaced.size).toBe(2);
    expect(await sql("SELECT count(*) FROM cell_sets WHERE set_name = 'i'")).toEqual([[2]]);
    await env.ok("explore", "deleteSet", { datasetId: env.datasetId, name: "i" });
    expect(await sql("SELECT count(*) FROM cell_sets WHERE set_name = 'i'")).toEqual([[0]]);
    expect(failure(await env.call("explore", "renameSet", { datasetId: env.datasetId, name: "d", newName: "big" })).code).toBe("EXPLORE_SET_EXISTS");
  });

  it("exports a set as CSV of cell_id (asking before replacing) and imports it back", async () => {
    const file = path.join(env.dir, "nkb.csv");
    const out = await env.ok<{ bytes: number; cells: number }>("explore", "exportSetCsv", { datasetId: env.datasetId, name: "NK and B", path: file });
    expect(out.cells).toBe(40);
    const text = await fs.readFile(file, "utf8");
    const truth = ((await env.oracle.rows("SELECT cell_id FROM cells WHERE cell_type IN ('NK', 'B') ORDER BY cell_integer_id")) as string[][]).map((r) => r[0]);
    expect(text).toBe(`cell_id\n${truth.join("\n")}\n`);
    expect(failure(await env.call("explore", "exportSetCsv", { datasetId: env.datasetId, name: "NK and B", path: file })).code).toBe("EXPORT_TARGET_EXISTS");
    await env.ok("explore", "exportSetCsv", { datasetId: env.datasetId, name: "NK and B", path: file, overwrite: true });
    expect(failure(await env.call("explore", "exportSetCsv", { datasetId: env.datasetId, name: "NK and B", path: path.join(env.root, "x.csv") })).code).toBe(
      "WRITE_INSIDE_DATASET",
    );

    // Another tool's CSV: extra columns, quotes, CRLF, an unknown id.
    const other = path.join(env.dir, "other.csv");
    await fs.writeFile(other, `"score",cell_id\r\n1,"${truth[0]}"\r\n2,${truth[1]}\r\n3,NOT-A-CELL\r\n`);
    const imported = await env.ok<CellSetInfo & { unknown: number; unknownExamples: string[] }>("explore", "importSetCsv", {
      datasetId: env.datasetId,
      name: "imported",
      path: other,
    });
    expect(imported).toMatchObject({ size: 2, unknown: 1, unknownExamples: ["NOT-A-CELL"] });
    const back = await env.ok<CellSetInfo>("explore", "importSetCsv", { datasetId: env.datasetId, name: "roundtrip", path: file });
    expect(await members("roundtrip")).toEqual(await members("NK and B"));
    expect(back.size).toBe(40);

    const none = path.join(env.dir, "none.csv");
    await fs.writeFile(none, "cell_id\nnobody\n");
    expect(failure(await env.call("explore", "importSetCsv", { datasetId: env.datasetId, name: "x", path: none })).code).toBe("EXPLORE_IMPORT_INVALID");
    expect(failure(await env.call("explore", "importSetCsv", { datasetId: env.datasetId, name: "x", path: path.join(env.dir, "missing.csv") })).code).toBe(
      "INVALID_ARGUMENT",
    );
  });

  it("refuses malformed definitions with named errors", async () => {
    const bad = async (from: unknown, name = "bad") => failure(await env.call("explore", "defineSet", { datasetId: env.datasetId, name, from })).code;
    expect(await bad({ kind: "ids", ids: cellIdsToBytes([160]) })).toBe("EXPLORE_SET_INVALID");
    expect(await bad({ kind: "ids", ids: cellIdsToBytes([-1]) })).toBe("EXPLORE_SET_INVALID");
    expect(await bad({ kind: "ids", ids: new Uint8Array(5) })).toBe("INVALID_ARGUMENT");
    expect(await bad({ kind: "ids", ids: [1, 2] })).toBe("INVALID_ARGUMENT");
    expect(await bad({ kind: "lasso" })).toBe("INVALID_ARGUMENT");
    expect(await bad({ kind: "polygon", column: "X_umap", dims: [0, 1], polygon: [0, 0, 1, 1] })).toBe("EXPLORE_SET_INVALID");
    expect(await bad({ kind: "polygon", column: "X_umap", dims: [0, 1], polygon: [0, 0, 1, 1, 2] })).toBe("EXPLORE_SET_INVALID");
    expect(await bad({ kind: "polygon", column: "cell_type", dims: [0, 1], polygon: [0, 0, 1, 1, 2, 0] })).toBe("EXPLORE_COLUMN_INVALID");
    expect(await bad({ kind: "category", column: "cell_type", values: ["Unicorn"] })).toBe("EXPLORE_SET_INVALID");
    expect(await bad({ kind: "algebra", op: "union", sets: ["no such set"] })).toBe("EXPLORE_SET_NOT_FOUND");
    expect(await bad({ kind: "algebra", op: "union", sets: [] })).toBe("EXPLORE_SET_INVALID");
    expect(await bad({ kind: "result", resultId: "r999999" })).toBe("RESULT_NOT_FOUND");
    expect(await bad({ kind: "ids", ids: cellIdsToBytes([1]) }, "")).toBe("INVALID_ARGUMENT");
    expect(await bad({ kind: "ids", ids: cellIdsToBytes([1]) }, "a\nb")).toBe("INVALID_ARGUMENT");
    const { jobId } = await env.ok<{ jobId: string }>("query", "start", { datasetId: env.datasetId, sql: "SELECT cell_type FROM cells", confirmed: true });
    const summary = (await env.waitJob(jobId)) as JobEvent & { result: QuerySummary };
    expect(await bad({ kind: "result", resultId: summary.result.resultId })).toBe("EXPLORE_SET_INVALID");
  });

  it("gives back the sets a page defined when the page goes (unless another page redefined them)", async () => {
    await define("mine", { kind: "ids", ids: cellIdsToBytes([1, 2, 3]) }, {}, "page2");
    await define("shared", { kind: "ids", ids: cellIdsToBytes([4]) }, {}, "page2");
    await define("shared", { kind: "ids", ids: cellIdsToBytes([5, 6]) }, { replace: true }, "page3");
    await env.services.dispatcher.endSession("page2");
    const names = (await env.ok<CellSetInfo[]>("explore", "listSets", { datasetId: env.datasetId })).map((s) => s.name);
    expect(names).not.toContain("mine");
    expect(await members("shared")).toEqual([5, 6]);
    await env.services.dispatcher.endSession("page3");
    expect((await env.ok<CellSetInfo[]>("explore", "listSets", { datasetId: env.datasetId })).map((s) => s.name)).not.toContain("shared");
    expect(await sql("SELECT count(*) FROM cell_sets WHERE set_name IN ('mine', 'shared')")).toEqual([[0]]);
  });
});
