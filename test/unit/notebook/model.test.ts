import { describe, expect, it } from "vitest";
import {
  cellsAbove,
  emptyNotebook,
  insertCell,
  insertCellAfter,
  moveCell,
  moveCellBy,
  newCell,
  newCellId,
  removeCell,
  sqlSourcesAbove,
  updateCell,
  type Cell,
  type Notebook,
} from "../../../shared/notebook/model";

function nbOf(...cells: Cell[]): Notebook {
  return { frontmatter: { title: null, dataset: null, extra: [] }, cells };
}
const md = (id: string): Cell => ({ kind: "markdown", id, text: id });
const sql = (id: string, name: string | null): Cell => ({ kind: "sql", id, name, text: "SELECT 1" });

describe("newCellId", () => {
  it("is short, unique and deterministic", () => {
    expect(newCellId([])).toBe("c1a2");
    expect(newCellId(["c1a2"])).toBe(newCellId(new Set(["c1a2"])));
    const taken = new Set<string>();
    for (let k = 0; k < 4200; k++) {
      const id = newCellId(taken);
      expect(taken.has(id)).toBe(false);
      expect(id).toMatch(/^c[0-9a-f]{3,4}$/);
      taken.add(id);
    }
  });
});

describe("edit helpers", () => {
  const base = nbOf(md("a"), sql("b", "q1"), md("c"), sql("d", "q2"));
  const ids = (nb: Notebook) => nb.cells.map((c) => c.id);

  it("moves cells without mutating the input", () => {
    expect(ids(moveCell(base, "a", 3))).toEqual(["b", "c", "d", "a"]);
    expect(ids(moveCell(base, "d", 0))).toEqual(["d", "a", "b", "c"]);
    expect(ids(moveCell(base, "b", 99))).toEqual(["a", "c", "d", "b"]);
    expect(ids(moveCell(base, "b", -5))).toEqual(["b", "a", "c", "d"]);
    expect(moveCell(base, "zz", 0)).toBe(base);
    expect(ids(moveCellBy(base, "c", -1))).toEqual(["a", "c", "b", "d"]);
    expect(ids(moveCellBy(base, "a", -1))).toEqual(["a", "b", "c", "d"]);
    expect(ids(base)).toEqual(["a", "b", "c", "d"]);
  });

  it("inserts with unique ids", () => {
    const one = insertCell(base, md("x"), 1);
    expect(ids(one)).toEqual(["a", "x", "b", "c", "d"]);
    const dup = insertCell(base, md("a"));
    expect(dup.cells).toHaveLength(5);
    expect(new Set(ids(dup)).size).toBe(5);
    expect(ids(insertCellAfter(base, md("y"), "c"))).toEqual(["a", "b", "c", "y", "d"]);
    expect(ids(insertCellAfter(base, md("y"), null))).toEqual(["y", "a", "b", "c", "d"]);
    const fresh = newCell(base, "plot", { source: "q1" });
    expect(fresh).toEqual({ kind: "plot", id: newCellId(ids(base)), source: "q1", spec: { mark: "dot" } });
    expect(ids(base)).toEqual(["a", "b", "c", "d"]);
  });

  it("removes and updates", () => {
    expect(ids(removeCell(base, "b"))).toEqual(["a", "c", "d"]);
    expect(removeCell(base, "nope")).toBe(base);
    const up = updateCell(base, "b", (c) => ({ ...c, id: "changed", text: "SELECT 2" }) as Cell);
    expect(up.cells[1]).toEqual({ kind: "sql", id: "b", name: "q1", text: "SELECT 2" });
  });

  it("lists cells and SQL sources above a cell", () => {
    expect(ids(nbOf(...cellsAbove(base, "c")))).toEqual(["a", "b"]);
    expect(cellsAbove(base, "a")).toEqual([]);
    expect(sqlSourcesAbove(base, "d")).toEqual(["q1"]);
    expect(sqlSourcesAbove(insertCell(base, { kind: "plot", id: "p", source: null, spec: { mark: "dot" } }), "p")).toEqual(["q1", "q2"]);
  });

  it("makes an empty notebook", () => {
    expect(emptyNotebook("/x")).toEqual({ frontmatter: { dataset: "/x", title: null, extra: [] }, cells: [] });
  });
});
