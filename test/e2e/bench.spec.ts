/**
 * The Benchmark panel, as a user works it: the PBMC fixture measured from its folder and from a fake Hub on
 * loopback, one after the other; the MiB/s chart has a bar per source and the table the cells table's rows; a run
 * while the Hub fails is cancelled and kept in the history with the source measured before; an earlier run is
 * reopened, two are compared, a run is exported as CSV (asked before replacing) and the chart as SVG.
 */
import fs from "node:fs/promises";
import path from "node:path";
import { expect, test, type Locator, type Page } from "@playwright/test";
import { publishDataset, startFakeHub, type FakeHub } from "../fixtures/fake-hub";
import { useAppServer } from "./app-server";
import { env, openApp, openDataset, screenshot } from "./helpers";

const REPO = "acme/pbmc";
const HF_URI = `hf://datasets/${REPO}/pbmc.slaf@main`;
/** The fixture's cells table. */
const CELLS = "160";

let hub: FakeHub;

test.beforeAll(async () => {
  hub = await startFakeHub();
  await publishDataset(hub, REPO, env("E2E_PBMC"));
});

// No token from the developer's environment: the fake Hub serves the repo anonymously.
const app = useAppServer([], { env: () => ({ HF_ENDPOINT: hub.url, HF_TOKEN: "", HUGGING_FACE_HUB_TOKEN: "" }) });

test.afterAll(async () => {
  await hub?.close();
});

const dataRequests = () => hub.log.filter((r) => r.kind === "resolve" || r.kind === "cdn").length;

/** The values of one metric row of the results table, one per source. */
async function rowValues(results: Locator, key: string): Promise<string[]> {
  return results.getByTestId(`bench-row-${key}`).locator("td").allInnerTexts();
}

/** The chart's bars, as drawn: one rect per source. */
function bars(results: Locator): Locator {
  return results.getByTestId("bench-chart").locator('g[aria-label="bar"] rect');
}

async function exportRunAs(page: Page, format: "csv" | "json", target: string): Promise<void> {
  await page.getByTestId("bench-export").click();
  await page.getByTestId(`bench-export-${format}`).click();
  await page.getByTestId("path-prompt-input").fill(target);
  await page.getByTestId("path-prompt-confirm").click();
}

