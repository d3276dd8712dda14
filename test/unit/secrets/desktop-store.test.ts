/**
 * The desktop secret store's logic, with a stand-in for Electron's safeStorage (no Electron binary here): an
 * AES-GCM key in memory plays the system keychain. Values are stored encrypted in a 0600 file; without a keychain
 * the private file of browser mode is used; a keychain that changed gives a named error, not garbage.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isAppFailure } from "../../../shared/result";
import { DESKTOP_SECRETS_FILE, desktopSecretStore, type SafeStorageApi } from "../../../main/electron/secret-store";
import { SECRETS_FILE } from "../../../main/services/secrets/store";
import { tempDir } from "../../fixtures/slaf-fixture";

const TOKEN = "hf_DesktopStoreTestToken0123456789";
let dir: string;

beforeAll(async () => {
  dir = await tempDir("slafwb-desktop-secrets-");
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

function keychain(opts: { available?: boolean; backend?: ReturnType<SafeStorageApi["getSelectedStorageBackend"]> } = {}): SafeStorageApi {
  const key = randomBytes(32);
  return {
    isAsyncEncryptionAvailable: async () => opts.available ?? true,
    getSelectedStorageBackend: () => opts.backend ?? "gnome_libsecret",
    encryptStringAsync: async (plain) => {
      const iv = randomBytes(12);
      const cipher = createCipheriv("aes-256-gcm", key, iv);
      const body = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()]);
      return Buffer.concat([iv, cipher.getAuthTag(), body]);
    },
    decryptStringAsync: async (encrypted) => {
      const decipher = createDecipheriv("aes-256-gcm", key, encrypted.subarray(0, 12));
      decipher.setAuthTag(encrypted.subarray(12, 28));
      return { result: Buffer.concat([decipher.update(encrypted.subarray(28)), decipher.final()]).toString("utf8"), shouldReEncrypt: false };
    },
  };
}

describe("desktop secret store", () => {
  it("keeps secrets encrypted in a 0600 file", async () => {
    const user = await fs.mkdtemp(path.join(dir, "user-"));
    const store = await desktopSecretStore(keychain(), user, "linux");
    expect(store.info.kind).toBe("safeStorage");
    expect(store.info.location).toBe(path.join(user, DESKTOP_SECRETS_FILE));
    expect(store.info.description).toMatch(/system keychain/);
    await store.set("hfToken", TOKEN);
    expect(await store.get("hfToken")).toBe(TOKEN);
    const text = await fs.readFile(store.info.location, "utf8");
    expect(text).not.toContain(TOKEN);
    expect(text).not.toContain(Buffer.from(TOKEN).toString("base64").slice(0, 16));
    expect((await fs.stat(store.info.location)).mode & 0o777).toBe(0o600);
  });

  it("a keychain that changed since the secret was saved gives a named error", async () => {
    const user = await fs.mkdtemp(path.join(dir, "user-"));
    await (await desktopSecretStore(keychain(), user, "darwin")).set("hfToken", TOKEN);
    const other = await desktopSecretStore(keychain(), user, "darwin");
    expect(await other.has("hfToken")).toBe(true);
    const e = await other.get("hfToken").catch((x: unknown) => x);
    expect(isAppFailure(e, "SECRETS_UNAVAILABLE")).toBe(true);
    expect((e as Error).message).toMatch(/Hugging Face token cannot be decrypted/);
  });

  it("says when Linux has no keyring (fixed-key encryption), and falls back to the private file without a keychain", async () => {
    const user = await fs.mkdtemp(path.join(dir, "user-"));
    const weak = await desktopSecretStore(keychain({ backend: "basic_text" }), user, "linux");
    expect(weak.info.description).toMatch(/no system keyring was found/);
    const none = await desktopSecretStore(keychain({ available: false }), user, "linux");
    expect(none.info).toMatchObject({ kind: "file", location: path.join(user, SECRETS_FILE) });
    expect(none.info.description).toMatch(/system keychain is not available/);
  });
});
