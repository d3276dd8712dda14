/** Result pages capped by bytes as well as rows, and the memory budget of unreleased results (least recently used go first). */
import fs from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_PAGE_BYTES } from "../../../shared/ipc/contract";
import { arrow } from "../../../main/services/arrow";
import { ResultStore } from "../../../main/services/query/results";
import { openEnv, run, writeFixture, type Env } from "./helpers";
import { unwrap, failure } from "../../fixtures/result";

let fixture: { dir: string; root: string };

beforeAll(async () => {
  fixture = await writeFixture();
});

afterAll(async () => {
  if (fixture) await fs.rm(fixture.dir, { recursive: true, force: true });
});

async function withEnv(options: Parameters<typeof openEnv>[1], body: (env: Env) => Promise<void>): Promise<void> {
  const env = await openEnv(fixture, options);
  try {
    await body(env);
  } finally {
    await env.close();
  }
}

describe("pages are capped by bytes", () => {
  it("returns fewer rows when rows are wide, at the default cap", async () => {
    await withEnv({}, async (env) => {
      // 100 rows of 200 KB strings: 20 MB asked for in one page.
      const { summary } = await run(env, "SELECT i, repeat('x', 204800) AS s FROM range(100) t(i)");
      const page = unwrap(await env.query.page({ resultId: summary.resultId, offset: 0, limit: 100 }));
      expect(page.numRows).toBe(Math.floor(MAX_PAGE_BYTES / (204800 + 4 + 8)));
      expect(page.arrow.byteLength).toBeLessThan(MAX_PAGE_BYTES + 204800 * 2);
      const t = arrow.tableFromIPC(page.arrow);
      expect(t.numRows).toBe(page.numRows);
      expect(t.getChild("s")!.get(0)).toHaveLength(204800);
      expect(page.totalRows).toBe(100);
    });
  });

  it("pages on from where the last page stopped, and sends a row larger than the cap alone and whole", async () => {
    await withEnv({ maxPageBytes: 64 * 1024 }, async (env) => {
      const { summary, rows } = await run(
        env,
        "SELECT i, CASE WHEN i = 7 THEN repeat('y', 100000) ELSE repeat('x', 10000) END AS s FROM range(20) t(i) ORDER BY i",
      );
      expect(rows.map((r) => r[0])).toEqual(Array.from({ length: 20 }, (_, i) => i));
      const first = unwrap(await env.query.page({ resultId: summary.resultId, offset: 0, limit: 20 }));
      expect(first.numRows).toBe(6); // 64 KiB / (8 + 10,004 bytes) rows
      const huge = unwrap(await env.query.page({ resultId: summary.resultId, offset: 7, limit: 20 }));
      expect(huge.numRows).toBe(1);
      expect(arrow.tableFromIPC(huge.arrow).getChild("s")!.get(0)).toHaveLength(100000);
    });
  });

  it("caps fixed-width rows too (wide arrays)", async () => {
    await withEnv({ maxPageBytes: 64 * 1024 }, async (env) => {
      const { summary } = await run(env, "SELECT range(1000)::BIGINT[1000] AS v FROM range(50)");
      const page = unwrap(await env.query.page({ resultId: summary.resultId, offset: 0, limit: 50 }));
      expect(page.numRows).toBe(8); // 64 KiB / 8,000 bytes
    });
  });
});

describe("unreleased results keep within a memory budget", () => {
  // Each result: 100 rows of a 1,000-byte string (+4 bytes of offset) = 100,400 bytes estimated.
  const SQL = "SELECT repeat('a', 1000) AS s FROM range(100)";

  it("evicts the least recently used result first, named results last, and says why a result is gone", async () => {
    await withEnv({ resultBudgetBytes: 350_000 }, async (env) => {
      const kept = (await run(env, SQL, { name: "kept" })).summary;
      const older = (await run(env, SQL)).summary;
      const old = (await run(env, SQL)).summary;
      unwrap(await env.query.page({ resultId: older.resultId, offset: 0, limit: 1 })); // used more recently than `old`
      const newest = (await run(env, SQL)).summary;

      const gone = failure(await env.query.page({ resultId: old.resultId, offset: 0, limit: 1 }));
      expect(gone.code).toBe("RESULT_NOT_FOUND");
      expect(gone.message).toMatch(new RegExp(`^Result ${old.resultId} was evicted to keep query results within memory .*; run its cell again$`));
      for (const r of [kept, older, newest]) expect(unwrap(await env.query.page({ resultId: r.resultId, offset: 0, limit: 1 })).numRows).toBe(1);
      const conn = await env.query.engine.connect();
      try {
        const tables = (await conn.runAndReadAll("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'results' ORDER BY 1")).getRowsJS().flat();
        expect(tables).toEqual([kept, older, newest].map((r) => r.resultId).sort());
      } finally {
        conn.closeSync();
      }

      // Another: the least recently used unnamed result goes; the named one stays, though used longer ago.
      await run(env, SQL);
      expect(failure(await env.query.page({ resultId: older.resultId, offset: 0, limit: 1 })).code).toBe("RESULT_NOT_FOUND");
      expect(unwrap(await env.query.page({ resultId: kept.resultId, offset: 0, limit: 1 })).numRows).toBe(1);
      // A result over the whole budget on its own: every other goes, the named one too, and a query naming it is told why.
      await run(env, "SELECT repeat('a', 1000) AS s FROM range(400)");
      const named = failure(await env.query.start({ datasetId: env.datasetId, sql: "SELECT COUNT(*) FROM kept" }));
      expect(named.code).toBe("RESULT_NOT_FOUND");
      expect(named.message).toMatch(/^Result "kept" was evicted to keep query results within memory/);

      // Running the named cell again brings it back.
      await run(env, SQL, { name: "kept" });
      expect((await run(env, "SELECT COUNT(*) FROM kept")).rows).toEqual([[100]]);
    });
  });

  it("never evicts a result in use (read by a running query, or being paged or exported)", async () => {
    const store = new ResultStore(250);
    const add = (bytes = 100, name: string | null = null) => {
      const { id, table } = store.allocate();
      const dropped = store.add({ id, table, datasetId: "d", name, columns: [], rowCount: 100, bytes, sizing: { fixed: 1, variable: null } });
      if (name) store.setName("d", name, id);
      return dropped;
    };
    add(100, "src"); // r1
    const held = store.holdNamed("d", ["src"]);
    expect(held.tables).toEqual(new Map([["src", "r1"]]));
    add(); // r2
    expect(add()).toEqual(["r2"]); // r3: r2 goes; src is held, though used least recently
    expect(add()).toEqual(["r3"]);
    held.release();
    expect(add()).toEqual(["r4"]); // r5: unnamed before named
    expect(add(300)).toEqual(["r5", "r1"]); // r6, over the budget alone: every other goes, the named one last
    expect(() => store.holdNamed("d", ["src"])).toThrow(/"src" was evicted/);
    await store.use("r6", async () => expect(add()).toEqual([])); // r7: r6 is being paged
  });
});
