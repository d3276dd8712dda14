/**
 * The Markers panel on the demo, as a biologist uses it: B cells vs the rest ranked by score, the volcano, two
 * markers in a dot plot of 2 genes × 8 cell types, the dot plot sent to the notebook (its SQL runs), every group
 * at once, and the embedding coloured by a marker from the table.
 */
import fs from "node:fs/promises";
import path from "node:path";
import { expect, test, type Page } from "@playwright/test";
import { PROJECT_ROOT } from "../fixtures/pbmc";
import { useAppServer } from "./app-server";
import { openApp, screenshot } from "./helpers";

const app = useAppServer();

async function openMarkers(page: Page): Promise<void> {
  await openApp(page, app.url);
  await page.getByTestId("demo-button").click();
  await expect(page.getByTestId("notebook")).toBeVisible();
  await page.getByTestId("nav-markers").click();
  await expect(page.getByTestId("markers-panel")).toBeVisible();
  await expect(page.getByTestId("markers-column")).toHaveValue("cell_type");
}

const rows = (page: Page) => page.getByTestId("markers-row");

test("markers of B cells: table, volcano, a dot plot sent to the notebook, all groups, colour the embedding by a marker", async ({ page }) => {
  await openMarkers(page);
  await screenshot(page, "60-markers-empty");
  await expect(page.getByTestId("markers-run")).toBeDisabled();

  await page.getByTestId("markers-group").selectOption("B");
  await page.getByTestId("markers-run").click();
  await expect(rows(page).first()).toBeVisible({ timeout: 60_000 });
  await expect(page.getByTestId("markers-title")).toContainText("B");
  await expect(page.getByTestId("markers-title")).toContainText("the rest");
  await expect(page.getByTestId("markers-results")).toHaveAttribute("data-normalization", "log1p_cp10k");
  await expect(page.getByTestId("markers-normalization-note")).toContainText("log1p(CP10k)");
  const scores = (await rows(page).evaluateAll((els) => els.map((e) => Number(e.getAttribute("data-score"))))) as number[];
  expect(scores.length).toBeGreaterThan(10);
  expect(scores[0]).toBeGreaterThanOrEqual(scores[1]);
  expect(scores.every((s, i) => i === 0 || scores[i - 1] >= s)).toBe(true);
  // "Up" (the default) keeps positive scores only.
  expect(scores.every((s) => s > 0)).toBe(true);
  await screenshot(page, "61-markers-b-table");

  // Filters: a search narrows the table to the genes named so.
  const first = (await rows(page).first().getAttribute("data-symbol"))!;
  const second = (await rows(page).nth(1).getAttribute("data-symbol"))!;
  await page.getByTestId("markers-search").fill(first);
  await expect(rows(page).first()).toHaveAttribute("data-symbol", first);
  await expect
    .poll(async () =>
      (await rows(page).evaluateAll((els) => els.map((e) => e.getAttribute("data-symbol")))).every((s) => s!.toUpperCase().includes(first.toUpperCase())),
    )
    .toBe(true);
  await page.getByTestId("markers-search").fill("");
  await expect(rows(page).nth(1)).toHaveAttribute("data-symbol", second);
  // A bound that is not a number is named and not applied.
  await page.getByTestId("markers-max-padj").fill("abc");
  await page.getByTestId("markers-max-padj").press("Enter");
  await expect(page.getByTestId("markers-filter-problems")).toContainText("adjusted p");
  await page.getByTestId("markers-max-padj").fill("0.05");
  await page.getByTestId("markers-max-padj").press("Enter");
  await expect(page.getByTestId("markers-filter-problems")).toHaveCount(0);

  // The volcano: every gene of the comparison, the significant ones coloured.
  await page.getByTestId("markers-tab-volcano").click();
  const volcano = page.getByTestId("markers-volcano-box");
  await expect(volcano).not.toHaveAttribute("data-points", "0", { timeout: 30_000 });
  expect(Number(await volcano.getAttribute("data-up"))).toBeGreaterThan(0);
  await expect(page.getByTestId("markers-volcano").locator("svg circle").first()).toBeVisible();
  await screenshot(page, "62-markers-volcano");
  // A click on a dot selects its gene: the best-ranked gene is labelled; its dot is just under its label.
  const label = page.getByTestId("markers-volcano").locator('g[aria-label="text"] text', { hasText: new RegExp(`^${first}$`) });
  const box = (await label.boundingBox())!;
  await page.mouse.move(box.x + box.width / 2, box.y + box.height + 6);
  await page.mouse.click(box.x + box.width / 2, box.y + box.height + 6);
  await expect(page.getByTestId("markers-selected")).toHaveText(first);
  await expect(page.getByTestId("markers-volcano").locator('g[aria-label="dot"]').last().locator("circle")).toHaveCount(1);

  // Two markers into the dot plot: 2 genes × 8 cell types.
  await page.getByTestId("markers-tab-table").click();
  await rows(page).first().click();
  await expect(page.getByTestId("markers-selected")).toHaveText(first);
  await page.getByTestId("markers-add-to-plot").click();
  // From the keyboard: a focused row is picked with Enter.
  await rows(page).nth(1).focus();
  await page.keyboard.press("Enter");
  await expect(page.getByTestId("markers-selected")).toHaveText(second);
  await page.getByTestId("markers-add-to-plot").click();
  await expect(page.getByTestId("markers-plot-gene")).toHaveCount(2);
  const meta = page.getByTestId("markers-plot-meta");
  await expect(meta).toHaveAttribute("data-genes", "2", { timeout: 30_000 });
  await expect(meta).toHaveAttribute("data-groups", "8");
  const dots = page.getByTestId("markers-dot").locator('g[aria-label="dot"] circle');
  await expect(dots).toHaveCount(16);
  await screenshot(page, "63-markers-dot-plot");

  // The violin of one gene and the heatmap (z-scored) of both.
  await page.getByTestId("markers-plot-tab-violin").click();
  await expect(page.getByTestId("markers-violin").locator('g[aria-label="area"] path')).toHaveCount(8);
  await screenshot(page, "64-markers-violin");
  await page.getByTestId("markers-plot-tab-heatmap").click();
  await page.getByTestId("markers-zscore").check();
  await expect(page.getByTestId("markers-heatmap").locator('g[aria-label="cell"] rect')).toHaveCount(16);
  await screenshot(page, "65-markers-heatmap");

  // An export is a titled SVG with its legend.
  await page.getByTestId("markers-plot-tab-dot").click();
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByTestId("markers-dot-svg").click()]);
  expect(download.suggestedFilename()).toMatch(/markers-dot\.svg$/);
  const svg = await fs.readFile((await download.path())!, "utf8");
  expect(svg).toContain(`Dot plot of ${first}, ${second} by cell_type`);
  expect(svg).toContain("mean log1p(CP10k)");
  expect(svg.match(/<circle/g)?.length).toBeGreaterThanOrEqual(16);
  const [png] = await Promise.all([page.waitForEvent("download"), page.getByTestId("markers-dot-png").click()]);
  expect(png.suggestedFilename()).toMatch(/markers-dot\.png$/);
  expect((await fs.readFile((await png.path())!)).subarray(1, 4).toString()).toBe("PNG");
  await png.saveAs(path.join(PROJECT_ROOT, "test-results", "screens", "63b-markers-dot-plot-export.png"));

  // Send the dot plot to the notebook: its SQL runs and the plot draws.
  await page.getByTestId("markers-dot-send").click();
  await expect(page.getByTestId("notebook")).toBeVisible();
  const sent = page.locator('[data-testid="sql-cell"][data-name="dotplot_cell_type"]');
  await expect(sent).toHaveAttribute("data-state", "done", { timeout: 60_000 });
  await expect(sent.getByTestId("result-count")).toHaveText("16 rows");
  await expect(page.getByTestId("plot-figure").last().locator("svg").first()).toBeVisible();
  await sent.scrollIntoViewIfNeeded();
  await screenshot(page, "66-markers-dot-plot-in-notebook");

  // The table as SQL (scanpy's t-test step by step): it runs, and its top gene is the panel's.
  await page.getByTestId("nav-markers").click();
  await page.getByTestId("markers-send-table").click();
  const table = page.locator('[data-testid="sql-cell"][data-name="markers_b_vs_rest"]');
  await expect(table).toHaveAttribute("data-state", "done", { timeout: 60_000 });
  await expect(table.getByTestId("result-count")).toHaveText("100 rows");
  await expect(table.getByTestId("data-grid").locator('[data-row="0"]')).toContainText(first);
  await table.scrollIntoViewIfNeeded();
  await screenshot(page, "67-markers-table-in-notebook");

  // Every group vs the rest: a compact table of each group's top genes; a group opens its full table.
  await page.getByTestId("nav-markers").click();
  await page.getByTestId("markers-run-all").click();
  await expect(page.getByTestId("markers-top-group")).toHaveCount(8, { timeout: 60_000 });
  await expect(page.getByTestId("markers-top-group").first().getByTestId("markers-top-gene").first()).toBeVisible();
  await page.getByTestId("markers-plot-top-per-group").click();
  await expect.poll(async () => Number(await page.getByTestId("markers-plot-meta").getAttribute("data-genes")), { timeout: 30_000 }).toBeGreaterThan(8);
  await expect(page.getByTestId("markers-plot-meta")).toHaveAttribute("data-groups", "8");
  await screenshot(page, "68-markers-all-groups");
  await page.locator('[data-testid="markers-top-group"][data-group="NK"]').getByTestId("markers-open-group").click();
  await expect(page.getByTestId("markers-title")).toContainText("NK");
  await expect(rows(page).first()).toBeVisible();

  // Colour the embedding by the NK top marker.
  const marker = (await rows(page).first().getAttribute("data-symbol"))!;
  await rows(page).first().click();
  await page.getByTestId("markers-colour-embedding").click();
  await expect(page.getByTestId("explore-panel")).toBeVisible();
  await expect(page.getByTestId("gene-chip")).toHaveAttribute("data-state", "ready", { timeout: 30_000 });
  await expect(page.getByTestId("gene-chip")).toContainText(marker);
  await expect(page.getByTestId("scatter").first()).toHaveAttribute("data-drawn", "160", { timeout: 30_000 });
  await screenshot(page, "69-markers-colour-embedding");
});

