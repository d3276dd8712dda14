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
