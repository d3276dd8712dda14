import fs from "node:fs/promises";
import path from "node:path";
import { expect, test, type Locator, type Page } from "@playwright/test";
import { loadPbmc } from "../fixtures/pbmc";
import { useAppServer } from "./app-server";
import { BY_MEDIANS, MEDIAN_CELLS, MEDIAN_GENES, writeMediansSlaf } from "../unit/loader/medians-fixture";
import { env, openApp, openDataset, screenshot } from "./helpers";

const app = useAppServer();

/** Canonical ranking as issue 10 defines it: value descending, ties by ascending gene id. */
function rankedSymbols(cellId: number): string[] {
  const pbmc = loadPbmc();
  const cell = pbmc.cells[cellId];
  const order = cell.genes.map((_, k) => k).sort((a, b) => cell.values[b] - cell.values[a] || cell.genes[a] - cell.genes[b]);
  return order.map((k) => pbmc.genes[cell.genes[k]]);
}

function cellTypeOf(cellId: number): string {
  const pbmc = loadPbmc();
  return String(pbmc.obs[cellId][pbmc.obsColumns.indexOf("cell_type")]);
}

/** The cell ids of the rows the grid has drawn (the first screenful), top to bottom. */
async function rowIds(grid: Locator): Promise<string[]> {
  return grid.locator(".row").evaluateAll((rows) =>
    rows
      .map((r) => ({ row: Number(r.getAttribute("data-row")), id: r.getAttribute("data-cell-id") ?? "" }))
      .sort((a, b) => a.row - b.row)
      .map((r) => r.id),
  );
}

/** What the grid shows at row `row`, positions [from, to): the symbol and the second line (bin, value). */
async function tokens(grid: Locator, row: number, from: number, to: number): Promise<{ sym: string; sub: string | null; kind: string }[]> {
  const out = [];
  for (let p = from; p < to; p++) {
    const tok = grid.locator(`.row[data-row="${row}"] .tok[data-pos="${p}"]`);
    const sub = tok.locator(".sub");
    out.push({
      sym: (await tok.locator(".sym").innerText()).trim(),
      sub: (await sub.count()) ? (await sub.innerText()).trim() : null,
      kind: ((await tok.getAttribute("class")) ?? "").split(/\s+/).filter((c) => ["gene", "cls", "sep", "pad", "mask", "oov"].includes(c))[0] ?? "",
    });
  }
  return out;
}

async function start(page: Page): Promise<void> {
  await page.getByTestId("loader-start").click();
  await expect(page.getByTestId("loader-position")).toContainText("Batch 1");
}

