import fs from "node:fs/promises";
import path from "node:path";
import { expect, test } from "@playwright/test";
import { useAppServer } from "./app-server";
import { env, openApp, openDataset, screenshot } from "./helpers";
import { newNotebook, openDemoNotebook, runNamedSql } from "./notebook-helpers";

const app = useAppServer();

test("SQL that reads a file is refused, saying why and how to allow a folder", async ({ page }) => {
  const secret = path.join(app.dir, "secret.txt");
  await fs.writeFile(secret, "not for notebooks\n");
  await openDemoNotebook(page, app.url);
  await newNotebook(page);
  const cell = await runNamedSql(page, "peek", `SELECT * FROM read_text('${secret}')`);
  const error = cell.getByTestId("error");
  await expect(error).toHaveAttribute("data-error-code", "QUERY_INVALID");
  await expect(error).toContainText(`SQL cannot read files ("${secret}")`);
  await expect(error).toContainText("sql.allowedDirectories");
  await expect(error).not.toContainText("not for notebooks");
  await screenshot(page, "15-sql-refused-read");
});

test("a damaged table fails its query with a message naming the table, not a Rust trace", async ({ page }) => {
  const root = path.join(app.dir, "damaged.slaf");
  await fs.cp(env("E2E_PBMC"), root, { recursive: true });
  const data = path.join(root, "expression.lance", "data");
  for (const name of await fs.readdir(data)) {
    const file = path.join(data, name);
    await fs.truncate(file, Math.floor((await fs.stat(file)).size / 2));
  }
  await openApp(page, app.url);
  await openDataset(page, root);
  await page.getByTestId("nav-notebook").click();
  await expect(page.getByTestId("sql-cell").first()).toBeVisible();
  await newNotebook(page);
  const cell = await runNamedSql(page, "total", "SELECT SUM(value) AS total FROM expression");
  const error = cell.getByTestId("error");
  await expect(error).toHaveAttribute("data-error-code", "TABLE_CORRUPT");
  await expect(error).toContainText('Table "expression"');
  await expect(error.locator(".message")).not.toContainText(/rustc|\.rs:\d/);
  await screenshot(page, "16-table-corrupt");

  // The other tables still answer.
  const cells = await runNamedSql(page, "n", "SELECT COUNT(*) AS n FROM cells");
  await expect(cells.getByTestId("result-count")).toHaveText("1 row");
});
