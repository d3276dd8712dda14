/** Paging rows out of Lance the way the grid does (takeOffsets pages → Arrow IPC) vs a raw Lance scan. */
import path from "node:path";
import fs from "node:fs/promises";
import { DatasetService } from "../../main/services/datasets/service";
import { SCAN_BATCH_ROWS } from "../../main/services/arrow";
import { tempDir, writePbmcSlaf } from "../fixtures/slaf-fixture";
import { table, time } from "./util";

export async function run(): Promise<void> {
  const dir = await tempDir("slafwb-bench-");
  const root = path.join(dir, "scan.slaf");
  await writePbmcSlaf(root, { nCells: 16_000 });
  const service = new DatasetService();
  const ds = await service.acquire(root);
  const expr = ds.tables.get("expression")!;
  const rows = await expr.countRows();
  const rawDefault = await time(async () => (await expr.query().toArrow()).numRows);
  const rawLarge = await time(async () => (await expr.query().toArrow({ maxBatchLength: SCAN_BATCH_ROWS })).numRows);
  const page = await time(async () => {
    const r = await service.readRows({ datasetId: ds.summary.datasetId, table: "expression", offset: Math.floor(rows / 2), limit: 200 });
    if (!r.ok) throw new Error(r.error.message);
    return r.value.numRows;
  });
  table(
    ["path", "ms", "rows", "ratio vs raw default"],
    [
      ["raw Lance scan, default batches", rawDefault.ms, rawDefault.value, 1],
      ["raw Lance scan, 128k batches (ours)", rawLarge.ms, rawLarge.value, rawDefault.ms / rawLarge.ms],
      ["grid page of 200 rows at the middle", page.ms, page.value, rawDefault.ms / page.ms],
    ],
  );
  await service.closeAll();
  await fs.rm(dir, { recursive: true, force: true });
}
