/**
 * A dataset on the Hugging Face Hub, as a user opens it: the PBMC demo uploaded to a fake Hub on loopback, the app's
 * server pointed at it with HF_ENDPOINT, opened from the Remote tab, its starter notebook run online and again
 * offline (same results, no data request reaches the Hub), with the gateway's counters in the status bar.
 */
import { expect, test, type Page } from "@playwright/test";
import { publishDataset, startFakeHub, type FakeHub } from "../fixtures/fake-hub";
import { useAppServer } from "./app-server";
import { env, openApp, screenshot } from "./helpers";
import { runAll } from "./notebook-helpers";

const REPO = "acme/pbmc";
const URI = `hf://datasets/${REPO}/pbmc.slaf@main`;

let hub: FakeHub;
let sha: string;

test.beforeAll(async () => {
  hub = await startFakeHub();
  sha = await publishDataset(hub, REPO, env("E2E_PBMC"));
  await hub.createRepo("acme/gated", { gated: true });
  await hub.commit("acme/gated");
});

// No token from the developer's environment: the fake Hub serves the repo anonymously.
const app = useAppServer([], { env: () => ({ HF_ENDPOINT: hub.url, HF_TOKEN: "", HUGGING_FACE_HUB_TOKEN: "" }) });

test.afterAll(async () => {
  await hub?.close();
});

const dataRequests = () => hub.log.filter((r) => r.kind === "resolve" || r.kind === "cdn");

async function openRemote(page: Page, uri: string): Promise<void> {
  await page.getByTestId("open-tab-remote").click();
  await page.getByTestId("open-remote").fill(uri);
  await page.getByTestId("open-remote-button").click();
}

/**
 * Runs every cell of the open notebook and returns what each SQL cell shows: its row count and the rows in view.
 * Rows are compared as a set: the starter's cell types all have 20 cells, so their order is not fixed.
 */

test("open the demo from the Hub on the Remote tab, see its commit, run the starter online and offline", async ({ page }) => {
  await openApp(page, app.url);
  await page.getByTestId("open-tab-remote").click();
  await expect(page.getByTestId("remote-forms")).toContainText("hf://datasets/owner/repo/folder@revision");
  await page.getByTestId("open-remote").fill(URI);
  await screenshot(page, "20-remote-tab");
  await page.getByTestId("open-remote-button").click();
  await page.getByTestId("nav-overview").click(); // it opens on Explore (it has an embedding)

  // Where it comes from: Hugging Face, the repo, the revision asked for and the commit every read stays on.
  const origin = page.getByTestId("overview-origin");
  await expect(origin).toBeVisible();
  await expect(origin.getByTestId("origin-source")).toHaveText("Hugging Face");
  await expect(origin.getByTestId("origin-where")).toHaveText(REPO);
  await expect(origin.getByTestId("origin-requested")).toHaveText("main");
  await expect(origin.getByTestId("origin-sha")).toHaveText(sha.slice(0, 7));
  await expect(origin.getByTestId("origin-sha")).toHaveAttribute("title", sha);
  await expect(page.getByTestId("fact-n-cells")).toHaveText("160");
  const crumb = page.getByTestId("dataset-crumb");
  await expect(crumb).toContainText("Hugging Face");
  await expect(crumb.getByTestId("revision-sha")).toHaveText(sha.slice(0, 7));
  await expect(crumb.getByTestId("revision")).toHaveAttribute("title", new RegExp(`Commit ${sha}: every read stays on this commit`));
  await expect(page.getByTestId("sidebar-source")).toHaveText("Hugging Face");
  await expect(page.getByTestId("offline-switch")).toHaveAttribute("aria-checked", "false");
  await expect(page.getByTestId("source-counters")).toBeVisible();
  await screenshot(page, "21-remote-overview");

  // The starter notebook, online: the data comes from the Hub.
  await page.getByTestId("open-notebook").click();
  await expect(page.getByTestId("sql-cell").first()).toBeVisible();
  const online = await runAll(page);
  expect(online.join("\n")).toContain("8 rows");
  expect(dataRequests().length).toBeGreaterThan(0);
  await expect(page.getByTestId("counter-requests")).not.toHaveText(/^0 requests/);
  await expect(page.getByTestId("counter-budget")).toContainText(/(resolvers|api) budget [\d,]+\/[\d,]+/);

  // Offline: the same results from the local cache, and not one data request reaches the Hub.
  hub.resetLog();
  await page.getByTestId("offline-switch").click();
  await expect(page.getByTestId("offline-switch")).toHaveAttribute("aria-checked", "true");
  await expect(page.getByTestId("offline-switch")).toContainText("Offline · cache only");
  const offline = await runAll(page);
  expect(offline).toEqual(online);
  expect(dataRequests()).toEqual([]);
  expect(hub.log).toEqual([]);

  // The counters: totals in the status bar, each source in the popover.
  await expect(page.getByTestId("counter-hits")).not.toHaveText(/^(—|0%) from cache/);
  await page.getByTestId("source-counters").click();
  const details = page.getByTestId("source-counters-popover");
  await expect(details).toBeVisible();
  await expect(details).toContainText("Offline: cache only");
  await expect(details.getByTestId("detail-requests-hf")).toContainText(/resolve [\d,]+/);
  await expect(details.getByTestId("detail-budget-hf")).toContainText(/resolvers [\d,]+ \/ [\d,]+/);
  await screenshot(page, "22-remote-counters");
  await page.keyboard.press("Escape");
  await expect(details).toBeHidden();

  // Back online for the next test.
  await page.getByTestId("offline-switch").click();
  await expect(page.getByTestId("offline-switch")).toHaveAttribute("aria-checked", "false");
});

