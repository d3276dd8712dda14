/**
 * Every query of slaf-format.md §3.2 that is valid on the fixture's columns (doc-queries.ts) runs through the
 * engine and gives DuckDB's answer over the fully loaded tables (sorted rows compared).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DOC_QUERIES, ORDERED } from "./doc-queries";
import { canonical, run, useQueryEnvironment } from "./helpers";

describe("SLAF documentation queries", () => {
  const q = useQueryEnvironment({ beforeAll, afterAll });

  for (const [name, sql] of Object.entries(DOC_QUERIES)) {
    it(`${name} equals DuckDB over the whole tables`, async () => {
      const { summary, rows } = await run(q.env, sql);
      const expected = await q.oracle.rows(sql.replace(/;\s*$/, ""));
      expect(summary.rowCount).toBe(expected.length);
      expect(expected.length).toBeGreaterThan(0);
      expect(canonical(rows)).toEqual(canonical(expected));
      if (ORDERED.has(name)) expect(canonical(rows, false)).toEqual(canonical(expected, false));
    });
  }
});
