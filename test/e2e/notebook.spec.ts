import fs from "node:fs/promises";
import path from "node:path";
import { expect, test, type Page } from "@playwright/test";
import { parseNotebook } from "../../shared/notebook/format";
import { useAppServer } from "./app-server";
import { env, openApp, openDataset, screenshot } from "./helpers";
import { addPlot, addSqlCellAtEnd, newNotebook, openDemoNotebook as openDemoAt, runNamedSql, typeSql } from "./notebook-helpers";

const app = useAppServer();
const openDemoNotebook = (page: Page) => openDemoAt(page, app.url);

test("the demo's starter notebook runs: results, scans and plots", async ({ page }) => {
  await openDemoNotebook(page);
  await page.getByTestId("run-all").click();
  const cellTypes = page.locator('[data-testid="sql-cell"][data-name="cell_types"]');
  await expect(cellTypes.getByTestId("result-count")).toHaveText("8 rows");
  await expect(cellTypes.getByTestId("scan-cells")).toContainText("160 / 160 rows");
  // every SQL cell of the starter ends done
  for (const cell of await page.getByTestId("sql-cell").all()) await expect(cell).toHaveAttribute("data-state", "done", { timeout: 30_000 });
  const plots = page.getByTestId("plot-figure");
  await expect(plots.first().locator("svg").first()).toBeVisible();
  await expect(plots.first().locator("svg rect").nth(7)).toBeVisible(); // 8 bars
  await expect(plots.last().locator("svg circle").nth(159)).toBeAttached(); // UMAP: 160 dots
  await screenshot(page, "08-demo-notebook-run");
});

test("New after Run all starts with no outputs: a new SQL cell does not show the starter's result", async ({ page }) => {
  await openDemoNotebook(page);
  await page.getByTestId("run-all").click();
  for (const cell of await page.getByTestId("sql-cell").all()) await expect(cell).toHaveAttribute("data-state", "done", { timeout: 30_000 });
  const ranIds = await page.getByTestId("sql-cell").evaluateAll((els) => els.map((e) => e.getAttribute("data-cell-id")));

  await newNotebook(page);
  const first = page.getByTestId("sql-cell").first();
  await expect(first).toHaveAttribute("data-state", "idle");
  const added = await addSqlCellAtEnd(page);
  // The new cells reuse the starter's cell ids, and show none of its results.
  expect(ranIds).toContain(await added.getAttribute("data-cell-id"));
  await expect(added).toHaveAttribute("data-state", "idle");
  await expect(page.getByTestId("result")).toHaveCount(0);
  await expect(page.getByTestId("plot-figure")).toHaveCount(0);
});

