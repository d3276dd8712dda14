/**
 * The desktop app's secret store: values encrypted with Electron's safeStorage (macOS Keychain, Windows DPAPI,
 * libsecret/kwallet on Linux), kept in `<user data>/secrets.safe.json`, itself a file only the user can read. Where
 * safeStorage cannot encrypt (no keychain), the private file of browser mode is used instead and the dialog says so.
 * safeStorage is passed in, so this module only needs Electron's types.
 */
import path from "node:path";
import type { SafeStorage } from "electron";
import { FileSecretStore, fileSecretStore, type SecretCodec, type SecretStore } from "../services/secrets/store";

export const DESKTOP_SECRETS_FILE = "secrets.safe.json";

export type SafeStorageApi = Pick<SafeStorage, "isAsyncEncryptionAvailable" | "encryptStringAsync" | "decryptStringAsync" | "getSelectedStorageBackend">;

/** Call after the app is ready (safeStorage needs it). */
export async function desktopSecretStore(safeStorage: SafeStorageApi, userDataDir: string, platform: string = process.platform): Promise<SecretStore> {
  const available = await safeStorage.isAsyncEncryptionAvailable().catch(() => false);
  if (!available) return fileSecretStore(userDataDir, "the system keychain is not available");
  const codec: SecretCodec = {
    encode: async (plain) => (await safeStorage.encryptStringAsync(plain)).toString("base64"),
    decode: async (stored) => (await safeStorage.decryptStringAsync(Buffer.from(stored, "base64"))).result,
  };
  const location = path.join(userDataDir, DESKTOP_SECRETS_FILE);
  // Linux without a keyring: Chromium's "basic_text" backend encrypts with a fixed key, so the file's rights are what protect it.
  const weak = platform === "linux" && safeStorage.getSelectedStorageBackend() === "basic_text";
  const description = weak
    ? `Kept in ${location}, a file only you can read; no system keyring was found, so the encryption adds little.`
    : `Encrypted with the system keychain, in ${location}, a file only you can read.`;
  return new FileSecretStore({ kind: "safeStorage", location, description }, codec);
}
