/** The pass's arithmetic on hand-made rows: per class sums, totals from a cell's own rows, rows that come apart or lie outside. */
import { describe, expect, it } from "vitest";
import { CellsNotContiguous, CellsUnsorted, MomentsAccumulator, RowOutsideTables } from "../../../main/services/markers/moments-accumulator";

describe("moments accumulator", () => {
  const spec = (over: object = {}) => ({
    classOf: Int32Array.from([0, 1, -1, 0]),
    nClasses: 2,
    nGenes: 3,
    divisors: null,
    fromRows: false,
    totals: null,
    ...over,
  });

  it("sums y and y² per class and gene, counts y > 0, skips uninvolved cells, zeros and nulls", () => {
    const acc = new MomentsAccumulator(spec());
    acc.add([0, 0, 1, 2, 3, 3], [0, 2, 0, 0, 2, 1], [2, 1, 5, 9, 3, NaN]);
    acc.add([3], [0], [0]);
    const m = acc.finish();
    expect(Array.from(m.sum)).toEqual([2, 0, 4, 5, 0, 0]);
    expect(Array.from(m.sumSq)).toEqual([4, 0, 10, 25, 0, 0]);
    expect(Array.from(m.expressing)).toEqual([1, 0, 2, 1, 0, 0]);
    expect(m.negative).toBe(false);
  });

  it("log1p(CP10k) from each cell's own rows, across batches, writing the totals", () => {
    const totals = new Float64Array(4);
    const acc = new MomentsAccumulator(spec({ fromRows: true, totals }));
    acc.add([0, 0], [0, 1], [1, 3]);
    acc.add([0, 1, 3], [2, 0, 0], [4, 10, 2]);
    const m = acc.finish();
    expect(Array.from(totals)).toEqual([8, 10, 0, 2]);
    const y = (x: number, t: number) => Math.log1p((x / t) * 10_000);
    expect(m.sum[0]).toBeCloseTo(y(1, 8) + y(2, 2), 12);
    expect(m.sum[3]).toBeCloseTo(y(10, 10), 12);
    expect(m.sum[2]).toBeCloseTo(y(4, 8), 12);
  });

  it("a cell's rows across three batches; the whole: every cell read, the classes' sums in class order, unclassed cells last", () => {
    const totals = new Float64Array(4);
    const acc = new MomentsAccumulator(spec({ fromRows: true, totals, whole: true }));
    acc.add([1, 2], [0, 1], [5, 7]);
    acc.add([2], [2], [1]);
    acc.add([2, 3], [0, 0], [2, 4]);
    const m = acc.finish();
    expect(Array.from(totals)).toEqual([0, 5, 10, 4]);
    const y = (x: number, t: number) => Math.log1p(x / (t / 10_000));
    // Cell 2 has no class: in the whole only.
    expect(Array.from(m.sum)).toEqual([y(4, 4), 0, 0, y(5, 5), 0, 0]);
    expect(Array.from(m.whole!.sum)).toEqual([y(4, 4) + y(5, 5) + y(2, 10), y(7, 10), y(1, 10)]);
    expect(Array.from(m.whole!.sumSq)).toEqual([y(4, 4) ** 2 + y(5, 5) ** 2 + y(2, 10) ** 2, y(7, 10) ** 2, y(1, 10) ** 2]);
    expect(Array.from(m.whole!.expressing)).toEqual([3, 1, 1]);
  });

  it("a cell whose rows come apart, and a row outside the tables, are named", () => {
    const acc = new MomentsAccumulator(spec({ fromRows: true }));
    expect(() => acc.add([0, 1, 0], [0, 0, 1], [1, 1, 1])).toThrow(CellsNotContiguous);
    expect(() => new MomentsAccumulator(spec()).add([4], [0], [1])).toThrow(RowOutsideTables);
    expect(() => new MomentsAccumulator(spec()).add([0], [3], [1])).toThrow(/Expression row \(cell 0, gene 3\) is outside/);
  });

  it("the same moments whatever typed arrays the batches arrive in, a held cell included", () => {
    const rows = { cells: [1, 1, 3, 3, 3, 0], genes: [0, 2, 1, 0, 2, 1], values: [3, 1, 2, 70, 5, 4] };
    const run = (gene: (a: number[], batch: number) => ArrayLike<number>, value: (a: number[], batch: number) => ArrayLike<number>) => {
      const acc = new MomentsAccumulator(spec({ fromRows: true, totals: new Float64Array(4), whole: true }));
      const batches = [
        [0, 3],
        [3, 4],
        [4, 6],
      ];
      batches.forEach(([from, to], b) =>
        acc.add(Uint32Array.from(rows.cells.slice(from, to)), gene(rows.genes.slice(from, to), b), value(rows.values.slice(from, to), b)),
      );
      return acc.finish();
    };
    const plain = run(
      (a) => a,
      (a) => a,
    );
    expect(plain.whole!.expressing.reduce((a, b) => a + b, 0)).toBe(6);
    for (const [gene, value] of [
      [Uint16Array, Uint16Array],
      [Int32Array, Float32Array],
      [Uint32Array, Float64Array],
      [Float64Array, Int32Array],
    ] as const)
      expect(
        run(
          (a) => gene.from(a),
          (a) => value.from(a),
        ),
        `${gene.name} / ${value.name}`,
      ).toEqual(plain);
    // Cell 3's rows held across batches whose types change (a batch with nulls comes as Float64Array).
    const mixed = run(
      (a, b) => (b === 1 ? Float64Array.from(a) : Uint16Array.from(a)),
      (a, b) => (b === 1 ? Float32Array.from(a) : Uint16Array.from(a)),
    );
    expect(mixed).toEqual(plain);
  });

  it("a cell's total from its rows is the same whatever integer or float arrays hold them (four sums side by side for integers)", () => {
    type Make = (a: number[]) => ArrayLike<number>;
    const totalOf = (make: Make, values: number[]) => {
      const totals = new Float64Array(4);
      const acc = new MomentsAccumulator(spec({ fromRows: true, totals }));
      // Cell 1, then cell 3: cell 1's rows are complete in the batch.
      const n = values.length;
      acc.add(
        [...new Array<number>(n).fill(1), 3],
        Array.from({ length: n + 1 }, (_, g) => g % 3),
        make([...values, 1]),
      );
      return totals[1];
    };
    const values = [3, 0, 1, 250, 7, 0, 2, 9, 4, 1, 65_000];
    for (const Type of [Uint16Array, Int32Array, Uint32Array, Float32Array, Float64Array])
      expect(
        totalOf((a) => Type.from(a), values),
        Type.name,
      ).toBe(65_277);
    expect(totalOf((a) => Int32Array.from(a), [5, -3, 2, 0, 1, -1, 8, 4, -7])).toBe(20);
  });

  it("with `sorted`, cell ids going down are named before their rows are summed, even after a row outside the tables", () => {
    const acc = new MomentsAccumulator(spec({ sorted: true }));
    acc.add([0, 0, 1], [0, 1, 0], [1, 1, 1]);
    expect(() => acc.add([1, 3, 2], [1, 0, 0], [1, 1, 1])).toThrow(CellsUnsorted);
    expect(() => new MomentsAccumulator(spec({ sorted: true })).add([0, 7, 1], [0, 0, 0], [1, 1, 1])).toThrow(CellsUnsorted);
    expect(() => new MomentsAccumulator(spec({ sorted: true })).add([0, 1, 7], [0, 0, 0], [1, 1, 1])).toThrow(RowOutsideTables);
    // Without `sorted`, the same rows are summed.
    const free = new MomentsAccumulator(spec());
    free.add([3, 0, 1], [0, 0, 0], [1, 1, 1]);
    expect(Array.from(free.finish().expressing)).toEqual([2, 0, 0, 1, 0, 0]);
  });

  it("gene ids are named as stored when outside the genes table, whatever their type", () => {
    expect(() => new MomentsAccumulator(spec()).add([0], Uint32Array.from([2 ** 32 - 1]), [1])).toThrow(/gene 4294967295\)/);
    expect(() => new MomentsAccumulator(spec()).add([0], Float64Array.from([NaN]), [1])).toThrow(/gene NaN\)/);
    expect(() => new MomentsAccumulator(spec()).add([0], Float64Array.from([1.5e10]), [1])).toThrow(/gene 15000000000\)/);
    expect(() => new MomentsAccumulator(spec()).add([0], Int16Array.from([-2]), [1])).toThrow(/gene -2\)/);
  });
});
