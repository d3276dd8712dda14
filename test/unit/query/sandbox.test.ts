/** The SQL sandbox: notebook SQL reads no file, URL or extension except in allowed folders; export still writes, and asks before replacing. */
import fs from "node:fs/promises";
import path from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { QuerySummary } from "../../../shared/ipc/contract";
import type { AppError } from "../../../shared/result";
import { openEnv, run, runJob, writeFixture, type Env } from "./helpers";
import { unwrap, failure } from "../../fixtures/result";

let fixture: { dir: string; root: string };
let env: Env;
let allowed: string;
let outside: string;

beforeAll(async () => {
  fixture = await writeFixture();
  allowed = path.join(fixture.dir, "allowed");
  outside = path.join(fixture.dir, "outside");
  await fs.mkdir(allowed);
  await fs.mkdir(outside);
  await fs.writeFile(path.join(allowed, "labels.csv"), "cell_type,label\nB,B cells\nNK,natural killers\n");
  await fs.writeFile(path.join(outside, "secret.csv"), "secret\n42\n");
  // A real Parquet file, written by a DuckDB of our own (not the engine's).
  const inst = await DuckDBInstance.create(":memory:");
  const conn = await inst.connect();
  await conn.run(`COPY (SELECT 42 AS secret) TO '${path.join(outside, "secret.parquet")}' (FORMAT parquet)`);
  conn.closeSync();
  inst.closeSync();
  env = await openEnv(fixture, { allowedDirectories: [allowed], memoryLimitBytes: 512 * 1024 ** 2 });
});

afterAll(async () => {
  await env?.close();
  if (fixture) await fs.rm(fixture.dir, { recursive: true, force: true });
});

async function sqlFailure(sql: string): Promise<AppError> {
  const r = await env.query.start({ datasetId: env.datasetId, sql, confirmed: true });
  if (!r.ok) return r.error;
  const end = unwrap(await env.jobs.wait({ jobId: r.value.jobId }));
  if (end.state !== "failed" || !end.error) throw new Error(`expected ${sql} to fail, it ended ${end.state}`);
  return end.error;
}

describe("user SQL cannot reach files, the network or extensions", () => {
  it("refuses every file-reading function outside the allowed folders, saying why and how to allow a folder", async () => {
    const secret = path.join(outside, "secret.csv");
    for (const sql of [
      `SELECT * FROM read_text('${secret}')`,
      `SELECT * FROM read_csv('${secret}')`,
      `SELECT * FROM read_blob('${secret}')`,
      `SELECT * FROM glob('${outside}/*')`,
      `SELECT * FROM read_parquet('${path.join(outside, "secret.parquet")}')`,
      `SELECT * FROM '${secret}'`,
      `SELECT * FROM read_csv('${allowed}/../outside/secret.csv')`,
    ]) {
      const e = await sqlFailure(sql);
      expect(e.code, sql).toBe("QUERY_INVALID");
      expect(e.message, sql).toMatch(
        /^SQL cannot read files \(".*"\): notebooks are shared documents, so file access is off\. To read files in a folder, allow it: .*--allow-dir/,
      );
    }
  });

  it("refuses URLs without trying to download an extension", async () => {
    const e = await sqlFailure("SELECT * FROM read_csv('https://example.com/data.csv')");
    expect(e.code).toBe("QUERY_INVALID");
    expect(e.message).toMatch(/^SQL cannot read URLs \("https:\/\/example\.com\/data\.csv"\)/);
  });

  it("refuses statements that install, load, attach or change settings", async () => {
    for (const sql of [
      "INSTALL httpfs",
      "LOAD httpfs",
      "SET enable_external_access = true",
      "SET lock_configuration = false",
      `ATTACH '${path.join(outside, "x.db")}'`,
      "PRAGMA enable_external_access",
    ]) {
      const e = failure(await env.query.start({ datasetId: env.datasetId, sql }));
      expect(e.code, sql).toBe("QUERY_INVALID");
    }
  });

  it("locks the database's configuration itself, whatever a statement tries", async () => {
    const conn = await env.query.engine.connect();
    try {
      const settings = await conn.runAndReadAll(
        "SELECT current_setting('enable_external_access'), current_setting('lock_configuration'), current_setting('autoinstall_known_extensions'), current_setting('autoload_known_extensions'), current_setting('allow_community_extensions'), current_setting('memory_limit')",
      );
      expect(settings.getRowsJS()).toEqual([[false, true, false, false, false, "512.0 MiB"]]);
      for (const sql of [
        "SET enable_external_access = true",
        "SET lock_configuration = false",
        "RESET lock_configuration",
        "SET memory_limit = '100GB'",
        `SET allowed_directories = ['/']`,
        "INSTALL httpfs",
        "LOAD httpfs",
        `ATTACH '${path.join(outside, "x.db")}'`,
      ]) {
        await expect(conn.run(sql), sql).rejects.toThrow(/locked|Permission Error|disabled/);
      }
      await expect(conn.run(`COPY (SELECT 1) TO '${path.join(outside, "written.csv")}'`)).rejects.toThrow(/Permission Error/);
      expect(await fs.readdir(outside)).toEqual(["secret.csv", "secret.parquet"]);
    } finally {
      conn.closeSync();
    }
  });

  it("joins a CSV file from an allowed folder", async () => {
    const { rows } = await run(
      env,
      `SELECT l.label, COUNT(*) AS n FROM cells c JOIN read_csv('${path.join(allowed, "labels.csv")}') l USING (cell_type) GROUP BY 1 ORDER BY 1`,
    );
    expect(rows).toEqual([
      ["B cells", 20],
      ["natural killers", 20],
    ]);
  });
});

