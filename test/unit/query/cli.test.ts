/** `slaf-workbench query`: the command function, and the built CLI spawned for exit codes and stderr. */
import { spawnSync } from "node:child_process";
import fs from "node:fs/promises";
import path from "node:path";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AppFailure } from "../../../shared/result";
import { UsageError } from "../../../main/commands/args";
import { queryCommand } from "../../../main/commands/query";
import { PROJECT_ROOT } from "../../fixtures/pbmc";
import { writeFixture } from "./helpers";

let fixture: { dir: string; root: string };
let cliDir: string;
let cli: string;

beforeAll(async () => {
  fixture = await writeFixture();
  // Built next to node_modules so the bundle's external packages resolve; removed afterwards.
  cliDir = path.join(PROJECT_ROOT, "node_modules", ".cache", `slafwb-cli-test-${process.pid}`);
  cli = path.join(cliDir, "cli.mjs");
  await build({
    absWorkingDir: PROJECT_ROOT,
    entryPoints: ["main/cli.ts"],
    outfile: cli,
    bundle: true,
    platform: "node",
    target: "node20",
    format: "esm",
    packages: "external",
    define: { __APP_VERSION__: '"test"' },
    logLevel: "silent",
  });
});
afterAll(async () => {
  await fs.rm(cliDir, { recursive: true, force: true });
  await fs.rm(fixture.dir, { recursive: true, force: true });
});

async function capture(argv: string[]): Promise<string> {
  let out = "";
  await queryCommand(argv, { out: (t) => (out += t) });
  return out;
}

const SQL = "SELECT cell_type, COUNT(*) AS n, MIN(nFeature_RNA) AS lo FROM cells WHERE cell_type IN ('B', 'NK', 'DC') GROUP BY 1 ORDER BY 1";

describe("query command", () => {
  it("prints CSV", async () => {
    const out = await capture([fixture.root, SQL, "--format", "csv"]);
    expect(out).toBe("cell_type,n,lo\nB,20,412\nDC,20,751\nNK,20,604\n");
  });

  it("prints JSON and honours --limit", async () => {
    const out = await capture([fixture.root, SQL, "--format=json", "--limit", "2"]);
    const rows = JSON.parse(out) as { cell_type: string; n: number }[];
    expect(rows).toEqual([expect.objectContaining({ cell_type: "B", n: 20 }), expect.objectContaining({ cell_type: "DC", n: 20 })]);
  });

  it("prints a table with the row count and what was scanned", async () => {
    const out = await capture([fixture.root, SQL]);
    expect(out.split("\n")[0]).toMatch(/^cell_type\s+n\s+lo$/);
    expect(out).toContain("3 rows");
    expect(out).toContain("scanned cells 60/160 rows");
  });

  it("says when rows were aggregated before the engine saw them", async () => {
    const sql = "SELECT c.cell_type, SUM(e.value) AS total FROM expression e JOIN cells c ON c.cell_integer_id = e.cell_integer_id GROUP BY 1 ORDER BY 1";
    const out = await capture([fixture.root, sql]);
    expect(out).toContain("8 rows");
    expect(out).toMatch(/scanned [^\n]*expression [\d,]+\/[\d,]+ rows \([\d,]+ appended, pre-aggregated\)/);
  });

  it("throws QUERY_INVALID with the position for a bad query", async () => {
    const e = await capture([fixture.root, "SELECT nope FROM cells"]).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(AppFailure);
    expect((e as AppFailure).appError.code).toBe("QUERY_INVALID");
    expect((e as AppFailure).message).toMatch(/Unknown column "nope".*line 1, column 8/);
    // A column a table does not have, asked for through its alias: named as written, not as the alias.
    const aliased = await capture([fixture.root, "SELECT c.nope FROM expression e JOIN cells c USING (cell_integer_id)"]).catch((x: unknown) => x);
    expect((aliased as AppFailure).message).toMatch(/^Unknown column "c\.nope"\. Columns available — .*cells: /);
  });
});