test("type a query in Monaco, run it, plot it, save, and reopen the same cells", async ({ page }) => {
  await openDemoNotebook(page);
  await newNotebook(page);
  const cell = await runNamedSql(
    page,
    "per_type",
    "SELECT cell_type, AVG(nCount_RNA) AS mean_umis, COUNT(*) AS n FROM cells GROUP BY cell_type ORDER BY n DESC",
  );
  await expect(cell.getByTestId("result-count")).toHaveText("8 rows");
  await expect(cell.getByTestId("data-grid").locator('[data-row="0"]')).toContainText("20");

  // Export the result, as CSV and as Parquet.
  const csvPath = path.join(app.dir, "exports", "per_type.csv");
  await fs.mkdir(path.dirname(csvPath), { recursive: true });
  await cell.getByRole("button", { name: "CSV" }).click();
  await page.getByTestId("path-prompt-input").fill(csvPath);
  await page.getByTestId("path-prompt-confirm").click();
  await expect(cell).toContainText(new RegExp(`Saved [\\d.]+ [KM]?B to ${csvPath}`));
  const csv = (await fs.readFile(csvPath, "utf8")).trim().split("\n");
  expect(csv[0]).toBe("cell_type,mean_umis,n");
  expect(csv).toHaveLength(9);
  const parquetPath = path.join(app.dir, "exports", "per_type.parquet");
  await cell.getByRole("button", { name: "Parquet" }).click();
  await page.getByTestId("path-prompt-input").fill(parquetPath);
  await page.getByTestId("path-prompt-confirm").click();
  await expect(cell).toContainText(new RegExp(`Saved [\\d.]+ [KM]?B to ${parquetPath}`));
  expect((await fs.readFile(parquetPath)).subarray(0, 4).toString()).toBe("PAR1");

  const plot = await addPlot(page, "per_type", { mark: "bar", x: "cell_type", y: "mean_umis" });
  await expect(plot.getByTestId("plot-figure").locator("svg rect").nth(7)).toBeVisible();
  await screenshot(page, "09-typed-query-and-plot");

  const target = path.join(app.dir, "saved", "my-analysis.slafnb.md");
  await page.getByTestId("save-as-notebook").click();
  await page.getByTestId("path-prompt-input").fill(target);
  await page.getByTestId("path-prompt-confirm").click();
  await expect(page.getByTestId("notebook-name")).toHaveText("my-analysis.slafnb.md");
  await expect(page.getByTestId("dirty-marker")).toHaveCount(0);
  const saved = parseNotebook(await fs.readFile(target, "utf8"));
  const kinds = saved.cells.map((c) => c.kind);
  expect(saved.cells.find((c) => c.kind === "sql" && c.name === "per_type")).toMatchObject({ text: expect.stringContaining("AVG(nCount_RNA)") });
  expect(saved.cells.at(-1)).toMatchObject({ kind: "plot", source: "per_type", spec: { mark: "bar", x: "cell_type", y: "mean_umis" } });

  // A fresh page: open the saved file and find the same cells.
  await page.reload();
  await openDemoNotebook(page);
  await page.getByRole("button", { name: "Open…" }).click();
  await page.getByTestId("path-prompt-input").fill(target);
  await page.getByTestId("path-prompt-confirm").click();
  await expect(page.getByTestId("notebook-name")).toHaveText("my-analysis.slafnb.md");
  const cellsNow = page.locator("article.cell");
  await expect(cellsNow).toHaveCount(kinds.length);
  expect(await cellsNow.evaluateAll((els) => els.map((e) => e.getAttribute("data-kind")))).toEqual(kinds);
  await expect(page.getByTestId("cell-name").last()).toHaveValue("per_type");
});

test("export asks before replacing a file: Keep it leaves the first export, Replace writes over it", async ({ page }) => {
  await openDemoNotebook(page);
  await newNotebook(page);
  const cell = await runNamedSql(page, "types", "SELECT cell_type FROM cells GROUP BY cell_type ORDER BY cell_type LIMIT 2");
  await expect(cell).toHaveAttribute("data-state", "done");
  const target = path.join(app.dir, "cell-types.csv");
  const exportCsv = async () => {
    await cell.getByRole("button", { name: "CSV" }).click();
    await page.getByTestId("path-prompt-input").fill(target);
    await page.getByTestId("path-prompt-confirm").click();
  };
  const lines = async () => (await fs.readFile(target, "utf8")).trim().split("\n").length;
  await exportCsv();
  await expect(cell).toContainText(new RegExp(`Saved [\\d.]+ [KM]?B to ${target}`));
  expect(await lines()).toBe(3);

  await typeSql(cell, "SELECT cell_type FROM cells GROUP BY cell_type ORDER BY cell_type LIMIT 5");
  await page.keyboard.press("ControlOrMeta+Enter");
  await expect(cell.getByTestId("result-count")).toHaveText("5 rows");
  await exportCsv();
  const question = page.getByTestId("confirm-dialog");
  await expect(question).toContainText("Replace cell-types.csv?");
  await expect(question).toContainText(`${target} already exists`);
  await expect(question.getByTestId("confirm-no")).toBeFocused();
  await screenshot(page, "14-export-replace-question");
  await question.getByTestId("confirm-no").click();
  await expect(question).toHaveCount(0);
  await expect(cell).toContainText(`Not exported: kept the existing ${target}`);
  expect(await lines()).toBe(3);

  await exportCsv();
  await question.getByTestId("confirm-yes").click();
  await expect(cell).toContainText(new RegExp(`Saved [\\d.]+ [KM]?B to ${target}`));
  expect(await lines()).toBe(6);
});