test("the dataloader on the demo: tokens decoded to PBMC symbols, stepping, scGPT bins, side by side, exports, play", async ({ page, context }) => {
  await context.grantPermissions(["clipboard-read", "clipboard-write"]);
  await openApp(page, app.url);
  await page.getByTestId("demo-button").click();
  await expect(page.getByTestId("notebook")).toBeVisible();
  const uri = await page.getByTestId("sidebar").locator(".name").getAttribute("title");
  expect(uri).toBeTruthy();

  await page.getByTestId("nav-loader").click();
  const panel = page.getByTestId("loader-panel");
  await expect(panel).toBeVisible();
  await expect(page.getByTestId("opt-label")).toHaveValue("cell_type");
  await screenshot(page, "loader-01-form");

  // Geneformer, canonical: each row is [CLS, genes by descending expression…, SEP, PAD…].
  await start(page);
  const grid = page.getByTestId("batch-grid");
  await expect(grid.locator('.row[data-row="0"]')).toBeVisible();
  await expect(grid).toHaveAttribute("data-cols", "2048");
  // Virtualised: only the visible token positions of the visible rows exist, not 32 × 2048.
  expect(await grid.locator(".tok").count()).toBeLessThan(800);
  const firstIds = await rowIds(grid);
  const cell0 = Number(firstIds[0]);
  const expected = rankedSymbols(cell0);
  const row0 = await tokens(grid, 0, 0, 6);
  expect(row0[0]).toMatchObject({ sym: "CLS", kind: "cls" });
  expect(row0.slice(1).map((t) => t.sym)).toEqual(expected.slice(0, 5));
  expect(row0.slice(1).every((t) => t.kind === "gene")).toBe(true);
  await expect(grid.locator('.row[data-row="0"] .label')).toContainText(cellTypeOf(cell0));
  // The batch's facts: 32 of the demo's 160 cells, none cut at 2048 tokens.
  await expect(page.getByTestId("fact-cells")).toHaveText("32");
  await expect(page.getByTestId("fact-truncated")).toContainText("0");
  await expect(page.getByTestId("composition")).toContainText(cellTypeOf(cell0));
  await expect(page.getByTestId("length-histogram")).toBeVisible();
  await screenshot(page, "loader-02-geneformer");

  // The SEP and padding after the cell's last gene (its gene count + 1), scrolled to.
  const nGenes = loadPbmc().cells[cell0].genes.length;
  await grid.evaluate((el, x) => (el.scrollLeft = x), Math.max(0, (nGenes - 3) * 72));
  const tail = await tokens(grid, 0, nGenes, nGenes + 3);
  expect(tail.map((t) => t.kind)).toEqual(["gene", "sep", "pad"]);
  expect(tail[0].sym).toBe(expected[nGenes - 1]);
  await expect(grid.locator(`.row[data-row="0"] .tok[data-pos="${nGenes + 2}"]`)).toHaveClass(/masked/);
  await screenshot(page, "loader-03-sep-and-padding");
  await grid.evaluate((el) => (el.scrollLeft = 0));

  // Next shows other cells; Prev brings the same ones back.
  await page.getByTestId("loader-next").click();
  await expect(page.getByTestId("loader-position")).toContainText("Batch 2");
  const secondIds = await rowIds(grid);
  expect(secondIds).not.toEqual(firstIds);
  expect(secondIds.filter((id) => firstIds.includes(id))).toEqual([]);
  await page.getByTestId("loader-prev").click();
  await expect(page.getByTestId("loader-position")).toContainText("Batch 1");
  expect(await rowIds(grid)).toEqual(firstIds);

  // A cell's ranked list; a gene across the batch.
  await grid.locator('.row[data-row="0"] .label').click();
  const detail = page.getByTestId("cell-detail");
  await expect(detail).toContainText(String(cell0));
  await expect(detail.locator('[data-gene-row="0"]')).toContainText(expected[0]);
  await grid.locator('.row[data-row="0"] .tok[data-pos="1"]').click();
  await expect(page.getByTestId("token-detail-symbol")).toHaveText(expected[0]);
  await expect(page.getByTestId("token-detail-present")).toContainText("of 32 cells");
  await screenshot(page, "loader-04-gene-across-batch");

  // scGPT: every gene token carries its expression bin, highest first in canonical order.
  await page.getByTestId("opt-tokenizer").selectOption("scgpt");
  await expect(page.getByTestId("opt-max-genes")).toHaveValue("1024");
  await start(page);
  await expect(grid).toHaveAttribute("data-cols", "1026");
  const scgptCell = Number((await rowIds(grid))[0]);
  const s0 = await tokens(grid, 0, 1, 9);
  expect(s0.map((t) => t.sym)).toEqual(rankedSymbols(scgptCell).slice(0, 8));
  const bins = s0.map((t) => Number(/^bin (\d+)$/.exec(t.sub ?? "")?.[1]));
  expect(bins.every((b) => Number.isInteger(b) && b >= 0 && b <= 10)).toBe(true);
  expect(bins).toEqual([...bins].sort((a, b) => b - a));
  expect(bins[0]).toBeGreaterThan(0);
  await screenshot(page, "loader-05-scgpt-bins");

  // Side by side: SLAF 0.5.2 keeps storage order, canonical ranks: the rows differ and are highlighted.
  await page.getByTestId("loader-compare").check();
  const cmp = page.getByTestId("compare-grid");
  await expect(cmp).toBeVisible();
  await expect(page.getByTestId("compare-summary")).toContainText(/[1-9][\d,]* tokens? differ/);
  expect(await cmp.locator(".tok.differs").count()).toBeGreaterThan(0);
  await expect(cmp.locator('.row[data-row="0"] .tag')).toHaveText("0.5.2");
  await expect(cmp.locator('.row[data-row="1"] .tag')).toHaveText("canon");
  await screenshot(page, "loader-06-side-by-side");
  await page.getByTestId("loader-compare").uncheck();
  await expect(grid).toBeVisible();

  // The Python snippet: SLAF's loader on the same dataset with the same options; Copy puts it on the clipboard.
  await page.getByTestId("loader-export").click();
  await page.getByTestId("export-snippet").click();
  const snippet = page.getByTestId("snippet-text");
  await expect(snippet).toContainText("SLAFDataLoader");
  const text = await snippet.innerText();
  expect(text).toContain(`DATASET = "${uri}"`);
  expect(text).toContain('tokenizer_type="scgpt"');
  expect(text).toContain("batch_size=32");
  expect(text).toContain("max_genes=1024");
  await screenshot(page, "loader-07-snippet");
  await page.getByTestId("snippet-copy").click();
  await expect(page.getByTestId("snippet-dialog")).toContainText("Copied");
  expect((await page.evaluate(() => navigator.clipboard.readText())).trim()).toBe(text.trim());
  await page.keyboard.press("Escape");
  await expect(page.getByTestId("snippet-dialog")).toBeHidden();

  // The shown batch as JSON, where the user says.
  const target = path.join(app.dir, "batch-1.json");
  await page.getByTestId("loader-export").click();
  await page.getByTestId("export-json").click();
  await page.getByTestId("path-prompt-input").fill(target);
  await page.getByTestId("path-prompt-confirm").click();
  await expect(page.getByTestId("loader-notice")).toContainText(target);
  const doc = JSON.parse(await fs.readFile(target, "utf8")) as { cell_ids: number[]; input_ids: number[][]; attention_mask: boolean[][]; values: number[][] };
  expect(doc.cell_ids).toHaveLength(32);
  expect(doc.cell_ids[0]).toBe(scgptCell);
  expect(doc.input_ids[0]).toHaveLength(1026);
  expect(doc.input_ids[0][0]).toBe(1);
  expect(loadPbmc().genes[doc.input_ids[0][1] - 4]).toBe(rankedSymbols(scgptCell)[0]);
  expect(doc.values[0][1] - 50_000).toBe(bins[0]);
  expect(doc.attention_mask[0][1]).toBe(true);

  // Raw mode: each cell's COO rows as they are stored.
  await page.getByTestId("opt-tokenizer").selectOption("raw");
  await start(page);
  const rawCell = Number((await rowIds(grid))[0]);
  const pbmc = loadPbmc();
  await expect(grid.locator('.row[data-row="0"] .label')).toHaveAttribute("title", new RegExp(`· ${pbmc.cells[rawCell].genes.length} COO rows`));
  const raw0 = await tokens(grid, 0, 0, 3);
  expect(raw0.map((t) => t.sym)).toEqual(pbmc.cells[rawCell].genes.slice(0, 3).map((g) => pbmc.genes[g]));
  expect(raw0.map((t) => Number(t.sub))).toEqual(pbmc.cells[rawCell].values.slice(0, 3));
  await screenshot(page, "loader-08-raw");

  // Play drains batches as a training loop would: throughput and shuffle quality appear; Pause stops it.
  await page.getByTestId("opt-tokenizer").selectOption("geneformer");
  await page.getByTestId("opt-epochs").fill("10000");
  await start(page);
  await page.getByTestId("loader-play").click();
  await expect(page.getByTestId("loader-pause")).toBeVisible();
  await expect.poll(async () => parseRate(await page.getByTestId("cells-per-s").innerText()), { timeout: 30_000 }).toBeGreaterThan(0);
  await expect.poll(async () => Number(await page.getByTestId("entropy-score").innerText()), { timeout: 30_000 }).toBeGreaterThan(0);
  // The grid follows the newest batch main produced, and says so while main is ahead of it.
  await expect.poll(async () => batchShown(page), { timeout: 30_000 }).toBeGreaterThan(1);
  await expect(page.getByTestId("loader-lag")).toBeVisible({ timeout: 30_000 });
  await expect(page.getByTestId("loader-lag")).toHaveText(/^showing batch [\d,]+ \(latest [\d,]+\)$/);
  await screenshot(page, "loader-09-playing");
  await page.getByTestId("loader-stats").evaluate((el) => (el.scrollTop = el.scrollHeight));
  await screenshot(page, "loader-10-stats-scrolled");
  await page.getByTestId("loader-pause").click();
  await expect(page.getByTestId("loader-play")).toBeVisible();
  await expect(page.getByTestId("throughput")).toContainText("paused");
  // Pausing shows the newest batch; Prev is enabled once nothing is loading.
  await expect(page.getByTestId("loader-prev")).toBeEnabled();
  const paused = await batchShown(page);
  await expect(page.getByTestId("loader-lag")).toBeHidden();
  await page.getByTestId("loader-prev").click();
  await expect.poll(async () => batchShown(page)).toBe(paused - 1);
  await expect(page.getByTestId("loader-lag")).toHaveText(`showing batch ${(paused - 1).toLocaleString("en-US")} (latest ${paused.toLocaleString("en-US")})`);
  await page.getByTestId("loader-stop").click();
  await expect(page.getByTestId("loader-empty")).toBeVisible();
});

