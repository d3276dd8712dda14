import fs from "node:fs/promises";
import path from "node:path";
import { expect, test } from "@playwright/test";
import { DATA_DIR } from "../fixtures/pbmc";
import { writeCellxgeneH5ad } from "../unit/convert/cellxgene-h5ad";
import { writePbmcSamples } from "../unit/convert/pbmc-samples";
import { readBack } from "../unit/convert/read-back";
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

test("converts a CELLxGENE-style h5ad with the matrix choice: counts from raw/X by default, X when chosen", async ({ page }) => {
  const input = path.join(app.dir, "cellxgene.h5ad");
  const data = await writeCellxgeneH5ad(input);
  const xStored = data.X.reduce((n, r) => n + r.genes.length, 0);
  await openApp(page, app.url);
  await page.getByTestId("convert-button").click();
  const dialog = page.getByTestId("convert-dialog");
  await dialog.getByTestId("convert-input").fill(input);
  await dialog.getByTestId("convert-input").blur();
  const matrices = dialog.getByTestId("convert-matrices");
  const raw = matrices.getByTestId("convert-matrix-raw");
  const x = matrices.getByTestId("convert-matrix-X");
  await expect(raw.locator(".path")).toHaveText("raw/X");
  await expect(raw).toContainText("160 × 8,674 · float32 · integers: yes · 151,815 stored");
  await expect(x.locator(".path")).toHaveText("X");
  await expect(x).toContainText(`160 × ${data.genes.length.toLocaleString("en-US")} · float32 · integers: no · ${xStored.toLocaleString("en-US")} stored`);
  await expect(raw.getByRole("radio")).toBeChecked();
  await expect(raw).toContainText("default");
  await expect(x.getByRole("radio")).not.toBeChecked();
  await expect(dialog.getByTestId("convert-matrix-reason")).toContainText("Default raw/X: raw/X holds integer counts and X does not");
  await dialog.getByTestId("convert-keep-other").check();
  const counts = path.join(app.dir, "cellxgene-counts.slaf");
  await dialog.getByTestId("convert-output").fill(counts);
  await screenshot(page, "17-convert-matrix-choice");
  await dialog.getByTestId("convert-start").click();
  await expect(dialog.getByTestId("convert-done")).toContainText("Converted 160 cells × 8,674 genes (151,815 values of raw/X, uint16)");
  await expect(dialog.getByTestId("convert-notes")).toContainText("expression holds raw/X (float32, integer counts), by default");
  await expect(dialog.getByTestId("convert-notes")).toContainText("X is kept as the layer X");
  const config = JSON.parse(await fs.readFile(path.join(counts, "config.json"), "utf8"));
  expect(config.metadata.source_matrix).toBe("raw/X");
  expect(config.layers.available).toEqual(["X"]);
  await dialog.getByTestId("convert-open").click();
  await expect(page.getByTestId("fact-expression-count")).toHaveText("151,815");

  await page.getByRole("button", { name: "Convert…" }).click();
  await dialog.getByTestId("convert-input").fill(input);
  await dialog.getByTestId("convert-input").blur();
  await dialog.getByTestId("convert-matrix-X").getByRole("radio").check();
  await expect(dialog.getByTestId("convert-keep-other")).toBeVisible();
  const normalized = path.join(app.dir, "cellxgene-x.slaf");
  await dialog.getByTestId("convert-output").fill(normalized);
  await dialog.getByTestId("convert-start").click();
  await expect(dialog.getByTestId("convert-done")).toContainText(
    `Converted 160 cells × ${data.genes.length.toLocaleString("en-US")} genes (${xStored.toLocaleString("en-US")} values of X, float32)`,
  );
  await expect(dialog.getByTestId("convert-notes")).toContainText("expression holds X (float32, non-integer values), as chosen");
  expect(JSON.parse(await fs.readFile(path.join(normalized, "config.json"), "utf8")).metadata.source_matrix).toBe("X");
});

