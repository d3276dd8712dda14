/** The distinct cell_integer_ids of a query result (a SQL cell whose result holds that column). */
import { fail } from "../errors";
import type { QueryService } from "../query/service";

export async function resultIds(query: QueryService, resultId: string): Promise<Int32Array> {
  return query.useResult(resultId, async (table, columns) => {
    const col = columns.find((c) => c.name.toLowerCase() === "cell_integer_id");
    if (!col) fail("EXPLORE_SET_INVALID", `Result ${resultId} has no cell_integer_id column (it has ${columns.map((c) => c.name).join(", ")})`);
    if (col.kind !== "int") fail("EXPLORE_SET_INVALID", `cell_integer_id in result ${resultId} holds ${col.type}, not integers`);
    const conn = await query.engine.connect();
    try {
      const ident = `"${col.name.replaceAll('"', '""')}"`;
      const count = await conn.runAndReadAll(`SELECT count(DISTINCT ${ident})::BIGINT FROM ${table}`);
      const n = Number(count.getRows()[0][0]);
      const out = new Int32Array(n);
      const result = await conn.run(`SELECT DISTINCT ${ident}::BIGINT FROM ${table} WHERE ${ident} IS NOT NULL ORDER BY 1`);
      let at = 0;
      for (let chunk = await result.fetchChunk(); chunk && chunk.rowCount > 0; chunk = await result.fetchChunk()) {
        for (const v of chunk.getColumnValues(0)) {
          const id = Number(v);
          if (!(id >= 0 && id <= 2 ** 31 - 1))
            fail("EXPLORE_SET_INVALID", `Result ${resultId} holds cell_integer_id ${String(v)}, which is no cell of this dataset`);
          out[at++] = id;
        }
      }
      return out.subarray(0, at);
    } finally {
      conn.closeSync();
    }
  });
}
