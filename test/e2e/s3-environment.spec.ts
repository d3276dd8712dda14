/**
 * S3 credentials from the environment, as an ML engineer on a server has them: the app started with AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY, AWS_REGION and AWS_ENDPOINT_URL opens a dataset of the real local S3 server (radosgw)
 * with nothing typed into Settings, and the Settings dialog says the environment's values are used.
 */
import fs from "node:fs/promises";
import os from "node:os";
import { expect, test } from "@playwright/test";
import { formatCount } from "../../shared/format";
import { loadPbmc } from "../fixtures/pbmc";
import { s3Available, s3TestServerIn, stopRunRgw, type S3TestServer } from "../fixtures/s3/rgw-server";
import { useAppServer } from "./app-server";
import { env, openApp, screenshot } from "./helpers";

const PREFIX = "env/pbmc.slaf";
const RGW_START_MS = 200_000;

const run = s3Available();
let runDir: string | null = null;
let s3: S3TestServer;
let bucket: string;

test.skip(!run, "no S3 server (SLAFWB_SKIP_S3=1)");

test.beforeAll(async () => {
  if (!run) return;
  test.setTimeout(RGW_START_MS);
  runDir = await fs.mkdtemp(`${os.tmpdir()}/slafwb-e2e-rgw-`);
  s3 = await s3TestServerIn(() => runDir as string);
  bucket = await s3.bucket();
  await s3.client.uploadDir(env("E2E_PBMC"), bucket, PREFIX);
});

// Registered after the server above is up: its environment names it.
const app = useAppServer([], {
  env: () => ({
    AWS_ACCESS_KEY_ID: s3.account.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.account.secretAccessKey,
    AWS_SESSION_TOKEN: "",
    AWS_REGION: s3.account.region,
    AWS_DEFAULT_REGION: "",
    AWS_ENDPOINT_URL: s3.account.endpoint,
    AWS_ENDPOINT_URL_S3: "",
  }),
});

test.afterAll(async () => {
  await s3?.close();
  if (runDir) {
    await stopRunRgw(runDir);
    await fs.rm(runDir, { recursive: true, force: true });
  }
});

test("opens an S3 dataset with the AWS_* credentials of the environment; Settings says they are used", async ({ page }) => {
  await openApp(page, app.url);
  await page.getByTestId("open-tab-remote").click();
  await page.getByTestId("open-remote").fill(`s3://${bucket}/${PREFIX}`);
  await page.getByTestId("open-remote-button").click();
  await page.getByTestId("nav-overview").click();
  await expect(page.getByTestId("overview-origin").getByTestId("origin-source")).toHaveText("S3");
  await expect(page.getByTestId("fact-n-cells")).toHaveText(formatCount(loadPbmc().nCells));

  await page.getByTestId("open-settings").click();
  const dialog = page.getByTestId("settings-dialog");
  await expect(dialog.getByTestId("s3-env")).toContainText(`access key id ${s3.account.accessKeyId}`);
  await expect(dialog.getByTestId("s3-env")).toContainText(`endpoint ${s3.account.endpoint}`);
  await expect(dialog.getByTestId("s3-env")).not.toContainText(s3.account.secretAccessKey);
  await expect(dialog.getByTestId("s3-access-key")).toBeDisabled();
  await expect(dialog).toContainText("from AWS_SECRET_ACCESS_KEY");
  await screenshot(page, "29-s3-environment-settings");
});
