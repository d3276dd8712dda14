/**
 * A dataset in an S3-compatible bucket, as a user opens it: the PBMC fixture uploaded to the real local S3 server
 * (radosgw, or SLAFWB_TEST_S3_ENDPOINT's), the S3 settings typed into the Settings dialog, opened from the Remote
 * tab, its starter notebook run online and again offline with the same results, with the counters of S3 in the
 * status bar, and a table of it pinned in the Cache panel; a wrong secret is named as refused credentials.
 */
import { expect, test, type Page } from "@playwright/test";
import { formatCount } from "../../shared/format";
import { loadPbmc } from "../fixtures/pbmc";
import { useAppServer } from "./app-server";
import { openApp, screenshot } from "./helpers";
import { runAll } from "./notebook-helpers";
import { useS3Bucket } from "./s3-bucket";

const store = useS3Bucket("atlas/pbmc.slaf");

// AWS_* in the environment would win over the keys this spec types into Settings.
const app = useAppServer([], {
  env: {
    AWS_ACCESS_KEY_ID: "",
    AWS_SECRET_ACCESS_KEY: "",
    AWS_SESSION_TOKEN: "",
    AWS_REGION: "",
    AWS_DEFAULT_REGION: "",
    AWS_ENDPOINT_URL: "",
    AWS_ENDPOINT_URL_S3: "",
  },
});

/** Types the S3 settings into the Settings dialog and saves them. */
async function saveS3Settings(page: Page, secret: string): Promise<void> {
  await page.getByTestId("open-settings").click();
  const dialog = page.getByTestId("settings-dialog");
  await expect(dialog).toBeVisible();
  await dialog.getByTestId("s3-access-key").fill(store.server.account.accessKeyId);
  await dialog.getByTestId("s3-secret-input").fill(secret);
  await dialog.getByTestId("s3-region").fill(store.server.account.region);
  await dialog.getByTestId("s3-endpoint").fill(store.server.account.endpoint);
  await dialog.getByTestId("s3-addressing").selectOption("path");
  await dialog.getByTestId("settings-save").click();
  await expect(dialog.getByTestId("settings-saved")).toBeVisible();
  await expect(dialog.getByTestId("s3-secret-state")).toHaveText("set");
  await page.keyboard.press("Escape");
  await expect(dialog).toBeHidden();
}

async function openRemote(page: Page, address: string): Promise<void> {
  await page.getByTestId("open-tab-remote").click();
  await page.getByTestId("open-remote").fill(address);
  await page.getByTestId("open-remote-button").click();
}

/**
 * Runs every cell of the open notebook and returns what each SQL cell shows: its row count and the rows in view
 * (as a set: the starter's cell types all have 20 cells, so their order is not fixed). As in remote.spec.ts.
 */

test("a wrong secret is named as refused credentials", async ({ page }) => {
  await openApp(page, app.url);
  await saveS3Settings(page, "not-the-secret");
  await openRemote(page, store.uri);
  const error = page.getByTestId("error");
  await expect(error).toHaveAttribute("data-error-code", "AUTH_INVALID");
  await expect(error).toContainText("The credentials were refused");
  await expect(error).toContainText(`S3 at ${new URL(store.server.account.endpoint).host} refused the credentials`);
  await expect(error).toContainText("Check the S3 access key and secret");
  await screenshot(page, "25-s3-wrong-secret");
});

test("open a dataset from S3 with the keys from Settings, run the starter online and offline", async ({ page }) => {
  await openApp(page, app.url);
  await saveS3Settings(page, store.server.account.secretAccessKey);
  await openRemote(page, store.uri);
  await page.getByTestId("nav-overview").click(); // it opens on Explore (it has an embedding)

  // Where it comes from: S3, the bucket, and the tables with the rows the fixture wrote.
  const origin = page.getByTestId("overview-origin");
  await expect(origin).toBeVisible();
  await expect(origin.getByTestId("origin-source")).toHaveText("S3");
  await expect(origin.getByTestId("origin-where")).toHaveText(store.bucket);
  await expect(page.getByTestId("overview-uri")).toHaveText(store.uri);
  const pbmc = loadPbmc();
  const expressionRows = pbmc.cells.reduce((n, c) => n + c.genes.length, 0);
  await expect(page.getByTestId("fact-n-cells")).toHaveText(formatCount(pbmc.nCells));
  const rowsOf = (table: string) => page.getByTestId(`summary-${table}`).locator("td").nth(1);
  await expect(rowsOf("cells")).toHaveText(formatCount(pbmc.nCells));
  await expect(rowsOf("genes")).toHaveText(formatCount(pbmc.nGenes));
  await expect(rowsOf("expression")).toHaveText(formatCount(expressionRows));
  await expect(page.getByTestId("sidebar-source")).toHaveText("S3");
  await expect(page.getByTestId("offline-switch")).toHaveAttribute("aria-checked", "false");
  await expect(page.getByTestId("source-counters")).toBeVisible();
  await screenshot(page, "26-s3-overview");

  // The starter notebook, online: the data comes from the bucket.
  await page.getByTestId("open-notebook").click();
  await expect(page.getByTestId("sql-cell").first()).toBeVisible();
  const online = await runAll(page);
  expect(online.join("\n")).toContain("8 rows");
  await expect(page.getByTestId("counter-requests")).not.toHaveText(/^0 requests/);

  // Offline: the same results from the local cache.
  await page.getByTestId("offline-switch").click();
  await expect(page.getByTestId("offline-switch")).toHaveAttribute("aria-checked", "true");
  await expect(page.getByTestId("offline-switch")).toContainText("Offline · cache only");
  const offline = await runAll(page);
  expect(offline).toEqual(online);

  // The counters: S3 in the status bar, and its row in the popover.
  await expect(page.getByTestId("source-counters")).toContainText("S3");
  await expect(page.getByTestId("counter-hits")).not.toHaveText(/^(—|0%) from cache/);
  await page.getByTestId("source-counters").click();
  const details = page.getByTestId("source-counters-popover");
  await expect(details).toBeVisible();
  await expect(details).toContainText("Offline: cache only");
  await expect(details).toContainText(new URL(store.server.account.endpoint).host);
  await expect(details.getByTestId("detail-requests-s3")).toHaveText(/^[1-9][\d,]* /);
  await screenshot(page, "27-s3-counters");
  await page.keyboard.press("Escape");
  await expect(details).toBeHidden();

  await page.getByTestId("offline-switch").click();
  await expect(page.getByTestId("offline-switch")).toHaveAttribute("aria-checked", "false");

  // Pin the cells table of the S3 dataset in the Cache panel: listed under the bucket, marked pinned; unpinned again.
  await page.getByTestId("nav-cache").click();
  const panel = page.getByTestId("cache-panel");
  await expect(panel.getByTestId("cache-pin")).toContainText("as it is in the bucket now");
  await panel.getByTestId("cache-pin-table").selectOption("cells");
  await panel.getByTestId("cache-pin-start").click();
  await expect(panel.getByTestId("cache-notice")).toContainText("Pinned cells", { timeout: 60_000 });
  await expect(panel.getByTestId("cache-table-cells").getByTestId("pinned-mark")).toBeVisible();
  await expect(panel.getByTestId("cache-pin-item")).toHaveCount(1);
  await expect(panel.getByTestId("cache-pin-item")).toContainText(store.uri);
  await screenshot(page, "28-s3-pinned");
  await panel.getByTestId("cache-table-cells").getByTestId("cache-unpin").click();
  await expect(panel.getByTestId("cache-notice")).toContainText("Unpinned cells");
  await expect(panel.getByTestId("cache-pin-item")).toHaveCount(0);
});
