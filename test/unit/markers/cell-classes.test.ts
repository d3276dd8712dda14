/** Cell classes of overlapping groups, and the cells a pass pushes down to Lance. */
import { describe, expect, it } from "vitest";
import { classesFromCodes, classesFromSets, classesOfGroup, groupCells, involvedCellsWhere } from "../../../main/services/markers/cell-classes";

describe("cell classes", () => {
  it("codes: class k is group k; negative codes are not involved", () => {
    const c = classesFromCodes([0, 1, -1, 1, 2], 3);
    expect(Array.from(c.classOf)).toEqual([0, 1, -1, 1, 2]);
    expect(c.cells).toEqual([1, 2, 1]);
    expect(c.groupsOf).toEqual([[0], [1], [2]]);
  });

  it("sets: one class per membership, a cell in both sets counted in both groups, the rest as its own group", () => {
    const c = classesFromSets(8, [Int32Array.from([0, 1, 2, 3]), Int32Array.from([2, 3, 4])], 2);
    // {A}, {A,B}, {B}, rest
    expect(c.groupsOf).toEqual([[0], [0, 1], [1], [2]]);
    expect(Array.from(c.classOf)).toEqual([0, 0, 1, 1, 2, 3, 3, 3]);
    expect(c.cells).toEqual([2, 2, 1, 3]);
    expect(classesOfGroup(c, 1)).toEqual([1, 2]);
    expect([0, 1, 2].map((g) => groupCells(c, g))).toEqual([4, 3, 3]);
    // Without a rest group the other cells are not involved.
    expect(Array.from(classesFromSets(5, [Int32Array.from([1])]).classOf)).toEqual([-1, 0, -1, -1, -1]);
  });

  it("pushes down ranges, a short IN list or bounds; nothing when (nearly) every cell is read", () => {
    const involve = (n: number, ids: number[]) => {
      const classOf = new Int32Array(n).fill(-1);
      for (const i of ids) classOf[i] = 0;
      return involvedCellsWhere(classOf);
    };
    expect(involve(100, [3, 10, 11, 12])).toBe("cell_integer_id = 3 OR (cell_integer_id >= 10 AND cell_integer_id < 13)");
    const scattered = Array.from({ length: 40 }, (_, k) => 2 * k);
    expect(involve(100, scattered)).toBe(`cell_integer_id IN (${scattered.join(", ")})`);
    const many = Array.from({ length: 5000 }, (_, k) => 1000 + 2 * k);
    expect(involve(100_000, many)).toBe("cell_integer_id >= 1000 AND cell_integer_id < 10999");
    expect(
      involve(
        100,
        Array.from({ length: 100 }, (_, k) => k),
      ),
    ).toBeUndefined();
    expect(involve(10, [])).toBe("cell_integer_id < 0");
  });
});
