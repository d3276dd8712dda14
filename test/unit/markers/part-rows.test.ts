/** Parts read from a row offset: the rows each takes, where a read must start again earlier, and when the reads prove the table sorted. */
import { describe, expect, it } from "vitest";
import { CellsUnsorted, MomentsAccumulator } from "../../../main/services/markers/moments-accumulator";
import { guessOffset, PartRows, seamsMeet, type Seam, type Take } from "../../../main/services/markers/part-rows";

/**
 * Reads `cells` (ids 0..9) from `offset` in batches of `size` as a worker does, the rows taken into an accumulator
 * that checks their ids never go down: the cells taken, the seam, or why it stopped.
 */
function read(cells: number[], from: number, to: number, offset: number, size: number): { taken: number[]; seam: Seam; stopped?: Take["t"] } {
  const part = new PartRows(from, to, offset);
  const acc = new MomentsAccumulator({ classOf: new Int32Array(10), nClasses: 1, nGenes: 1, divisors: null, fromRows: false, totals: null, sorted: true });
  const taken: number[] = [];
  for (let at = offset; at < cells.length; at += size) {
    const batch = cells.slice(at, at + size);
    const take = part.take(batch);
    if (take.t !== "rows") return { taken, seam: part.seam, stopped: take.t };
    const rows = batch.slice(take.from, take.to);
    try {
      acc.add(
        rows,
        rows.map(() => 0),
        rows.map(() => 1),
      );
    } catch (e) {
      if (!(e instanceof CellsUnsorted)) throw e;
      return { taken, seam: part.seam, stopped: part.unsorted().t };
    }
    taken.push(...rows);
    if (take.last) break;
  }
  return { taken, seam: part.seam };
}

describe("parts read by row offset", () => {
  // Cells 0..9 with 0..4 rows each, stored by cell.
  const cells = Array.from({ length: 10 }, (_, c) => Array<number>(c % 5).fill(c)).flat();
  const rowsOf = (from: number, to: number) => cells.filter((c) => c >= from && c < to);

  it("each part takes exactly its cells' rows, whatever the batch size and the offset before them", () => {
    const start5 = cells.indexOf(5);
    for (const size of [1, 3, 7, 100])
      for (let offset = 0; offset < start5; offset++) {
        const first = read(cells, -Infinity, 5, 0, size);
        const second = read(cells, 5, Infinity, offset, size);
        expect(first.taken, `size ${size}`).toEqual(rowsOf(0, 5));
        expect(second.taken, `size ${size}, offset ${offset}`).toEqual(rowsOf(5, 10));
        expect(first.seam.end).toBe(start5);
        expect(second.seam.end).toBe(cells.length);
        expect(seamsMeet([first.seam, second.seam], [0, 5])).toBe(true);
      }
  });

  it("a read starting inside or past its cells must start again earlier", () => {
    const start6 = cells.indexOf(6);
    expect(read(cells, 6, Infinity, start6, 4).stopped).toBe("overshot");
    expect(read(cells, 6, Infinity, start6 + 1, 4).stopped).toBe("overshot");
    expect(read(cells, 6, Infinity, start6 - 1, 4).taken).toEqual(rowsOf(6, 10));
    expect(guessOffset(1000, 10, 0, 0.02)).toBe(0);
    expect(guessOffset(1000, 10, 5, 0.02)).toBe(490);
    expect(guessOffset(1000, 10, 5, 1)).toBe(0);
  });

  it("cell ids going down stop the read; reads that do not meet or start late prove nothing", () => {
    const apart = [0, 0, 1, 2, 1, 3, 4];
    expect(read(apart, -Infinity, 3, 0, 3).stopped).toBe("unsorted");
    expect(read(apart, -Infinity, Infinity, 0, 7).stopped).toBe("unsorted");
    expect(read(apart, -Infinity, Infinity, 0, 3).stopped).toBe("unsorted");
    expect(read([0, 2, 1, 3], -Infinity, Infinity, 0, 2).stopped).toBe("unsorted");
    expect(read([0, 1, 1, 2, 3], -Infinity, Infinity, 0, 2).taken).toEqual([0, 1, 1, 2, 3]);
    // Checked by the accumulator (a batch wholly inside the part) or by the part's rows (a batch across its edge).
    expect(read([0, 2, 1, 3, 6], -Infinity, 5, 0, 5).stopped).toBe("unsorted");
    const whole = read([0, 2, 1, 3], -Infinity, Infinity, 0, 4);
    expect([whole.stopped, whole.seam.sorted]).toEqual(["unsorted", false]);
    const seam = (offset: number, end: number, firstCell = 0): Seam => ({ offset, firstCell, end, sorted: true });
    expect(seamsMeet([seam(0, 10), seam(10, 20, 4)], [0, 5])).toBe(true);
    // Row 10 read by neither.
    expect(seamsMeet([seam(0, 9), seam(10, 20, 4)], [0, 5])).toBe(false);
    // The second read began at a cell of its own: its earlier rows unread.
    expect(seamsMeet([seam(0, 10), seam(8, 20, 5)], [0, 5])).toBe(false);
    expect(seamsMeet([seam(3, 10), seam(8, 20, 4)], [0, 5])).toBe(false);
    expect(seamsMeet([{ ...seam(0, 10), sorted: false }, seam(8, 20, 4)], [0, 5])).toBe(false);
  });
});