test("slafdb-0.5.2 Geneformer cut short: SEP lost on every cell, the cut marked, and fragments feeding batches", async ({ page }) => {
  await openApp(page, app.url);
  await openDataset(page, env("E2E_BIG"));
  await page.getByTestId("nav-loader").click();
  // A batch larger than a preview holds: main's named error, shown in the panel.
  await page.getByTestId("opt-batch-size").fill("4096");
  await page.getByTestId("loader-start").click();
  await expect(page.getByTestId("error")).toHaveAttribute("data-error-code", "LOADER_OPTIONS_INVALID");
  await expect(page.getByTestId("error")).toContainText("batchSize");
  await expect(page.getByTestId("loader-empty")).toBeVisible();
  await page.getByTestId("opt-mode").selectOption("slafdb-0.5.2");
  // normalize_total and log1p do not exist in SLAF 0.5.2: offered in canonical mode only.
  await expect(page.getByTestId("opt-normalize")).toBeDisabled();
  await expect(page.getByTestId("opt-log1p")).toBeDisabled();
  await expect(page.getByTestId("loader-options")).toContainText("canonical mode only");
  await page.getByTestId("opt-max-genes").fill("64");
  await page.getByTestId("opt-batch-size").fill("16");
  await start(page);
  await expect(page.getByTestId("error")).toBeHidden();
  const grid = page.getByTestId("batch-grid");
  await expect(grid).toHaveAttribute("data-cols", "64");
  // Every PBMC cell has more than 62 genes: each row is [CLS, 63 genes] with its SEP lost.
  await expect(page.getByTestId("fact-sep-lost")).toHaveText("16");
  await expect(page.getByTestId("fact-truncated")).toContainText("16");
  await expect(grid.locator('.row[data-row="0"] .seplost')).toBeVisible();
  await grid.evaluate((el) => (el.scrollLeft = el.scrollWidth));
  await expect(grid.locator('.row[data-row="0"] .cut')).toBeVisible();
  const last = grid.locator('.row[data-row="0"] .tok[data-pos="63"]');
  await expect(last).toHaveClass(/\bgene\b/);
  await screenshot(page, "loader-11-slafdb-cut");

  // The cell's own list says where the cut fell.
  await grid.locator('.row[data-row="0"] .label').click();
  await expect(page.getByTestId("cell-detail")).toContainText("63 kept");
  await expect(page.getByTestId("cell-detail")).toContainText("SEP lost");
  await page.getByTestId("jump-to-cut").click();
  await expect(page.getByTestId("cell-genes").locator(".line.cut")).toBeVisible();
  await screenshot(page, "loader-12-cell-cut");

  // Several fragments: the heatmap shows which fed which batch.
  await page.getByTestId("loader-next").click();
  await page.getByTestId("loader-next").click();
  await expect(page.getByTestId("loader-position")).toContainText("Batch 3");
  const heat = page.getByTestId("fragment-heatmap");
  await expect(heat).toHaveAttribute("data-rows", "3");
  await page.getByTestId("loader-stats").evaluate((el) => (el.scrollTop = 0));
  await screenshot(page, "loader-13-fragments");
  await page.getByTestId("loader-stop").click();
});