describe("export", () => {
  let summary: QuerySummary;
  beforeAll(async () => {
    summary = (await run(env, "SELECT cell_type, COUNT(*) AS n FROM cells GROUP BY 1 ORDER BY 1")).summary;
  });

  it("writes CSV and Parquet while user SQL can write nothing", async () => {
    const out = path.join(fixture.dir, "out");
    await fs.mkdir(out);
    const csv = unwrap(await env.query.export({ resultId: summary.resultId, format: "csv", path: path.join(out, "types.csv") }));
    expect((await fs.readFile(csv.path, "utf8")).split("\n")[0]).toBe("cell_type,n");
    const pq = unwrap(await env.query.export({ resultId: summary.resultId, format: "parquet", path: path.join(out, "types.parquet") }));
    expect(pq.bytes).toBe((await fs.stat(pq.path)).size);
    expect((await fs.readdir(out)).sort()).toEqual(["types.csv", "types.parquet"]);
  });

  it("leaves nothing in the staging folder that user SQL could read afterwards", async () => {
    const { stagingDir } = await env.query.engine.sandbox();
    unwrap(await env.query.export({ resultId: summary.resultId, format: "csv", path: path.join(fixture.dir, "staged-check.csv") }));
    expect(await fs.readdir(stagingDir)).toEqual([]);
    // The staging folder is allowed (COPY writes there), yet holds nothing once an export ends.
    expect((await run(env, `SELECT count(*) FROM glob('${stagingDir}/*')`)).rows).toEqual([[0]]);
    const gone = (await runJob(env, `SELECT * FROM read_csv('${stagingDir}/*.csv')`)).error;
    expect(gone?.code).toBe("QUERY_INVALID");
    expect(gone?.message).toMatch(/No files found/);
  });

  it("refuses to replace an existing file unless asked, naming it", async () => {
    const target = path.join(fixture.dir, "existing.csv");
    await fs.writeFile(target, "keep me\n");
    const e = failure(await env.query.export({ resultId: summary.resultId, format: "csv", path: target }));
    expect(e.code).toBe("EXPORT_TARGET_EXISTS");
    expect(e.path).toBe(target);
    expect(e.message).toContain(target);
    expect(await fs.readFile(target, "utf8")).toBe("keep me\n");
    unwrap(await env.query.export({ resultId: summary.resultId, format: "csv", path: target, overwrite: true }));
    expect((await fs.readFile(target, "utf8")).split("\n")[0]).toBe("cell_type,n");
    expect((await fs.readdir(fixture.dir)).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });

  it("replaces a link itself, never the file it points to", async () => {
    const pointee = path.join(fixture.dir, "pointee.csv");
    const link = path.join(fixture.dir, "link.csv");
    await fs.writeFile(pointee, "untouched\n");
    await fs.symlink(pointee, link);
    expect(failure(await env.query.export({ resultId: summary.resultId, format: "csv", path: link })).code).toBe("EXPORT_TARGET_EXISTS");
    unwrap(await env.query.export({ resultId: summary.resultId, format: "csv", path: link, overwrite: true }));
    expect(await fs.readFile(pointee, "utf8")).toBe("untouched\n");
    expect((await fs.lstat(link)).isSymbolicLink()).toBe(false);
  });
});
