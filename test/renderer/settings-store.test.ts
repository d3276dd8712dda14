/**
 * The Settings store against the real SettingsService on a temp user-data folder: it sends only what changed,
 * trims pasted secrets, forgets a typed secret once saved, shows set / not set, and keeps the draft when a save
 * is refused.
 */
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client, SettingsUpdate } from "../../shared/ipc/contract";
import { fileSecretStore } from "../../main/services/secrets/store";
import { SettingsService } from "../../main/services/settings-service";
import { Settings, updateFrom } from "../../renderer/stores/settings.svelte";

const TOKEN = "hf_RendererStoreTestToken0123456789ab";
let dir: string;

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "slafwb-settings-store-"));
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

async function setup() {
  const user = await fs.mkdtemp(path.join(dir, "user-"));
  const service = new SettingsService({
    userDataDir: user,
    secrets: fileSecretStore(user),
    inUse: { hubEndpoint: "https://huggingface.co", allowedDirectories: [] },
    environment: { hubEndpoint: null, hfToken: null },
  });
  const sent: SettingsUpdate[] = [];
  const client = {
    settings: {
      get: () => service.get(),
      set: (req: SettingsUpdate) => (sent.push(structuredClone(req)), service.set(req)),
    },
  } as unknown as Client;
  const store = new Settings(client);
  await store.load();
  return { store, sent, user };
}

describe("settings store", () => {
  it("starts clean: nothing to save, secrets not set", async () => {
    const { store } = await setup();
    expect(store.state?.hfToken).toEqual({ set: false, fromEnvironment: false });
    expect(store.draft?.hfToken).toBe("");
    expect(store.dirty).toBe(false);
    expect(await store.save()).toBe(true);
  });

  it("saves a pasted token trimmed, then forgets it and shows it as set", async () => {
    const { store, sent } = await setup();
    store.draft!.hfToken = `  ${TOKEN}\n`;
    expect(store.changes).toEqual({ hfToken: TOKEN });
    expect(await store.save()).toBe(true);
    expect(sent).toEqual([{ hfToken: TOKEN }]);
    expect(store.draft!.hfToken).toBe("");
    expect(store.state!.hfToken.set).toBe(true);
    expect(store.saved).toEqual({ appliedNow: ["Hugging Face token"], atRestart: [] });
    expect(JSON.stringify(store.state)).not.toContain(TOKEN);

    store.draft!.clearHfToken = true;
    expect(store.changes).toEqual({ hfToken: null });
    await store.save();
    expect(store.state!.hfToken.set).toBe(false);
    expect(store.draft!.clearHfToken).toBe(false);
  });

  it("sends only the fields that changed, empty text clearing a setting", async () => {
    const { store, sent } = await setup();
    store.draft!.s3Region = "auto";
    store.draft!.s3Addressing = "path";
    await store.save();
    expect(sent.at(-1)).toEqual({ s3: { region: "auto", pathStyle: true } });
    store.draft!.s3Region = " ";
    store.draft!.hubEndpoint = "https://hub.example.org";
    expect(store.changes).toEqual({ hubEndpoint: "https://hub.example.org", s3: { region: null } });
    await store.save();
    expect(store.state!.s3).toMatchObject({ region: null, pathStyle: true });
    expect(store.saved!.atRestart[0]).toMatch(/^Hub endpoint https:\/\/hub\.example\.org \(this session keeps reading/);
  });

  it("a refused save shows the error and keeps what was typed", async () => {
    const { store, user } = await setup();
    store.draft!.sqlFolders = [path.join(user, "no-such-folder")];
    store.draft!.hfToken = TOKEN;
    expect(await store.save()).toBe(false);
    expect(store.error).toMatchObject({ code: "INVALID_ARGUMENT" });
    expect(store.error!.message).toMatch(/no-such-folder is not an existing folder/);
    expect(store.draft!.hfToken).toBe(TOKEN);
    expect(store.state!.hfToken.set).toBe(false);
    store.discard();
    expect(store.draft!.hfToken).toBe("");
    expect(store.draft!.sqlFolders).toEqual([]);
  });

  it("updateFrom ignores whitespace-only secrets", async () => {
    const { store } = await setup();
    expect(updateFrom(store.state!, { ...store.draft!, hfToken: "   ", s3SecretAccessKey: "\n" })).toEqual({});
  });
});

describe("S3 addressing", () => {
  it("Automatic leaves path-style to the gateway (null); path and virtual are saved as such", async () => {
    const { store, sent } = await setup();
    expect(store.draft!.s3Addressing).toBe("auto");
    store.draft!.s3Addressing = "virtual";
    await store.save();
    expect(sent.at(-1)).toEqual({ s3: { pathStyle: false } });
    expect(store.draft!.s3Addressing).toBe("virtual");
    store.draft!.s3Addressing = "auto";
    await store.save();
    expect(sent.at(-1)).toEqual({ s3: { pathStyle: null } });
    expect(store.state!.s3.pathStyle).toBeNull();
  });
});
