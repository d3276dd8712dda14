/**
 * Explore indexes every per-cell array by cell_integer_id, which SLAF writes as 0..nCells-1: checked once per
 * dataset (each id in range, none twice) so a table that breaks it fails with a named error instead of drawing
 * the wrong colours.
 */
import type * as lancedb from "@lancedb/lancedb";
import type { arrow } from "../arrow";
import { fail } from "../errors";
import { columnNumbers } from "./arrow-read";
import { scanBatches } from "./lance-scan";

type Vector = InstanceType<typeof arrow.Vector>;

export async function checkCellIds(table: lancedb.Table, nCells: number): Promise<void> {
  const seen = new Uint8Array(nCells);
  let rows = 0;
  for await (const batch of scanBatches(table, ["cell_integer_id"])) {
    const ids = columnNumbers(batch.getChild("cell_integer_id") as Vector);
    for (let r = 0; r < ids.length; r++) {
      const id = ids[r];
      if (!(Number.isInteger(id) && id >= 0 && id < nCells))
        fail("EXPLORE_DATASET_UNSUPPORTED", `The cells table has cell_integer_id ${id}; Explore needs ids 0 to ${nCells - 1}, one per cell`);
      if (seen[id]) fail("EXPLORE_DATASET_UNSUPPORTED", `The cells table has cell_integer_id ${id} twice; Explore needs one row per id`);
      seen[id] = 1;
    }
    rows += ids.length;
  }
  if (rows !== nCells) fail("EXPLORE_DATASET_UNSUPPORTED", `The cells table has ${rows} rows, not the ${nCells} it reported`);
}