test("bad input is named: a group against itself cannot run, a set comparison without sets says how to make them", async ({ page }) => {
  await openMarkers(page);
  await page.getByTestId("markers-group").selectOption("NK");
  await expect(page.getByTestId("markers-run")).toBeEnabled();
  await page.getByTestId("markers-source-sets").click();
  await expect(page.getByTestId("markers-blocked")).toContainText("No cell sets yet");
  await expect(page.getByTestId("markers-run")).toBeDisabled();
});

test("cell sets made in Explore: one set against another, and the dot plot grouped by the sets", async ({ page }) => {
  await openMarkers(page);
  await page.getByTestId("nav-explore").click();
  await expect(page.getByTestId("legend-entry")).toHaveCount(8, { timeout: 30_000 });
  for (const [type, name] of [
    ["B", "my B"],
    ["NK", "my NK"],
  ]) {
    await page.locator(`[data-testid="legend-entry"][data-value="${type}"]`).getByTestId("legend-select").click({ force: true });
    await expect(page.getByTestId("selection-size")).toHaveText("20");
    await page.getByTestId("selection-name").fill(name);
    await page.getByTestId("selection-save").click();
    await expect(page.locator(`[data-testid="cell-set"][data-name="${name}"]`)).toBeVisible();
  }
  await page.getByTestId("nav-markers").click();
  await page.getByTestId("markers-source-sets").click();
  await page.getByTestId("markers-group").selectOption("my B");
  await page.getByTestId("markers-reference").selectOption("my NK");
  await page.getByTestId("markers-run").click();
  await expect(page.getByTestId("markers-title")).toContainText("my B vs my NK", { timeout: 60_000 });
  await expect(page.getByTestId("markers-title")).not.toContainText("rest");
  await expect(rows(page).first()).toBeVisible();
  await rows(page).first().click();
  await page.getByTestId("markers-add-to-plot").click();
  const meta = page.getByTestId("markers-plot-meta");
  await expect(meta).toHaveAttribute("data-groups", "2", { timeout: 30_000 });
  await expect(page.getByTestId("markers-dot").locator('g[aria-label="dot"] circle')).toHaveCount(2);
  await screenshot(page, "70-markers-sets");
});
