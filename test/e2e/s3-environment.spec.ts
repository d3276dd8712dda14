/**
 * S3 credentials from the environment, as an ML engineer on a server has them: the app started with AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY, AWS_REGION and AWS_ENDPOINT_URL opens a dataset of the real local S3 server (radosgw)
 * with nothing typed into Settings, and the Settings dialog says the environment's values are used.
 */
import { expect, test } from "@playwright/test";
import { formatCount } from "../../shared/format";
import { loadPbmc } from "../fixtures/pbmc";
import { useAppServer } from "./app-server";
import { openApp, screenshot } from "./helpers";
import { useS3Bucket } from "./s3-bucket";

const store = useS3Bucket("env/pbmc.slaf");

// Registered after the server above is up: its environment names it.
const app = useAppServer([], {
  env: () => ({
    AWS_ACCESS_KEY_ID: store.server.account.accessKeyId,
    AWS_SECRET_ACCESS_KEY: store.server.account.secretAccessKey,
    AWS_SESSION_TOKEN: "",
    AWS_REGION: store.server.account.region,
    AWS_DEFAULT_REGION: "",
    AWS_ENDPOINT_URL: store.server.account.endpoint,
    AWS_ENDPOINT_URL_S3: "",
  }),
});

test("opens an S3 dataset with the AWS_* credentials of the environment; Settings says they are used", async ({ page }) => {
  await openApp(page, app.url);
  await page.getByTestId("open-tab-remote").click();
  await page.getByTestId("open-remote").fill(store.uri);
  await page.getByTestId("open-remote-button").click();
  await page.getByTestId("nav-overview").click();
  await expect(page.getByTestId("overview-origin").getByTestId("origin-source")).toHaveText("S3");
  await expect(page.getByTestId("fact-n-cells")).toHaveText(formatCount(loadPbmc().nCells));

  await page.getByTestId("open-settings").click();
  const dialog = page.getByTestId("settings-dialog");
  await expect(dialog.getByTestId("s3-env")).toContainText(`access key id ${store.server.account.accessKeyId}`);
  await expect(dialog.getByTestId("s3-env")).toContainText(`endpoint ${store.server.account.endpoint}`);
  await expect(dialog.getByTestId("s3-env")).not.toContainText(store.server.account.secretAccessKey);
  await expect(dialog.getByTestId("s3-access-key")).toBeDisabled();
  await expect(dialog).toContainText("from AWS_SECRET_ACCESS_KEY");
  await screenshot(page, "29-s3-environment-settings");
});
