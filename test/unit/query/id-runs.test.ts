/** Runs of equal ids: found only in sorted null-free columns with long enough runs; picking runs = testing rows. */
import { describe, expect, it } from "vitest";
import { bitmapFromIds, selectRows } from "../../../main/services/query/id-bitmap";
import { gatherRuns, idRuns, pickRuns } from "../../../main/services/query/id-runs";
import { mulberry32 } from "../../../main/services/convert/synth-source";

describe("id runs", () => {
  it("are found in a sorted column, and not in one whose ids go down, with nulls, or with runs too short", () => {
    const sorted = Uint32Array.from([3, 3, 3, 3, 5, 5, 5, 5, 5, 9, 9, 9, 9, 9, 9]);
    const runs = idRuns(sorted, null, sorted.length)!;
    expect([...runs.starts]).toEqual([0, 4, 9, 15]);
    expect([...runs.ids]).toEqual([3, 5, 9]);
    expect(idRuns(BigInt64Array.from([7n, 7n, 7n, 7n, 8n, 8n, 8n, 8n]), null, 8)!.ids).toEqual(Float64Array.from([7, 8]));
    expect(idRuns(Uint32Array.from([3, 3, 3, 3, 2, 2, 2, 2]), null, 8)).toBeNull();
    expect(idRuns(sorted, new Uint8Array(2).fill(255), sorted.length)).toBeNull();
    expect(idRuns(Uint32Array.from([1, 2, 3, 4, 5, 6, 7, 8]), null, 8)).toBeNull();
    expect(idRuns(new Uint32Array(0), null, 0)).toBeNull();
  });

  it("pick the same rows, in the same order, as testing every row against the bitmap", () => {
    const rand = mulberry32(7);
    const ids: number[] = [];
    for (let cell = 0; cell < 2000; cell++) for (let n = 1 + Math.floor(rand() * 60); n > 0; n--) ids.push(cell);
    const cells = Uint32Array.from(ids);
    const values = Float32Array.from(ids, () => rand() * 100);
    const kept = Array.from({ length: 2000 }, (_, c) => c).filter(() => rand() < 0.08);
    const bitmap = bitmapFromIds("cell_integer_id", kept, kept[0], kept[kept.length - 1]);

    const sel = new Uint32Array(cells.length);
    const n = selectRows([{ values: cells, offset: 0, nullBitmap: null }], [bitmap], cells.length, sel);
    const expected = Array.from(sel.subarray(0, n), (i) => values[i]);

    const runs = idRuns(cells, null, cells.length)!;
    const picked = new Uint32Array(runs.ids.length);
    const { count, rows } = pickRuns(runs, bitmap, picked);
    expect(rows).toBe(n);
    expect(count).toBe(kept.length);
    expect([...gatherRuns(values, runs, picked, count, rows)]).toEqual(expected);
    expect([...gatherRuns(cells, runs, picked, count, rows)]).toEqual(Array.from(sel.subarray(0, n), (i) => cells[i]));
  });
});
