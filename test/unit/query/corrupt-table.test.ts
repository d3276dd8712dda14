/**
 * A damaged Lance table fails a query as TABLE_CORRUPT naming the table, and is not read again without the filter;
 * appended or streamed.
 */
import fs from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openEnv, run, runJob, writeFixture, type Env } from "./helpers";

let fixture: { dir: string; root: string };
let env: Env;
/** The same, streaming expression into the query (stream-function.ts) however small it is. */
let streamed: Env;

beforeAll(async () => {
  // A fixture of this file's own: its expression table is damaged below.
  fixture = await writeFixture();
  env = await openEnv(fixture);
  streamed = await openEnv(fixture, { streamMinRows: 0 });
  const data = path.join(fixture.root, "expression.lance", "data");
  for (const name of await fs.readdir(data)) {
    const file = path.join(data, name);
    await fs.truncate(file, Math.floor((await fs.stat(file)).size / 2));
  }
});

afterAll(async () => {
  await env?.close();
  await streamed?.close();
  if (fixture) await fs.rm(fixture.dir, { recursive: true, force: true });
});

describe("a truncated data file", () => {
  it("fails the query as TABLE_CORRUPT naming the table, with or without a pushed filter", async () => {
    const queries = ["SELECT SUM(value) FROM expression", "SELECT SUM(value) FROM expression WHERE value > 5"];
    for (const [sql, e] of queries.flatMap((x) => [[x, env] as const, [x, streamed] as const])) {
      const end = await runJob(e, sql);
      expect(end.state, sql).toBe("failed");
      expect(end.error?.code, sql).toBe("TABLE_CORRUPT");
      expect(end.error?.message, sql).toMatch(/^Table "expression" .*is damaged/);
      expect(end.error?.message, sql).not.toMatch(/rustc|\.rs:\d/);
    }
  });

  it("leaves the other tables readable", async () => {
    expect((await run(env, "SELECT COUNT(*) FROM cells")).rows).toEqual([[160]]);
  });
});