test("converts three samples into one dataset in the dialog: add, reorder and name them, then see the sample column", async ({ page }) => {
  const samples = await writePbmcSamples(path.join(app.dir, "atlas-inputs"));
  await openApp(page, app.url);
  await page.getByTestId("convert-button").click();
  const dialog = page.getByTestId("convert-dialog");
  const rows = dialog.getByTestId("convert-input-row");
  const fillRow = async (i: number, p: string) => {
    await rows.nth(i).getByTestId("convert-input").fill(p);
    await rows.nth(i).getByTestId("convert-input").blur();
  };
  await fillRow(0, samples.paths.donorB);
  await expect(rows.nth(0).getByTestId("convert-inspection")).toContainText("h5ad · 50 cells");
  await dialog.getByTestId("convert-add-input").click();
  await fillRow(1, samples.paths.donorA);
  await expect(rows.nth(1).getByTestId("convert-inspection")).toContainText("10x_mtx · 50 cells");
  await dialog.getByTestId("convert-add-input").click();
  await fillRow(2, samples.paths.donorC);
  await expect(rows.nth(2).getByTestId("convert-inspection")).toContainText("10x_h5 · 60 cells");
  // The matrix choice is per input, so it is not offered for several.
  await expect(dialog.getByTestId("convert-matrices")).toHaveCount(0);
  // donorA first, then donorB, then donorC renamed.
  await rows.nth(1).getByTestId("convert-up").click();
  await expect(rows.nth(0).getByTestId("convert-input")).toHaveValue(samples.paths.donorA);
  await expect(rows.nth(0).getByTestId("convert-sample")).toHaveAttribute("placeholder", "donorA");
  await expect(rows.nth(1).getByTestId("convert-sample")).toHaveAttribute("placeholder", "donorB");
  await rows.nth(2).getByTestId("convert-sample").fill("donor-C");
  const output = path.join(app.dir, "atlas.slaf");
  await dialog.getByTestId("convert-output").fill(output);
  await screenshot(page, "18-convert-samples");
  await dialog.getByTestId("convert-start").click();
  await expect(dialog.getByTestId("convert-done")).toContainText("Converted 160 cells × 8,674 genes");
  await expect(dialog.getByTestId("convert-progress")).toContainText("160 / 160 cells");
  await expect(dialog.getByTestId("convert-samples")).toContainText("donorA: 50 cells (10x_mtx)");
  await expect(dialog.getByTestId("convert-samples")).toContainText("donor-C: 60 cells (10x_h5)");
  await expect(dialog.getByTestId("convert-notes")).toContainText("donorB lacks 10");
  const back = await readBack(output);
  expect(back.cells.sample).toEqual([...new Array(50).fill("donorA"), ...new Array(50).fill("donorB"), ...new Array(60).fill("donor-C")]);
  expect(back.expression.cell.length).toBe(samples.expected.length);
  await dialog.getByTestId("convert-open").click();
  const sidebar = page.getByTestId("sidebar");
  await expect(sidebar.getByTestId("table-cells")).toContainText("sample");
  await sidebar.getByTestId("table-cells").getByTitle("Browse cells").click();
  await expect(page.getByTestId("data-grid").locator('[data-row="0"]')).toContainText("donorA");
  await screenshot(page, "19-convert-samples-opened");
});

test("converts a CITE-seq .h5: Gene Expression by default, the antibodies written beside it on request", async ({ page }) => {
  await openApp(page, app.url);
  await page.getByTestId("convert-button").click();
  const dialog = page.getByTestId("convert-dialog");
  await dialog.getByTestId("convert-input").fill(path.join(DATA_DIR, "real-world", "citeseq.h5"));
  await dialog.getByTestId("convert-input").blur();
  const types = dialog.getByTestId("convert-feature-types");
  await expect(types.getByTestId("convert-feature-type-Gene Expression").getByRole("checkbox")).toBeChecked();
  await expect(types.getByTestId("convert-feature-type-Antibody Capture")).toContainText("20 features");
  await expect(types.getByTestId("convert-feature-type-Antibody Capture").getByRole("checkbox")).not.toBeChecked();
  await types.getByTestId("convert-split-feature-types").check();
  const output = path.join(app.dir, "cite.slaf");
  await dialog.getByTestId("convert-output").fill(output);
  await dialog.getByTestId("convert-start").click();
  await expect(dialog.getByTestId("convert-done")).toContainText("Converted 160 cells × 8,674 genes (151,815 values");
  await expect(dialog.getByTestId("convert-sibling")).toContainText(
    `Antibody Capture: 160 cells × 20 features in ${path.join(app.dir, "cite.antibody-capture.slaf")}`,
  );
  await expect(dialog.getByTestId("convert-notes")).toContainText("left out: 20 Antibody Capture (ADT_0, ADT_1, ADT_2, …)");
  expect((await readBack(path.join(app.dir, "cite.antibody-capture.slaf"))).genes.gene_id).toHaveLength(20);
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
