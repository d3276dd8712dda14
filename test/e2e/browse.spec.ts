import path from "node:path";
import { expect, test } from "@playwright/test";
import { loadPbmc } from "../fixtures/pbmc";
import { snapshotTree } from "../fixtures/tree-snapshot";
import { useAppServer } from "./app-server";
import { startCliServer } from "./server";
import { env, openApp, openDataset, screenshot } from "./helpers";

const app = useAppServer();

test("opens a dataset from the path field and shows its tables, columns, row counts and config", async ({ page }) => {
  await openApp(page, app.url);
  await expect(page.getByTestId("start-screen")).toBeVisible();
  // Only what works is offered (local folders, S3, the Hub, the dataloader preview, the benchmark): nothing is marked as coming.
  await expect(page.getByTestId("start-screen").locator(".hero")).toContainText("tokenized batches");
  await expect(page.getByTestId("start-screen").locator(".hero")).toContainText("benchmark how fast a dataset streams");
  await expect(page.getByTestId("coming")).toHaveCount(0);
  await screenshot(page, "01-start-screen");
  await openDataset(page, env("E2E_PBMC"));
  const sidebar = page.getByTestId("sidebar");
  await expect(sidebar.getByTestId("rows-cells")).toHaveText("160");
  await expect(sidebar.getByTestId("rows-genes")).toHaveText("8,674");
  await expect(sidebar.getByTestId("rows-expression")).toHaveText("151,815");
  await expect(page.getByTestId("fact-expression-count")).toHaveText("151,815");
  await expect(page.getByTestId("fact-n-cells")).toHaveText("160");
  await expect(page.getByTestId("config-facts")).toContainText("SLAF 0.5");
  // cells is expanded by default: columns with their Arrow types
  await expect(sidebar.getByTestId("table-cells")).toContainText("cell_type");
  await expect(sidebar.getByTestId("table-cells")).toContainText("FixedSizeList[2]<Float32>");
  await sidebar.getByRole("button", { name: "Expand expression" }).click();
  await expect(sidebar.getByTestId("table-expression")).toContainText("Uint16");
  await expect(page.getByTestId("summary-expression")).toContainText("expression.lance");
  await screenshot(page, "02-overview");

  await sidebar.getByTestId("table-cells").getByTitle("Browse cells").click();
  const grid = page.getByTestId("data-grid");
  await expect(grid.locator('[data-row="0"]')).toContainText("AAACATACAACCAC-1");
  await expect(grid.locator('[data-row="0"]')).toContainText("CD14+ Mono");
  await screenshot(page, "03-cells-grid");
});

test("scrolls the expression grid of a 1.1M-row table past row 100,000, paging rows on demand", async ({ page }) => {
  const pbmc = loadPbmc();
  const flat: string[] = [];
  let total = 0;
  for (let c = 0; c < 1200; c++) {
    const src = pbmc.cells[c % pbmc.nCells];
    total += src.genes.length;
    src.genes.forEach((g, k) => flat.push(`${c}|${g}|${src.values[k]}`));
  }
  await openApp(page, app.url);
  await openDataset(page, env("E2E_BIG"));
  await page.getByTestId("table-expression").getByTitle("Browse expression").click();
  const grid = page.getByTestId("data-grid");
  await expect(grid).toHaveAttribute("data-row-count", String(total));

  const rowText = async (i: number) => {
    const cells = grid.locator(`[data-row="${i}"] .cell`);
    await expect(cells.nth(1)).not.toHaveText("…");
    return (await cells.allInnerTexts()).slice(1).join("|");
  };
  expect(await rowText(3)).toBe(flat[3]);

  // Scroll with the wheel, like a user.
  await grid.locator('[role="grid"]').hover();
  for (let k = 0; k < 5; k++) await page.mouse.wheel(0, 2000);
  await expect.poll(async () => Number(await grid.getAttribute("data-first-row"))).toBeGreaterThan(300);

  // Drag far down: set the scrollbar position directly.
  await grid.locator('[role="grid"]').evaluate((el) => (el.scrollTop = el.scrollHeight * 0.2));
  await expect.poll(async () => Number(await grid.getAttribute("data-first-row"))).toBeGreaterThan(100_000);
  const first = Number(await grid.getAttribute("data-first-row"));
  expect(await rowText(first + 2)).toBe(flat[first + 2]);

  // And jump exactly.
  await page.getByTestId("goto-row").fill("123456");
  await page.getByTestId("goto-row").press("Enter");
  await expect(grid).toHaveAttribute("data-first-row", "123456");
  expect(await rowText(123_456)).toBe(flat[123_456]);
  expect(await rowText(123_460)).toBe(flat[123_460]);
  await expect(grid).toContainText(`of ${total.toLocaleString("en-US")} expression rows`);
  await screenshot(page, "04-expression-row-123456");
});

test("a broken dataset shows an error that names the problem and the path", async ({ page }) => {
  await openApp(page, app.url);
  await page.getByTestId("open-path").fill(env("E2E_NO_CONFIG"));
  await page.getByTestId("open-button").click();
  const error = page.getByTestId("error");
  await expect(error).toHaveAttribute("data-error-code", "NOT_A_SLAF_DATASET");
  await expect(error).toContainText("Not a SLAF dataset");
  await expect(error).toContainText(env("E2E_NO_CONFIG"));
  await screenshot(page, "05-error-no-config");

  await page.getByTestId("open-path").fill(env("E2E_BAD_JSON"));
  await page.getByTestId("open-button").click();
  await expect(error).toHaveAttribute("data-error-code", "CONFIG_INVALID");
  await expect(error).toContainText(path.join(env("E2E_BAD_JSON"), "config.json"));

  await page.getByTestId("open-path").fill(path.join(env("E2E_DIR"), "does-not-exist.slaf"));
  await page.getByTestId("open-button").click();
  await expect(error).toHaveAttribute("data-error-code", "DATASET_NOT_FOUND");
  await expect(page.getByTestId("start-screen")).toBeVisible();
});

test("browsing a dataset changes no byte of it", async ({ page }) => {
  const root = env("E2E_PBMC");
  const before = await snapshotTree(root);
  await openApp(page, app.url);
  await openDataset(page, root);
  for (const t of ["expression", "genes", "cells"]) {
    await page.getByTestId(`table-${t}`).getByTitle(`Browse ${t}`).click();
    await expect(page.getByTestId("data-grid").locator('[data-row="0"] .cell').nth(1)).not.toHaveText("…");
  }
  expect(await snapshotTree(root)).toEqual(before);
});

test("serve DATASET opens that dataset at start, and refuses requests without the token", async ({ page }) => {
  const server = await startCliServer([env("E2E_PBMC")], { SLAFWB_USER_DATA: path.join(app.dir, "user-data-2") });
  try {
    const res = await fetch(server.url.replace(/\?token=.*/, ""));
    expect(res.status).toBe(401);
    await openApp(page, server.url);
    // It has an embedding, so it opens on Explore.
    await expect(page.getByTestId("explore-panel")).toBeVisible();
    await page.getByTestId("nav-overview").click();
    await expect(page.getByTestId("overview")).toContainText("pbmc3k");
    await expect(page.getByTestId("status-bar")).toContainText("connected");
  } finally {
    await server.stop();
  }
});
