import path from "node:path";
import { expect, type Page } from "@playwright/test";
import { PROJECT_ROOT } from "../fixtures/pbmc";

/** Fixture paths set by global-setup.ts (read-only datasets shared by all specs). */
export const env = (name: string): string => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run through playwright.config.ts`);
  return v;
};

export async function openApp(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await expect(page.locator('[data-app-state="ready"]')).toBeVisible();
}

export async function openDataset(page: Page, uri: string): Promise<void> {
  await page.getByTestId("open-path").fill(uri);
  await page.getByTestId("open-button").click();
  // A dataset with an embedding opens on Explore; these steps start from the overview.
  await page.getByTestId("nav-overview").click();
  await expect(page.getByTestId("overview")).toBeVisible();
}

/** Screenshots of each screen, kept for people to look at (test-results/screens). */
export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(PROJECT_ROOT, "test-results", "screens", `${name}.png`) });
}
