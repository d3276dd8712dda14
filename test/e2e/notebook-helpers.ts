/** Notebook steps as a user does them: open the demo, start a new notebook, type SQL in Monaco, add plots. */
import { expect, type Locator, type Page } from "@playwright/test";
import { openApp } from "./helpers";

export async function openDemoNotebook(page: Page, url: string): Promise<void> {
  await openApp(page, url);
  await page.getByTestId("demo-button").click();
  await expect(page.getByTestId("notebook")).toBeVisible();
  await expect(page.getByTestId("sql-cell").first()).toBeVisible();
}

/** A new, unsaved notebook on the open dataset. */
export async function newNotebook(page: Page): Promise<void> {
  await page.getByRole("button", { name: "New", exact: true }).click();
  await expect(page.getByTestId("notebook-name")).toHaveText("Untitled notebook");
  await expect(page.getByTestId("sql-cell")).toHaveCount(1);
}

/** Replaces the text of a SQL cell by typing into its Monaco editor, as a user would. */
export async function typeSql(cell: Locator, sql: string): Promise<void> {
  const editor = cell.getByTestId("sql-editor");
  await editor.locator(".view-lines").click();
  await cell.page().keyboard.press("ControlOrMeta+A");
  await cell.page().keyboard.press("Delete");
  await cell.page().keyboard.type(sql, { delay: 5 });
  await cell.page().keyboard.press("Escape"); // close any suggestion widget
}

/** Adds a plot cell at the end, drawing `source` with the given mark and channels, from the form. */
export async function addPlot(page: Page, source: string, choices: Record<string, string>): Promise<Locator> {
  await page.locator(".adder").last().getByRole("button", { name: "+ Plot" }).click();
  const plot = page.getByTestId("plot-cell").last();
  await plot.getByTestId("plot-source").selectOption(source);
  for (const [field, value] of Object.entries(choices)) await plot.getByTestId(`plot-${field}`).selectOption(value);
  return plot;
}

export async function addSqlCellAtEnd(page: Page): Promise<Locator> {
  const before = await page.getByTestId("sql-cell").count();
  await page.locator(".adder").last().getByRole("button", { name: "+ SQL" }).click();
  await expect(page.getByTestId("sql-cell")).toHaveCount(before + 1);
  return page.getByTestId("sql-cell").last();
}

/** Adds a SQL cell at the end, names it, types the query and runs it in place (Ctrl/Cmd+Enter). */
export async function runNamedSql(page: Page, name: string, sql: string): Promise<Locator> {
  const cell = await addSqlCellAtEnd(page);
  await cell.getByTestId("cell-name").fill(name);
  await cell.getByTestId("cell-name").press("Enter");
  await typeSql(cell, sql);
  await page.keyboard.press("ControlOrMeta+Enter");
  return cell;
}

/** Runs every SQL cell (Run all) and returns what each shows: its name, row count and sorted rows, once each has re-run. */
export async function runAll(page: Page): Promise<string[]> {
  // Cells already show "done" from an earlier run: note which cells start a new run, and wait for those.
  await page.evaluate(() => {
    const w = window as unknown as { __started: string[]; __observer?: MutationObserver };
    w.__observer?.disconnect();
    w.__started = [];
    w.__observer = new MutationObserver((records) => {
      for (const r of records) {
        const el = r.target as Element;
        if (el.getAttribute("data-state") === "previewing" || el.getAttribute("data-state") === "running")
          w.__started.push(el.getAttribute("data-cell-id") ?? "");
      }
    });
    w.__observer.observe(document.body, { subtree: true, attributes: true, attributeFilter: ["data-state"] });
  });
  await page.getByTestId("run-all").click();
  const cells = await page.getByTestId("sql-cell").all();
  expect(cells.length).toBeGreaterThan(0);
  const shown: string[] = [];
  for (const cell of cells) {
    const id = await cell.getAttribute("data-cell-id");
    await expect.poll(() => page.evaluate((cellId) => (window as unknown as { __started: string[] }).__started.includes(cellId ?? ""), id)).toBe(true);
    await expect(cell).toHaveAttribute("data-state", "done", { timeout: 60_000 });
    const grid = cell.getByTestId("data-grid");
    // The grid fetches its rows after the run: wait for them, not placeholders.
    await expect(grid.locator(".cell.loading")).toHaveCount(0);
    const rows = (await grid.locator("[data-row]").allInnerTexts()).map((r) => r.replace(/^\s*\d+\s+/, "").replace(/\s+/g, " ")).sort();
    shown.push(`${await cell.getAttribute("data-name")}: ${await cell.getByTestId("result-count").innerText()}\n${rows.join("\n")}`);
  }
  return shown;
}
