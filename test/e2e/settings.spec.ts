/**
 * The Settings dialog in browser mode: a token is saved write-only (the page and every frame main sends never
 * carry it; the secrets file is 0600), survives a reload as "set", and is cleared; other settings say when they
 * apply.
 */
import fs from "node:fs/promises";
import path from "node:path";
import { expect, test, type Page } from "@playwright/test";
import { useAppServer } from "./app-server";
import { openApp, screenshot } from "./helpers";

const app = useAppServer();
const TOKEN = "hf_E2eSettingsTokenNeverShown0123456789";

/** Every frame main sends to the page, as text (binary frames decoded as UTF-8 as well). */
function recordFrames(page: Page): string[] {
  const frames: string[] = [];
  page.on("websocket", (ws) => ws.on("framereceived", (f) => frames.push(typeof f.payload === "string" ? f.payload : f.payload.toString("utf8"))));
  return frames;
}

async function openSettings(page: Page) {
  await page.getByTestId("open-settings").click();
  const dialog = page.getByTestId("settings-dialog");
  await expect(dialog.getByTestId("hf-token-state")).toBeVisible();
  return dialog;
}

test("a token is saved write-only, shown as set after a reload, and cleared", async ({ page }) => {
  const frames = recordFrames(page);
  await openApp(page, app.url);
  let dialog = await openSettings(page);
  await expect(dialog.getByTestId("hf-token-state")).toHaveText("not set");
  await expect(dialog.getByTestId("hf-token-clear")).toBeDisabled();
  await expect(dialog.getByTestId("settings-save")).toBeDisabled();

  await dialog.getByTestId("hf-token-input").fill(TOKEN);
  await expect(dialog.getByTestId("hf-token-state")).toHaveText("new value, not saved yet");
  await dialog.getByTestId("hub-endpoint").fill("https://hf-mirror.example.org");
  await dialog.getByTestId("s3-region").fill("auto");
  await dialog.getByTestId("s3-endpoint").fill("https://fly.storage.tigris.dev");
  await dialog.getByTestId("s3-addressing").selectOption("path");
  await dialog.getByTestId("sql-folder-input").fill(app.dir);
  await dialog.getByTestId("sql-folder-add").click();
  await dialog.getByTestId("settings-save").click();

  const saved = dialog.getByTestId("settings-saved");
  await expect(saved).toContainText("In effect now: Hugging Face token");
  await expect(saved).toContainText("At the next start: Hub endpoint https://hf-mirror.example.org (this session keeps reading https://huggingface.co)");
  await expect(saved).toContainText("SQL folders");
  await expect(dialog.getByTestId("hf-token-state")).toHaveText("set");
  await expect(dialog.getByTestId("hf-token-input")).toHaveValue("");
  await expect(dialog.getByTestId("sql-folders")).toContainText(await fs.realpath(app.dir));
  await screenshot(page, "30-settings-saved");

  const secrets = path.join(app.userData, "secrets.json");
  expect((await fs.stat(secrets)).mode & 0o777).toBe(0o600);
  expect(await fs.readFile(path.join(app.userData, "settings.json"), "utf8")).not.toContain(TOKEN);

  await page.reload();
  await expect(page.locator('[data-app-state="ready"]')).toBeVisible();
  dialog = await openSettings(page);
  await expect(dialog.getByTestId("hf-token-state")).toHaveText("set");
  await expect(dialog.getByTestId("hub-endpoint")).toHaveValue("https://hf-mirror.example.org");
  await expect(dialog.getByTestId("s3-addressing")).toHaveValue("path");

  await dialog.getByTestId("hf-token-clear").click();
  await expect(dialog.getByTestId("hf-token-state")).toHaveText("will be cleared");
  await dialog.getByTestId("settings-save").click();
  await expect(dialog.getByTestId("hf-token-state")).toHaveText("not set");
  await expect(dialog.getByTestId("settings-saved")).toContainText("In effect now: Hugging Face token");
  await screenshot(page, "31-settings-cleared");
  expect(await fs.readFile(secrets, "utf8")).not.toContain(TOKEN);

  await page.keyboard.press("Escape");
  await expect(page.getByTestId("settings-dialog")).toBeHidden();
  expect(frames.length).toBeGreaterThan(0);
  expect(frames.join("\n")).not.toContain(TOKEN);
  expect(await page.content()).not.toContain(TOKEN);
});
