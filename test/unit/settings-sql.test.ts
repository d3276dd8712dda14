/** settings.json reaches the SQL engine: folders it allows can be read from SQL, others are refused with the way to allow them. */
import fs from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { JobEvent } from "../../shared/ipc/contract";
import type { Services } from "../../main/services/index";
import { testServices } from "../fixtures/services";
import { loadSettings, settingsPath } from "../../main/services/settings";
import { tempDir, writePbmcSlaf } from "../fixtures/slaf-fixture";
import { unwrap } from "../fixtures/result";

let dir: string;
let allowed: string;
let other: string;
let services: Services;
let datasetId: string;

beforeAll(async () => {
  dir = await tempDir("slafwb-settings-sql-");
  const root = path.join(dir, "pbmc.slaf");
  await writePbmcSlaf(root);
  allowed = path.join(dir, "mine");
  other = path.join(dir, "other");
  await fs.mkdir(allowed);
  await fs.mkdir(other);
  await fs.writeFile(path.join(allowed, "labels.csv"), "cell_type,label\nB,b cells\nNK,natural killers\n");
  await fs.writeFile(path.join(other, "secret.csv"), "x\n1\n");
  const userDataDir = path.join(dir, "user");
  await fs.mkdir(userDataDir);
  await fs.writeFile(settingsPath(userDataDir), JSON.stringify({ sql: { allowedDirectories: [allowed] } }));
  const { settings, warnings } = await loadSettings(userDataDir);
  expect(warnings).toEqual([]);
  services = testServices(userDataDir, { settings });
  datasetId = unwrap(await services.api.datasets.open({ uri: root })).datasetId;
});
afterAll(async () => {
  await services.dispose();
  await fs.rm(dir, { recursive: true, force: true });
});

async function runSql(sql: string): Promise<JobEvent> {
  const started = await services.api.query.start({ datasetId, sql, confirmed: true });
  if (!started.ok)
    return {
      jobId: "",
      kind: "query",
      state: "failed",
      progress: { done: 0, total: null, unit: "rows", ratePerSecond: null, etaSeconds: null },
      startedAt: 0,
      error: started.error,
    };
  return unwrap(await services.api.jobs.wait({ jobId: started.value.jobId }));
}

describe("SQL file access from settings.json", () => {
  it("joins a CSV from an allowed folder", async () => {
    const end = await runSql(
      `SELECT c.cell_type, l.label, count(*) AS n FROM cells c JOIN read_csv('${path.join(allowed, "labels.csv")}') l USING (cell_type) GROUP BY 1, 2 ORDER BY 1`,
    );
    expect(end.state).toBe("done");
    expect(end.kind === "query" && end.result?.rowCount).toBe(2);
  });

  it("refuses a file elsewhere, saying which settings file allows folders", async () => {
    const end = await runSql(`SELECT * FROM read_csv('${path.join(other, "secret.csv")}')`);
    expect(end.state).toBe("failed");
    expect(end.error?.code).toBe("QUERY_INVALID");
    expect(end.error?.message).toContain(settingsPath(path.join(dir, "user")));
  });
});
