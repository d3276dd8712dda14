/** Id bitmaps, their runs, the rows they select from a batch, and flattening the selected rows of Arrow columns. */
import { describe, expect, it } from "vitest";
import { arrow } from "../../../main/services/arrow";
import { flattenColumn, type ArrowPart } from "../../../main/services/query/flat-batch";
import { bitmapFromIds, hasId, runsOf, selectRows } from "../../../main/services/query/id-bitmap";

type AnyVector = { data: readonly unknown[] };

function part(vector: AnyVector): ArrowPart {
  return vector.data[0] as ArrowPart;
}

describe("id bitmaps", () => {
  it("hold exactly the ids given, counted once", () => {
    const b = bitmapFromIds("cell_integer_id", [7, 40, 41, 42, 7, 100], 7, 100);
    expect(b.count).toBe(5);
    for (let id = 0; id < 120; id++) expect(hasId(b, id), String(id)).toBe([7, 40, 41, 42, 100].includes(id));
  });

  it("list their runs, or give up past a limit", () => {
    const ids = [3, 4, 5, 31, 32, 33, 64, 200];
    const b = bitmapFromIds("x", ids, 3, 200);
    expect(runsOf(b, 10)).toEqual([
      [3, 5],
      [31, 33],
      [64, 64],
      [200, 200],
    ]);
    expect(runsOf(b, 3)).toBeNull();
    const full = bitmapFromIds(
      "x",
      Array.from({ length: 96 }, (_, i) => i + 10),
      10,
      105,
    );
    expect(runsOf(full, 1)).toEqual([[10, 105]]);
  });

  it("select the rows whose ids are in every bitmap; a null id matches nothing", () => {
    const cells = bitmapFromIds("c", [1, 3], 1, 3);
    const genes = bitmapFromIds("g", [10n, 12n].map(Number), 10, 12);
    const c = arrow.vectorFromArray([1, 2, 3, null, 1, 3], new arrow.Uint32());
    const g = arrow.vectorFromArray([10n, 10n, 11n, 10n, 12n, 12n], new arrow.Int64());
    const asId = (v: AnyVector) => {
      const d = part(v);
      return { values: d.values as ArrayLike<number>, offset: d.offset, nullBitmap: d.nullCount ? (d.nullBitmap as Uint8Array) : null };
    };
    const out = new Uint32Array(6);
    const n = selectRows([asId(c), asId(g)], [cells, genes], 6, out);
    expect(Array.from(out.subarray(0, n))).toEqual([0, 4, 5]);
    const plain = arrow.vectorFromArray([5, 1, 9, 3, 3], new arrow.Uint32());
    const m = selectRows([asId(plain)], [cells], 5, out);
    expect(Array.from(out.subarray(0, m))).toEqual([1, 3, 4]);
  });
});

describe("flattening selected rows", () => {
  it("gathers fixed-width values with their validity, from any offset", () => {
    const v = arrow.vectorFromArray([1.5, null, 3.5, 4.5, null, 6.5, 7.5, 8.5, 9.5, null], new arrow.Float32());
    const sliced = v.slice(1, 10);
    const sel = Uint32Array.from([0, 1, 3, 8]);
    const flat = flattenColumn("fixed", part(sliced), 9, sel, 4);
    expect((flat.values as Float32Array)[1]).toBe(3.5);
    const valid = (i: number) => ((flat.validity![i >> 3] >> (i & 7)) & 1) === 1;
    expect([0, 1, 2, 3].map(valid)).toEqual([false, true, false, false]);
    expect(flat.values).toBeInstanceOf(Float32Array);

    const whole = flattenColumn("fixed", part(sliced), 9, null, 0);
    const expected = Array.from({ length: 9 }, (_, i) => sliced.get(i) as number | null);
    expect(Array.from(whole.values as Float32Array).map((x, i) => (expected[i] === null ? null : x))).toEqual(expected);
    expect(Array.from({ length: 9 }, (_, i) => ((whole.validity![i >> 3] >> (i & 7)) & 1) === 1)).toEqual(
      Array.from({ length: 9 }, (_, i) => sliced.get(i) !== null),
    );
  });

  it("unpacks booleans to one byte each and keeps 64-bit integers whole", () => {
    const b = arrow.vectorFromArray([true, false, true, true, false]);
    const flat = flattenColumn("bool", part(b), 5, Uint32Array.from([0, 2, 4]), 3);
    expect(Array.from(flat.values as Uint8Array)).toEqual([1, 1, 0]);
    const big = arrow.vectorFromArray([2n ** 60n, 5n, -(2n ** 62n)], new arrow.Int64());
    const g = flattenColumn("fixed", part(big), 3, Uint32Array.from([0, 2]), 2);
    expect(Array.from(g.values as BigInt64Array)).toEqual([2n ** 60n, -(2n ** 62n)]);
  });
});