test("a syntax error is marked in the editor; a long query can be cancelled", async ({ page }) => {
  await openDemoNotebook(page);
  await newNotebook(page);
  const cell = await addSqlCellAtEnd(page);
  await typeSql(cell, "SELECT cell_type FROM cells WHERE");
  await page.keyboard.press("ControlOrMeta+Enter");
  await expect(cell.getByTestId("error")).toHaveAttribute("data-error-code", "QUERY_INVALID");
  await expect(cell.locator(".squiggly-error")).toBeVisible();
  await cell.getByTestId("error").scrollIntoViewIfNeeded();
  await screenshot(page, "10-syntax-error");

  await typeSql(cell, "SELECT COUNT(*) FROM expression a JOIN expression b ON a.value < b.value");
  await page.keyboard.press("ControlOrMeta+Enter");
  const confirm = cell.getByTestId("confirm-run");
  const cancel = cell.getByTestId("cancel-cell");
  await expect(confirm.or(cancel)).toBeVisible();
  if (await confirm.isVisible()) await confirm.getByRole("button", { name: "Run anyway" }).click();
  await expect(cell).toHaveAttribute("data-state", "running");
  await cancel.click();
  await expect(cell).toHaveAttribute("data-state", "cancelled");
  await expect(cell.getByTestId("cell-cancelled")).toBeVisible();
});

test("a scatter plot of 100k+ points draws on a canvas and exports as SVG and PNG", async ({ page }) => {
  await openApp(page, app.url);
  await openDataset(page, env("E2E_BIG"));
  await page.getByTestId("nav-notebook").click();
  await expect(page.getByTestId("sql-cell").first()).toBeVisible();
  await newNotebook(page);
  const cell = await runNamedSql(page, "points", "SELECT gene_integer_id AS gene, cell_integer_id AS cell, value FROM expression WHERE cell_integer_id < 130");
  await expect(cell.getByTestId("result-count")).toHaveText(/^1\d\d,\d{3} rows$/);
  // The id range was pushed down into Lance: fewer rows read than the table has.
  const scanned = await cell.getByTestId("scan-expression").innerText();
  const [read, total] = scanned
    .match(/([\d,]+) \/ ([\d,]+) rows/)!
    .slice(1)
    .map((s) => Number(s.replaceAll(",", "")));
  expect(read).toBeLessThan(total);

  const plot = await addPlot(page, "points", { x: "gene", y: "cell", fill: "value" });
  const canvas = plot.locator("canvas.plot-canvas");
  await expect(canvas).toBeVisible({ timeout: 30_000 });
  const painted = await canvas.evaluate((c: HTMLCanvasElement) => {
    const data = c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 3; i < data.length; i += 4) if (data[i] > 0) n++;
    return n;
  });
  expect(painted).toBeGreaterThan(5_000);
  await plot.scrollIntoViewIfNeeded();
  await screenshot(page, "11-large-scatter");

  const [svg] = await Promise.all([page.waitForEvent("download"), plot.getByRole("button", { name: "SVG" }).click()]);
  const svgText = await fs.readFile((await svg.path())!, "utf8");
  expect(svgText).toMatch(/^<svg/);
  expect(svgText).toContain("data:image/png;base64,");
  const [png] = await Promise.all([page.waitForEvent("download"), plot.getByRole("button", { name: "PNG" }).click()]);
  const pngBytes = await fs.readFile((await png.path())!);
  expect([...pngBytes.subarray(0, 4)]).toEqual([0x89, 0x50, 0x4e, 0x47]);
});