test("the Remote tab remembers remote URIs apart from folders, and names what went wrong", async ({ page }) => {
  await openApp(page, app.url);
  await openRemote(page, URI);
  await page.getByTestId("nav-overview").click(); // it opens on Explore (it has an embedding)
  await expect(page.getByTestId("overview-origin")).toBeVisible();
  await page.getByRole("button", { name: "Open another…" }).click();
  // The last dataset was remote: the Remote tab is shown, with the URI among its recent ones, and no folder list.
  await expect(page.getByTestId("open-tab-remote")).toHaveAttribute("aria-selected", "true");
  await expect(page.getByTestId("recent-remote")).toContainText(URI);
  await expect(page.getByTestId("recent-local")).toHaveCount(0);

  // Not a remote address: said on the spot, nothing is asked of main.
  await page.getByTestId("open-remote").fill("/data/pbmc.slaf");
  await page.getByTestId("open-remote-button").click();
  await expect(page.getByTestId("open-remote-problem")).toContainText("hf://datasets/");

  // A revision the repo does not have.
  await openRemote(page, `hf://datasets/${REPO}/pbmc.slaf@no-such-branch`);
  const error = page.getByTestId("error");
  await expect(error).toHaveAttribute("data-error-code", "REVISION_NOT_FOUND");
  await expect(error).toContainText("This revision (branch, tag or commit) does not exist");
  await expect(error).toContainText("no-such-branch");

  // A gated repo, and no token.
  await openRemote(page, "hf://datasets/acme/gated/pbmc.slaf");
  await expect(error).toHaveAttribute("data-error-code", "AUTH_REQUIRED");
  await expect(error).toContainText("The dataset is private or gated: a token with access is needed");
  await expect(error).toContainText("acme/gated");
  await screenshot(page, "23-remote-gated-error");

  // Offline, a dataset never read before cannot open, and says so at once.
  await page.getByTestId("offline-switch").click();
  await expect(page.getByTestId("offline-switch")).toHaveAttribute("aria-checked", "true");
  await openRemote(page, `hf://datasets/${REPO}/pbmc.slaf@${sha.slice(0, 12)}`);
  await expect(error).toHaveAttribute("data-error-code", "OFFLINE_NOT_CACHED");
  await expect(error).toContainText("Offline, and this data is not in the local cache");
  await screenshot(page, "24-remote-offline-error");
  await page.getByTestId("offline-switch").click();
  await expect(page.getByTestId("offline-switch")).toHaveAttribute("aria-checked", "false");
});
