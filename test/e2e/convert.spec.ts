import fs from "node:fs/promises";
import path from "node:path";
import { expect, test } from "@playwright/test";
import { DATA_DIR } from "../fixtures/pbmc";
import { useAppServer } from "./app-server";
import { openApp, screenshot } from "./helpers";

const app = useAppServer();

test("converts an h5ad in the Convert dialog, shows progress, and opens the result", async ({ page }) => {
  const output = path.join(app.dir, "converted-pbmc3k.slaf");
  await openApp(page, app.url);
  await page.getByTestId("convert-button").click();
  const dialog = page.getByTestId("convert-dialog");
  await dialog.getByTestId("convert-input").fill(path.join(DATA_DIR, "pbmc3k.h5ad"));
  await dialog.getByTestId("convert-input").blur();
  await expect(dialog.getByTestId("convert-inspection")).toContainText("160 cells × 8,674 genes");
  await dialog.getByTestId("convert-output").fill(output);
  await screenshot(page, "06-convert-dialog");
  await dialog.getByTestId("convert-start").click();
  await expect(dialog.getByTestId("convert-progress")).toBeVisible();
  await expect(dialog.getByTestId("convert-done")).toContainText("Converted 160 cells × 8,674 genes");
  await expect(dialog.getByTestId("convert-progress")).toHaveAttribute("data-state", "done");
  await expect(dialog.getByTestId("convert-progress")).toContainText("160 / 160 cells");
  await screenshot(page, "07-convert-done");
  await dialog.getByTestId("convert-open").click();
  await expect(page.getByTestId("overview")).toContainText("converted-pbmc3k");
  await expect(page.getByTestId("fact-expression-count")).toHaveText("151,815");
  await expect(page.getByTestId("sidebar").getByTestId("table-cells")).toContainText("X_umap");

  // Converting onto an existing output is refused unless "replace" is ticked.
  await page.getByRole("button", { name: "Convert…" }).click();
  await dialog.getByTestId("convert-input").fill(path.join(DATA_DIR, "pbmc3k.h5ad"));
  await dialog.getByTestId("convert-output").fill(output);
  await dialog.getByTestId("convert-start").click();
  await expect(dialog.getByTestId("error")).toHaveAttribute("data-error-code", "CONVERT_OUTPUT_EXISTS");
  await expect(dialog.getByTestId("error")).toContainText(output);
  expect((await fs.readdir(path.dirname(output))).filter((f) => f.startsWith("."))).toEqual([]);
});

test("the start screen's demo builds PBMC 3k and opens its starter notebook", async ({ page }) => {
  await openApp(page, app.url);
  await page.getByTestId("demo-button").click();
  await expect(page.getByTestId("notebook")).toBeVisible();
  await expect(page.getByTestId("sidebar")).toContainText("160 cells × 8,674 genes");
  await expect(page.getByTestId("sql-cell").first()).toBeVisible();
  await expect(page.getByTestId("notebook-name")).toHaveText("pbmc3k.slafnb.md");
});

test("the Convert dialog is a modal: focus starts inside, Tab stays inside, Esc closes it and focus goes back", async ({ page }) => {
  await openApp(page, app.url);
  const opener = page.getByTestId("convert-button");
  await opener.click();
  const dialog = page.getByRole("dialog", { name: "Convert to SLAF" });
  await expect(dialog).toHaveAttribute("aria-modal", "true");
  await expect(dialog.getByTestId("convert-input")).toBeFocused();
  for (let i = 0; i < 12; i++) {
    await page.keyboard.press(i % 3 === 2 ? "Shift+Tab" : "Tab");
    expect(await dialog.evaluate((el) => el.contains(document.activeElement))).toBe(true);
  }
  await page.keyboard.press("Escape");
  await expect(dialog).toHaveCount(0);
  await expect(opener).toBeFocused();
});