describe("query --out and --allow-dir", () => {
  it("writes CSV or Parquet by the file's extension, and refuses an existing file without --force", async () => {
    const csv = path.join(fixture.dir, "cli-out.csv");
    expect(await capture([fixture.root, SQL, "--out", csv])).toMatch(/^Wrote 3 rows to .*cli-out\.csv \(\d+ B\)\n$/);
    expect(await fs.readFile(csv, "utf8")).toBe("cell_type,n,lo\nB,20,412.0\nDC,20,751.0\nNK,20,604.0\n");
    const e = await capture([fixture.root, "SELECT 1 AS x", "--out", csv]).catch((x: unknown) => x);
    expect((e as AppFailure).appError.code).toBe("EXPORT_TARGET_EXISTS");
    expect((e as AppFailure).message).toContain(csv);
    expect(await fs.readFile(csv, "utf8")).toMatch(/^cell_type,n,lo\n/);
    await capture([fixture.root, "SELECT 1 AS x", "--out", csv, "--force"]);
    expect(await fs.readFile(csv, "utf8")).toBe("x\n1\n");
    const parquet = path.join(fixture.dir, "cli-out.parquet");
    await capture([fixture.root, SQL, `--out=${parquet}`]);
    expect((await fs.readFile(parquet)).subarray(0, 4).toString()).toBe("PAR1");
    await expect(capture([fixture.root, SQL, "--out", path.join(fixture.dir, "x.txt")])).rejects.toThrow(UsageError);
    await expect(capture([fixture.root, SQL, "--force"])).rejects.toThrow(UsageError);
  });

  it("reads files only in folders given with --allow-dir (repeatable)", async () => {
    const a = path.join(fixture.dir, "dir-a");
    const b = path.join(fixture.dir, "dir-b");
    await fs.mkdir(a, { recursive: true });
    await fs.mkdir(b, { recursive: true });
    await fs.writeFile(path.join(a, "a.csv"), "k\n1\n");
    await fs.writeFile(path.join(b, "b.csv"), "k\n2\n");
    const sql = `SELECT k FROM read_csv('${a}/a.csv') UNION ALL SELECT k FROM read_csv('${b}/b.csv') ORDER BY 1`;
    const refused = await capture([fixture.root, sql, "--format", "csv"]).catch((x: unknown) => x);
    expect((refused as AppFailure).appError.code).toBe("QUERY_INVALID");
    expect((refused as AppFailure).message).toMatch(/^SQL cannot read files/);
    expect(await capture([fixture.root, sql, "--format", "csv", "--allow-dir", a, `--allow-dir=${b}`])).toBe("k\n1\n2\n");
    await expect(capture([fixture.root, sql, "--allow-dir", path.join(fixture.dir, "absent")])).rejects.toThrow(UsageError);
  });
});

describe("built CLI", () => {
  it("answers on stdout and exits 0", () => {
    const r = spawnSync(process.execPath, [cli, "query", fixture.root, "SELECT COUNT(*) AS n FROM expression WHERE value > 100", "--format", "csv"], {
      encoding: "utf8",
    });
    expect(r.status).toBe(0);
    expect(r.stdout.trim().split("\n")[0]).toBe("n");
    expect(Number(r.stdout.trim().split("\n")[1])).toBeGreaterThan(0);
  });

  it("exits 1 with CODE: message on error", () => {
    const r = spawnSync(process.execPath, [cli, "query", fixture.root, "SELECT * FROM nowhere"], { encoding: "utf8" });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^QUERY_INVALID: Unknown table "nowhere"/);
    const missing = spawnSync(process.execPath, [cli, "query", path.join(fixture.dir, "absent.slaf"), "SELECT 1"], { encoding: "utf8" });
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/^DATASET_NOT_FOUND: /);
  });
});