test("benchmark a folder and the Hub side by side, cancel a run, reopen, compare and export from the history", async ({ page }) => {
  test.setTimeout(180_000);
  await openApp(page, app.url);

  // Without a dataset the panel is there too, with no source yet.
  await page.getByTestId("open-bench").click();
  const panel = page.getByTestId("bench-panel");
  await expect(panel.getByTestId("bench-source")).toHaveCount(0);
  await expect(panel.getByTestId("bench-run")).toBeDisabled();
  await expect(panel.getByTestId("bench-problem")).toHaveText("Add at least one source");
  await page.getByTestId("open-bench").click();

  // With the folder open, it is the first source; the Hub copy is added by its address.
  await openDataset(page, env("E2E_PBMC"));
  await page.getByTestId("nav-bench").click();
  await expect(panel.getByTestId("bench-source")).toHaveCount(1);
  await expect(panel.getByTestId("bench-source")).toContainText(env("E2E_PBMC"));
  await panel.getByTestId("bench-add-input").fill("hf://acme");
  await panel.getByTestId("bench-add-button").click();
  await expect(panel.getByTestId("bench-add-problem")).toContainText("hf://datasets/<owner>/<repo>");
  await panel.getByTestId("bench-add-input").fill(HF_URI);
  await panel.getByTestId("bench-add-button").click();
  await expect(panel.getByTestId("bench-source")).toHaveCount(2);
  await expect(panel.getByTestId("bench-source").nth(1)).toContainText(HF_URI);

  // The whole cells table in batches of 64 rows, cache bypassed.
  await panel.getByTestId("bench-batch-size").fill("64");
  await panel.getByTestId("bench-batches").fill("100");
  await panel.getByTestId("bench-seconds").fill("");
  await panel.getByTestId("bench-cache").selectOption("cold");
  await expect(panel.getByTestId("bench-run")).toHaveText("Run 2 sources");
  await screenshot(page, "bench-01-setup");

  hub.resetLog();
  await panel.getByTestId("bench-run").click();
  const results = panel.getByTestId("bench-results");
  await expect(results).toBeVisible({ timeout: 120_000 });
  await expect(panel.getByTestId("bench-progress")).toHaveCount(0);
  const firstRunId = await results.getAttribute("data-run-id");
  expect(firstRunId).toBeTruthy();

  // The chart: one bar per source, each labelled with the table's MiB/s.
  await expect(bars(results)).toHaveCount(2);
  const mib = await rowValues(results, "mib");
  expect(mib).toHaveLength(2);
  for (const v of mib) expect(Number(v)).toBeGreaterThan(0);
  const labels = await results.getByTestId("bench-chart").locator('g[aria-label="text"] text').allTextContents();
  expect(labels.filter((t) => mib.includes(t)).sort()).toEqual([...mib].sort());

  // The table: both sources read every row of cells; only the Hub source went upstream.
  await expect(results.getByTestId("bench-col")).toHaveCount(2);
  await expect(results.getByTestId("bench-col").nth(0).locator("[data-kind]")).toHaveAttribute("data-kind", "local");
  await expect(results.getByTestId("bench-col").nth(1).locator("[data-kind]")).toHaveAttribute("data-kind", "hf");
  expect(await rowValues(results, "rows")).toEqual([CELLS, CELLS]);
  const requests = await rowValues(results, "upstream-requests");
  expect(requests[0]).toBe("—");
  expect(Number(requests[1].replace(/,/g, ""))).toBeGreaterThan(0);
  expect(dataRequests()).toBeGreaterThan(0);
  expect((await rowValues(results, "upstream-bytes"))[1]).toMatch(/^[\d.]+ (B|KB|MB)$/);
  expect((await rowValues(results, "upstream-bytes"))[1]).not.toBe("0 B");
  await expect(panel.getByTestId("bench-history-row")).toHaveCount(1);
  await screenshot(page, "bench-02-results");

  // A run while the Hub fails (503, retried with backoff): the folder is measured, the Hub source waits on its
  // retries; Cancel ends the run, which is kept with the folder's figures only.
  hub.faults.add({ kind: "503" }, { on: ["resolve", "cdn"], times: 1000 });
  await panel.getByTestId("bench-run").click();
  await expect(panel.getByTestId("bench-progress")).toBeVisible();
  await expect.poll(() => hub.faults.pending(), { timeout: 60_000 }).toBeLessThan(1000);
  await screenshot(page, "bench-03-running");
  await panel.getByTestId("bench-cancel").click();
  // "Cancelling…" shows only until the run has ended, which can be at once: either is right here.
  const cancelling = panel.getByTestId("bench-cancel").filter({ hasText: "Cancelling…" });
  await expect(cancelling.or(panel.getByTestId("bench-notice").filter({ hasText: "Cancelled" })).first()).toBeVisible();
  await expect(panel.getByTestId("bench-notice")).toContainText("Cancelled: 1 of 2 sources measured", { timeout: 90_000 });
  hub.faults.clear();
  await expect(panel.getByTestId("bench-progress")).toHaveCount(0);
  await expect(results.getByTestId("bench-cancelled")).toBeVisible();
  const cancelledRunId = await results.getAttribute("data-run-id");
  expect(cancelledRunId).not.toBe(firstRunId);
  await expect(bars(results)).toHaveCount(1);
  expect(await rowValues(results, "rows")).toEqual([CELLS]);
  await expect(results.getByTestId("bench-notes")).toContainText(`Not measured (the run was cancelled before it): ${HF_URI}`);
  const history = panel.getByTestId("bench-history-row");
  await expect(history).toHaveCount(2);
  await expect(history.nth(0)).toHaveAttribute("data-run-id", cancelledRunId as string);
  await expect(history.nth(0)).toContainText("cancelled");
  await screenshot(page, "bench-04-cancelled");

  // The first run, reopened from the history: both sources again.
  await history.nth(1).getByTestId("bench-open").click();
  await expect(results).toHaveAttribute("data-run-id", firstRunId as string);
  await expect(results.getByTestId("bench-cancelled")).toHaveCount(0);
  await expect(bars(results)).toHaveCount(2);
  expect(await rowValues(results, "mib")).toEqual(mib);

  // Both runs compared per source: the folder in each; the Hub only in the first (B / A unknown there).
  await history.nth(0).getByTestId("bench-pick").check();
  await history.nth(1).getByTestId("bench-pick").check();
  const compare = panel.getByTestId("bench-compare");
  await expect(compare.getByTestId("bench-compare-row")).toHaveCount(2);
  await expect(compare.getByTestId("bench-compare-ratio").nth(0)).toHaveText(/^\d+\.\d\d×$/);
  await expect(compare.getByTestId("bench-compare-ratio").nth(1)).toHaveText("—");
  await compare.scrollIntoViewIfNeeded();
  await screenshot(page, "bench-05-compare");

  // The shown run as CSV: one row per source and repeat; the same path again is asked about and kept.
  const csv = path.join(app.dir, "bench.csv");
  await exportRunAs(page, "csv", csv);
  await expect(panel.getByTestId("bench-notice")).toContainText(csv);
  const lines = (await fs.readFile(csv, "utf8")).trim().split(/\r?\n/);
  expect(lines).toHaveLength(3);
  expect(lines[2]).toContain(HF_URI.replace(/@main$/, ""));
  await exportRunAs(page, "csv", csv);
  await expect(page.getByTestId("confirm-dialog")).toContainText("Replace bench.csv?");
  await page.getByTestId("confirm-no").click();
  await expect(panel.getByTestId("bench-notice")).toContainText("Not exported: kept the existing");

  // The chart as SVG: the same two bars, titled.
  const download = page.waitForEvent("download");
  await page.getByTestId("bench-export").click();
  await page.getByTestId("bench-export-svg").click();
  const file = await (await download).path();
  const svg = await fs.readFile(file, "utf8");
  expect(svg).toMatch(/^<svg[^>]+xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  expect(svg).toContain("Streaming throughput of pbmc3k, MiB/s");
  expect(svg.match(/<rect /g)?.length).toBe(2);

  // Removing the cancelled run, after a confirm.
  await history.nth(0).getByTestId("bench-remove").click();
  await page.getByTestId("confirm-yes").click();
  await expect(history).toHaveCount(1);
  await expect(history.nth(0)).toHaveAttribute("data-run-id", firstRunId as string);
  await expect(compare).toHaveCount(0);
});