test("gene medians: canonical Geneformer ranks by value / median; the side-by-side view names genes only SLAF 0.5.2 keeps", async ({ page }) => {
  const root = path.join(app.dir, "medians.slaf");
  await writeMediansSlaf(root);
  await openApp(page, app.url);
  await openDataset(page, root);
  await page.getByTestId("nav-loader").click();
  const medians = page.getByTestId("opt-medians");
  await expect(medians).toBeEnabled();
  expect(await medians.locator("option").allInnerTexts()).toEqual(["none", "gene_median", "n_cells"]);
  await medians.selectOption("gene_median");
  await page.getByTestId("opt-shuffle").uncheck();
  await page.getByTestId("opt-max-genes").fill("8");
  await page.getByTestId("opt-batch-size").fill("3");
  await start(page);
  const grid = page.getByTestId("batch-grid");
  // Cell 0 by value / median: G1 4, G2 4 (tie, by id), G0 2, G5 2; G3 (median 0) dropped.
  expect((await tokens(grid, 0, 0, 7)).map((t) => t.sym)).toEqual(["CLS", ...BY_MEDIANS[0].map((g) => MEDIAN_GENES[g]), "SEP", "PAD"]);
  // Cell 2's genes have no median: [CLS, SEP].
  expect((await tokens(grid, 2, 0, 3)).map((t) => t.sym)).toEqual(["CLS", "SEP", "PAD"]);
  await screenshot(page, "loader-14-medians");

  // Side by side: SLAF 0.5.2 keeps G3 and G4, which the shown (canonical) batch never holds; still named.
  await page.getByTestId("loader-compare").check();
  const cmp = page.getByTestId("compare-grid");
  await expect(cmp).toBeVisible();
  expect((await tokens(cmp, 0, 0, 7)).map((t) => t.sym)).toEqual(["CLS", ...MEDIAN_CELLS[0].genes.map((g) => MEDIAN_GENES[g]), "SEP"]);
  expect((await tokens(cmp, 4, 0, 3)).map((t) => t.sym)).toEqual(["CLS", "G3", "G4"]);
  await cmp.locator('.row[data-row="4"] .tok[data-pos="1"]').click();
  await expect(page.getByTestId("token-detail-symbol")).toHaveText("G3");
  await screenshot(page, "loader-15-medians-side-by-side");
  await page.getByTestId("loader-compare").uncheck();

  // Medians are canonical Geneformer's: off and disabled elsewhere, with a hint.
  await page.getByTestId("opt-mode").selectOption("slafdb-0.5.2");
  await expect(medians).toBeDisabled();
  await expect(medians).toHaveValue("");
  await expect(page.getByTestId("opt-medians-hint")).toContainText("canonical Geneformer only");
  await page.getByTestId("opt-mode").selectOption("canonical");
  await page.getByTestId("opt-tokenizer").selectOption("scgpt");
  await expect(medians).toBeDisabled();
  await page.getByTestId("loader-stop").click();
});

/** The 1-based batch number the panel shows. */
async function batchShown(page: Page): Promise<number> {
  const m = /Batch ([\d,]+)/.exec(await page.getByTestId("loader-position").innerText());
  return m ? Number(m[1].replace(/,/g, "")) : 0;
}

/** "1,234", "12.3k", "1.20M" → a number. */
function parseRate(text: string): number {
  const m = /^([\d.,]+)([kM]?)$/.exec(text.trim());
  if (!m) return 0;
  return Number(m[1].replace(/,/g, "")) * (m[2] === "k" ? 1e3 : m[2] === "M" ? 1e6 : 1);
}
