/**
 * s3:// datasets through the app's own services: credentials from Settings (the secret write-only), opened via the
 * gateway from the real local S3 server (radosgw), queried with the same results as the local copy, then offline.
 */
import fs from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatasetSummary, JobEvent, QuerySummary } from "../../../shared/ipc/contract";
import type { Services } from "../../../main/services/index";
import { decodeRows } from "../../../main/commands/query";
import { failure, unwrap } from "../../fixtures/result";
import { s3Available, s3TestServer, type S3TestServer } from "../../fixtures/s3/rgw";
import { testServices } from "../../fixtures/services";
import { tempDir, writePbmcSlaf } from "../../fixtures/slaf-fixture";

const run = s3Available();
let dir: string;
let s3: S3TestServer;
let bucket: string;
let services: Services;
let local: DatasetSummary;

const SQL = "SELECT c.cell_type, count(*) AS n, sum(e.value) AS total FROM expression e JOIN cells c USING (cell_integer_id) GROUP BY 1 ORDER BY 1";

beforeAll(async () => {
  if (!run) return;
  dir = await tempDir("slafwb-s3-services-");
  const root = path.join(dir, "pbmc.slaf");
  await writePbmcSlaf(root, { cellsPerChunk: 50 });
  s3 = await s3TestServer();
  bucket = await s3.bucket();
  await s3.client.uploadDir(root, bucket, "atlas/pbmc.slaf");
  // AWS_* set after the app read its environment: Lance's own S3 client would pick them up (a session token and an
  // endpoint the gateway never signed for) unless the gateway takes them out of its way.
  process.env.AWS_SESSION_TOKEN = "not-for-lance";
  process.env.AWS_ENDPOINT_URL = "http://127.0.0.1:9";
  services = testServices(path.join(dir, "user"));
  local = unwrap(await services.api.datasets.open({ uri: root }));
});
afterAll(async () => {
  delete process.env.AWS_SESSION_TOKEN;
  delete process.env.AWS_ENDPOINT_URL;
  await services?.dispose();
  await s3?.close();
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

async function rows(datasetId: string, sql: string): Promise<unknown[][]> {
  const { jobId } = unwrap(await services.api.query.start({ datasetId, sql, confirmed: true }));
  const end = unwrap(await services.api.jobs.wait({ jobId })) as JobEvent;
  if (end.state !== "done") throw new Error(`${end.state}: ${end.error?.code} ${end.error?.message}`);
  return decodeRows(unwrap(await services.api.query.page({ resultId: (end.result as QuerySummary).resultId, offset: 0, limit: 1000 })).arrow);
}

describe.runIf(run)("s3:// datasets", () => {
  it("needs credentials for a private bucket, and names the refusal", async () => {
    unwrap(await services.api.settings.set({ s3: { region: s3.account.region, endpoint: s3.account.endpoint, pathStyle: true } }));
    expect(failure(await services.api.datasets.open({ uri: `s3://${bucket}/atlas/pbmc.slaf` })).code).toBe("AUTH_REQUIRED");
    unwrap(await services.api.settings.set({ s3: { accessKeyId: s3.account.accessKeyId, secretAccessKey: "not-the-secret" } }));
    expect(failure(await services.api.datasets.open({ uri: `s3://${bucket}/atlas/pbmc.slaf` })).code).toBe("AUTH_INVALID");
  });

  it("opens with the credentials from Settings and answers like the local copy, then offline", async () => {
    unwrap(
      await services.api.settings.set({
        s3: {
          accessKeyId: s3.account.accessKeyId,
          secretAccessKey: s3.account.secretAccessKey,
          region: s3.account.region,
          endpoint: s3.account.endpoint,
          pathStyle: true,
        },
      }),
    );
    const remote = unwrap(await services.api.datasets.open({ uri: `s3://${bucket}/atlas/pbmc.slaf` }));
    expect(Object.keys(process.env).filter((k) => k.startsWith("AWS_"))).toEqual([]);
    expect(remote).toMatchObject({ source: "s3", name: "pbmc", revision: null });
    expect(remote.tables.map((t) => [t.name, t.rows])).toEqual(local.tables.map((t) => [t.name, t.rows]));
    expect(await rows(remote.datasetId, SQL)).toEqual(await rows(local.datasetId, SQL));
    const status = unwrap(await services.api.sources.status({}));
    expect(status.counters.map((c) => c.source)).toContain("s3");
    unwrap(await services.api.sources.setOffline({ offline: true }));
    expect(await rows(remote.datasetId, SQL)).toEqual(await rows(local.datasetId, SQL));
    unwrap(await services.api.sources.setOffline({ offline: false }));
    expect(JSON.stringify(unwrap(await services.api.settings.get({})))).not.toContain(s3.account.secretAccessKey);
  });

  it("a prefix with no dataset is DATASET_NOT_FOUND", async () => {
    expect(failure(await services.api.datasets.open({ uri: `s3://${bucket}/nothing-here.slaf` })).code).toBe("DATASET_NOT_FOUND");
  });
});
