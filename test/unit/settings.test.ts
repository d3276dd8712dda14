import fs from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultSettings, loadSettings, saveSettings, settingsPath } from "../../main/services/settings";
import { isAppFailure } from "../../shared/result";
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
    expect(await withSettings(null)).toEqual({
      settings: { sql: { allowedDirectories: [] }, hub: { endpoint: null }, s3: { accessKeyId: null, region: null, endpoint: null, pathStyle: null } },
      warnings: [],
    });
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

describe("Hub and S3 settings", () => {
  it("reads the Hub endpoint and the S3 store, normalized", async () => {
    const { settings, warnings } = await withSettings(
      JSON.stringify({
        hub: { endpoint: "https://hf-mirror.example.org/" },
        s3: { accessKeyId: " AKIAEXAMPLE ", region: "auto", endpoint: "https://fly.storage.tigris.dev", pathStyle: true },
      }),
    );
    expect(warnings).toEqual([]);
    expect(settings.hub.endpoint).toBe("https://hf-mirror.example.org");
    expect(settings.s3).toEqual({ accessKeyId: "AKIAEXAMPLE", region: "auto", endpoint: "https://fly.storage.tigris.dev", pathStyle: true });
  });

  it("leaves out each wrong entry with a warning naming it", async () => {
    const { settings, warnings } = await withSettings(
      JSON.stringify({
        hub: { endpoint: "ftp://hub.example.org" },
        s3: { accessKeyId: "has space", region: "us east", endpoint: "https://user:pw@minio.local:9000", pathStyle: "yes" },
      }),
    );
    expect(settings).toEqual(defaultSettings());
    expect(warnings).toHaveLength(5);
    const text = warnings.join("\n");
    expect(text).toMatch(/hub\.endpoint must start with https:\/\/ or http:\/\//);
    expect(text).toMatch(/s3\.accessKeyId must be an access key id/);
    expect(text).toMatch(/s3\.region must be a region name/);
    expect(text).toMatch(/s3\.endpoint must not contain a user name or password/);
    expect(text).not.toContain("pw@");
    expect(text).toMatch(/s3\.pathStyle must be true or false/);
  });

  it("saving changes what it is given and keeps every other key, even unknown ones", async () => {
    const user = await fs.mkdtemp(path.join(dir, "user-"));
    const tables = await fs.mkdtemp(path.join(dir, "tables-"));
    await fs.writeFile(settingsPath(user), JSON.stringify({ cache: { maxBytes: 1000 }, s3: { region: "eu-west-1", extra: 1 } }));
    await saveSettings(user, {
      hub: { endpoint: "https://hub.example.org" },
      s3: { accessKeyId: "AKIA1", region: null },
      sql: { allowedDirectories: [tables] },
    });
    expect(JSON.parse(await fs.readFile(settingsPath(user), "utf8"))).toEqual({
      cache: { maxBytes: 1000 },
      s3: { extra: 1, accessKeyId: "AKIA1" },
      hub: { endpoint: "https://hub.example.org" },
      sql: { allowedDirectories: [tables] },
    });
    await saveSettings(user, { hub: { endpoint: null } });
    expect(JSON.parse(await fs.readFile(settingsPath(user), "utf8"))).not.toHaveProperty("hub");
    expect((await fs.readdir(user)).sort()).toEqual(["settings.json"]);
  });

  it("does not overwrite a settings.json it cannot read (SETTINGS_INVALID), and leaves it as it was", async () => {
    const user = await fs.mkdtemp(path.join(dir, "user-"));
    await fs.writeFile(settingsPath(user), "{ hand-edited, broken");
    const e = await saveSettings(user, { hub: { endpoint: null } }).catch((x: unknown) => x);
    expect(isAppFailure(e, "SETTINGS_INVALID")).toBe(true);
    expect((e as Error).message).toMatch(/settings\.json is not valid JSON .*fix or delete it first/);
    expect(await fs.readFile(settingsPath(user), "utf8")).toBe("{ hand-edited, broken");
  });
});
