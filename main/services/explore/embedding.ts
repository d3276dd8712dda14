/** Two dims of an embedding column, per cell_integer_id, with their bounds. */
import type * as lancedb from "@lancedb/lancedb";
import type { ExploreBounds } from "../../../shared/ipc/contract";
import type { arrow } from "../arrow";
import { fail } from "../errors";
import { columnNumbers, forEachPair } from "./arrow-read";
import { scanBatches } from "./lance-scan";

type Vector = InstanceType<typeof arrow.Vector>;

export interface EmbeddingPoints {
  x: Float32Array;
  y: Float32Array;
  bounds: ExploreBounds;
}

export async function readEmbedding(
  table: lancedb.Table,
  column: string,
  size: number,
  dims: [number, number],
  nCells: number,
  signal?: AbortSignal,
): Promise<EmbeddingPoints> {
  const x = new Float32Array(nCells).fill(NaN);
  const y = new Float32Array(nCells).fill(NaN);
  for await (const batch of scanBatches(table, ["cell_integer_id", column], { signal })) {
    const ids = columnNumbers(batch.getChild("cell_integer_id") as Vector);
    forEachPair(batch.getChild(column) as Vector, size, dims[0], dims[1], (row, px, py) => {
      const id = ids[row];
      if (!(id >= 0 && id < nCells)) fail("EXPLORE_DATASET_UNSUPPORTED", `cell_integer_id ${id} is outside 0..${nCells - 1}`);
      x[id] = px;
      y[id] = py;
    });
  }
  return { x, y, bounds: { x: range(x), y: range(y) } };
}

function range(v: Float32Array): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < v.length; i++) {
    const a = v[i];
    if (a < lo) lo = a;
    if (a > hi) hi = a;
  }
  return lo <= hi ? [lo, hi] : [0, 0];
}