test("completion offers the dataset's tables and columns; a named result is queried by a later cell", async ({ page }) => {
  await openDemoNotebook(page);
  await newNotebook(page);
  const first = await runNamedSql(page, "busy_cells", "SELECT cell_id, cell_type, nCount_RNA FROM cells WHERE nCount_RNA > 3000");
  await expect(first).toHaveAttribute("data-state", "done");

  const second = await addSqlCellAtEnd(page);
  await typeSql(second, "SELECT cell_type, COUNT(*) AS n FROM busy_");
  await page.keyboard.press("Control+Space");
  const suggest = page.locator(".suggest-widget[monaco-visible-content-widget]");
  await expect(suggest).toBeVisible();
  await expect(suggest).toContainText("busy_cells");
  await page.keyboard.press("Enter");
  await page.keyboard.type(" GROUP BY cell_type ORDER BY n DESC", { delay: 5 });
  await page.keyboard.press("Escape");
  await page.keyboard.press("ControlOrMeta+Enter");
  await expect(second).toHaveAttribute("data-state", "done");
  await expect(second.getByTestId("sql-editor")).toContainText("FROM busy_cells GROUP BY");

  // Column names of the open dataset complete too.
  const third = await addSqlCellAtEnd(page);
  await typeSql(third, "SELECT percent_");
  await page.keyboard.press("Control+Space");
  await expect(page.locator(".suggest-widget[monaco-visible-content-widget]")).toContainText("percent_mt");
  await page.keyboard.press("Escape");
});

test("a notebook changed on disk reloads, or asks first when there are unsaved edits", async ({ page }) => {
  await openDemoNotebook(page);
  const file = path.join(app.userData, "notebooks", "pbmc3k.slafnb.md");
  const original = await fs.readFile(file, "utf8");
  await page.locator(".autosave input").uncheck();
  await fs.writeFile(file, `${original}\nAdded from another editor.\n`);
  await expect(page.getByTestId("notebook")).toContainText("Added from another editor.");
  await expect(page.getByTestId("notebook-conflict")).toHaveCount(0);

  const cell = await addSqlCellAtEnd(page);
  await typeSql(cell, "SELECT 42 AS answer");
  await expect(page.getByTestId("dirty-marker")).toBeVisible();
  await fs.writeFile(file, `${original}\nChanged again outside.\n`);
  await expect(page.getByTestId("notebook-conflict")).toBeVisible();
  await screenshot(page, "12-notebook-conflict");
  await page.getByTestId("notebook-conflict").getByRole("button", { name: "Reload from disk" }).click();
  await expect(page.getByTestId("notebook")).toContainText("Changed again outside.");
  await expect(page.getByTestId("notebook")).not.toContainText("SELECT 42 AS answer");
  await expect(page.getByTestId("dirty-marker")).toHaveCount(0);
});

test("cells can be added, written in Markdown, moved and deleted", async ({ page }) => {
  await openDemoNotebook(page);
  await newNotebook(page);
  const kinds = () => page.locator("article.cell").evaluateAll((els) => els.map((e) => e.getAttribute("data-kind")));
  await page.locator(".adder").last().getByRole("button", { name: "+ Text" }).click();
  const note = page.getByTestId("markdown-cell");
  await note.locator("textarea").fill("## Marker genes\n\nA **short** note.");
  await note.locator("textarea").press("Shift+Enter");
  await expect(note.locator("h2")).toHaveText("Marker genes");
  await expect(note.locator("strong")).toHaveText("short");
  expect(await kinds()).toEqual(["sql", "markdown"]);

  await page.locator('article.cell[data-kind="markdown"]').hover();
  await page.locator('article.cell[data-kind="markdown"]').getByRole("button", { name: "Move cell up" }).click();
  expect(await kinds()).toEqual(["markdown", "sql"]);
  await expect(page.getByTestId("dirty-marker")).toBeVisible();

  await page.locator('article.cell[data-kind="sql"]').hover();
  await page.locator('article.cell[data-kind="sql"]').getByRole("button", { name: "Delete cell" }).click();
  expect(await kinds()).toEqual(["markdown"]);
});
