import fs from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadSettings, settingsPath } from "../../main/services/settings";
import { tempDir } from "../fixtures/slaf-fixture";

let dir: string;
beforeAll(async () => {
  dir = await tempDir("slafwb-settings-");
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

async function withSettings(text: string | null) {
  const user = await fs.mkdtemp(path.join(dir, "user-"));
  if (text !== null) await fs.writeFile(settingsPath(user), text);
  return loadSettings(user);
}

describe("settings.json", () => {
  it("is optional: no file gives the defaults (SQL reads no files) without a warning", async () => {
    expect(await withSettings(null)).toEqual({ settings: { sql: { allowedDirectories: [] } }, warnings: [] });
  });

  it("keeps existing absolute folders by real path and names each entry it leaves out", async () => {
    const tables = await fs.mkdtemp(path.join(dir, "tables-"));
    const link = path.join(dir, "tables-link");
    await fs.symlink(tables, link);
    const file = path.join(tables, "a.csv");
    await fs.writeFile(file, "x\n1\n");
    const { settings, warnings } = await withSettings(JSON.stringify({ sql: { allowedDirectories: [link, tables, "relative/dir", 7, file, "/"] } }));
    expect(settings.sql.allowedDirectories).toEqual([await fs.realpath(tables)]);
    expect(warnings).toHaveLength(4);
    expect(warnings.join("\n")).toMatch(/"relative\/dir" is not an absolute folder path/);
    expect(warnings.join("\n")).toMatch(/7 is not an absolute folder path/);
    expect(warnings.join("\n")).toMatch(/a\.csv is not an existing folder/);
    expect(warnings.join("\n")).toMatch(/root of the file system/);
  });

  it("a broken file is a warning, never a failed start", async () => {
    const bad = await withSettings("{ not json");
    expect(bad.settings.sql.allowedDirectories).toEqual([]);
    expect(bad.warnings[0]).toMatch(/settings\.json is not valid JSON/);
    const user = await fs.mkdtemp(path.join(dir, "user-"));
    await fs.mkdir(settingsPath(user));
    expect((await loadSettings(user)).warnings[0]).toMatch(/is a folder/);
    const wrongShape = await withSettings(JSON.stringify({ sql: { allowedDirectories: "/tmp" } }));
    expect(wrongShape.warnings[0]).toMatch(/must be a list of folder paths/);
  });
});
