/**
 * The Cache panel, as a user works it: the PBMC demo on a fake Hub, opened from the Remote tab; the panel lists
 * what was read per dataset, revision and table; a table is pinned as a job (progress, then marked pinned), the
 * cap is changed, a pin is unpinned, a table evicted, everything cleared after a confirm, and a pin that cannot
 * progress is cancelled.
 */
import fs from "node:fs/promises";
import path from "node:path";
import { expect, test } from "@playwright/test";
import { publishDataset, startFakeHub, type FakeHub } from "../fixtures/fake-hub";
import { useAppServer } from "./app-server";
import { env, openApp, screenshot } from "./helpers";

const REPO = "acme/pbmc";
const URI = `hf://datasets/${REPO}/pbmc.slaf@main`;

let hub: FakeHub;
let sha: string;

test.beforeAll(async () => {
  hub = await startFakeHub();
  sha = await publishDataset(hub, REPO, env("E2E_PBMC"));
});

const app = useAppServer([], { env: () => ({ HF_ENDPOINT: hub.url, HF_TOKEN: "", HUGGING_FACE_HUB_TOKEN: "" }) });

test.afterAll(async () => {
  await hub?.close();
});

test("the Cache panel lists, pins, caps, unpins, evicts, clears and cancels a pin", async ({ page }) => {
  await openApp(page, app.url);
  // Before any dataset: the top-bar button shows an empty cache.
  await page.getByTestId("open-cache").click();
  await expect(page.getByTestId("cache-empty")).toBeVisible();
  await expect(page.getByTestId("cache-cap")).toHaveText("20.0 GB");
  await page.getByTestId("open-cache").click();

  await page.getByTestId("open-tab-remote").click();
  await page.getByTestId("open-remote").fill(URI);
  await page.getByTestId("open-remote-button").click();
  await page.getByTestId("nav-overview").click(); // it opens on Explore (it has an embedding)
  await expect(page.getByTestId("overview-origin")).toBeVisible();

  // What opening read: the dataset at its commit (with the branch that resolved to it) and its tables' manifests.
  await page.getByTestId("nav-cache").click();
  const panel = page.getByTestId("cache-panel");
  await expect(panel.getByTestId("cache-dataset")).toContainText(`${REPO}/pbmc.slaf`);
  await expect(panel.getByTestId("cache-table")).toContainText(`@ ${sha.slice(0, 7)}`);
  await expect(panel.getByTestId("cache-table")).toContainText("main");
  await expect(panel.getByTestId("cache-table-cells")).toBeVisible();
  await expect(panel.getByTestId("pinned-mark")).toHaveCount(0);

  // Pin the cells table: a job with progress in the status bar; once done the table is marked pinned.
  await panel.getByTestId("cache-pin-table").selectOption("cells");
  await panel.getByTestId("cache-pin-start").click();
  await expect(panel.getByTestId("cache-notice")).toContainText("Pinned cells", { timeout: 60_000 });
  await expect(panel.getByTestId("cache-pin-progress")).toHaveCount(0);
  await expect(panel.getByTestId("cache-table-cells").getByTestId("pinned-mark")).toBeVisible();
  await expect(panel.getByTestId("cache-pin-item")).toHaveCount(1);
  await expect(panel.getByTestId("cache-pin-item")).toContainText("cells");
  await expect(panel.getByTestId("cache-size")).not.toContainText(" 0 B pinned");

  // Chosen columns of genes.
  await panel.getByTestId("cache-pin-table").selectOption("genes");
  await panel.locator("details.columns summary").click();
  await panel.locator(".column-list label", { hasText: "gene_id" }).locator("input").check();
  await expect(panel.getByTestId("cache-pin-start")).toHaveText("Pin 1 column");
  await panel.getByTestId("cache-pin-start").click();
  await expect(panel.getByTestId("cache-notice")).toContainText("Pinned genes (gene_id)", { timeout: 60_000 });
  await expect(panel.getByTestId("cache-pin-item")).toHaveCount(2);
  await expect(panel.getByTestId("cache-table-genes").getByTestId("pinned-mark")).toHaveText("pinned: gene_id");
  // The panel also shows what the gateway asked of the Hub (pins read through it).
  await panel.getByRole("button", { name: "Refresh" }).click();
  await expect(panel.getByTestId("cache-traffic")).toContainText("Hugging Face");
  await expect(panel.getByTestId("cache-traffic").getByTestId("detail-requests-hf")).not.toHaveText(/^0 /);
  // Pins keep every table's manifest (an offline open reads it), but expression itself is not pinned.
  await expect(panel.getByTestId("cache-table-expression").getByTestId("pinned-mark")).toHaveCount(0);
  await screenshot(page, "40-cache-panel");

  // The cap: a size that is not one is refused on the spot; a new one is saved for every process.
  await panel.getByTestId("cache-cap-input").fill("lots");
  await expect(panel.getByTestId("cache-cap-save")).toBeDisabled();
  await panel.getByTestId("cache-cap-input").fill("50 GB");
  await panel.getByTestId("cache-cap-save").click();
  await expect(panel.getByTestId("cache-cap")).toHaveText("50.0 GB");
  expect(JSON.parse(await fs.readFile(path.join(app.userData, "cache", "cache.json"), "utf8"))).toEqual({ capBytes: 50 * 1024 ** 3 });

  // Unpin cells: the data stays, the pin goes.
  await panel.getByTestId("cache-table-cells").getByTestId("cache-unpin").click();
  await expect(panel.getByTestId("cache-notice")).toContainText("Unpinned cells");
  await expect(panel.getByTestId("cache-pin-item")).toHaveCount(1);
  await expect(panel.getByTestId("cache-table-cells")).toBeVisible();

  // Evict genes, which is pinned: asked first; "Cancel" keeps it, "Evict" removes it.
  const genes = panel.getByTestId("cache-table-genes");
  await genes.getByTestId("cache-evict-table").click();
  await expect(page.getByTestId("confirm-dialog")).toContainText("Evict pinned data?");
  await page.getByTestId("confirm-no").click();
  await expect(genes).toBeVisible();
  await genes.getByTestId("cache-evict-table").click();
  await page.getByTestId("confirm-yes").click();
  await expect(panel.getByTestId("cache-notice")).toContainText("Evicted table genes");
  await expect(genes).toHaveCount(0);
  await expect(panel.getByTestId("cache-pin-item")).toHaveCount(0);

  // Clear all, after a confirm.
  await panel.getByTestId("cache-clear").click();
  await expect(page.getByTestId("confirm-dialog")).toContainText("Clear the whole cache?");
  await page.getByTestId("confirm-yes").click();
  await expect(panel.getByTestId("cache-empty")).toBeVisible();
  await expect(panel.getByTestId("cache-size")).toContainText("0 B of a 50.0 GB cap");

  // A pin whose reads stall at the Hub shows its progress and stops on Cancel, leaving no pin.
  hub.faults.add({ kind: "stall", phase: "headers" }, { on: ["resolve", "cdn"], times: 1000 });
  await panel.getByTestId("cache-pin-table").selectOption("expression");
  await panel.getByTestId("cache-pin-start").click();
  await expect(panel.getByTestId("cache-pin-progress")).toBeVisible();
  await screenshot(page, "41-cache-pin-running");
  await panel.getByTestId("cache-pin-cancel").click();
  const error = panel.getByTestId("error");
  await expect(error).toHaveAttribute("data-error-code", "PIN_CANCELLED");
  await expect(panel.getByTestId("cache-pin-progress")).toHaveCount(0);
  await expect(panel.getByTestId("cache-pin-item")).toHaveCount(0);
  hub.faults.clear();
});
