/**
 * The secret store: where the HF token and the S3 secret key are kept. Values go in and come out only inside main;
 * the renderer learns whether a secret is set, never its value, and no secret is written to settings.json, a
 * notebook, a log or an error message.
 *
 * Browser mode and the CLI keep them in `<user data>/secrets.json`, a file only the user can read (see
 * private-file.ts). The desktop app keeps them encrypted with Electron's safeStorage (main/electron/secret-store.ts),
 * in the same kind of file, through a codec.
 */
import path from "node:path";
import { AppFailure } from "../../../shared/result";
import { readPrivateFile, writePrivateFile } from "./private-file";

export const SECRET_NAMES = ["hfToken", "s3SecretAccessKey"] as const;
export type SecretName = (typeof SECRET_NAMES)[number];

export interface SecretStoreInfo {
  /** "safeStorage": encrypted with the system keychain (desktop); "file": a file only the user can read. */
  kind: "safeStorage" | "file";
  /** A sentence for the Settings dialog: where and how secrets are kept. */
  description: string;
  /** The file holding them. */
  location: string;
}

export interface SecretStore {
  readonly info: SecretStoreInfo;
  get(name: SecretName): Promise<string | null>;
  /** Whether a value is saved (without decrypting it). */
  has(name: SecretName): Promise<boolean>;
  /** Stores a value, or removes it (null). */
  set(name: SecretName, value: string | null): Promise<void>;
}

/** Turns a secret into what the file holds and back (identity for the plain file; safeStorage on the desktop). */
export interface SecretCodec {
  encode(plain: string): Promise<string>;
  decode(stored: string): Promise<string>;
}

const PLAIN: SecretCodec = { encode: async (s) => s, decode: async (s) => s };
export const SECRETS_FILE = "secrets.json";

interface SecretsFile {
  version: 1;
  secrets: Partial<Record<SecretName, string>>;
}

/** Secrets in one private JSON file, through a codec. Writes from this process are serialized. */
export class FileSecretStore implements SecretStore {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly info: SecretStoreInfo,
    private readonly codec: SecretCodec = PLAIN,
  ) {}

  private async read(): Promise<SecretsFile["secrets"]> {
    const file = this.info.location;
    const text = await readPrivateFile(file);
    if (text === null) return {};
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      // The parser's message quotes the text around the fault, which may be a secret: say only where.
      throw new AppFailure("SECRETS_UNAVAILABLE", `The secrets file ${file} is not valid JSON. Delete it and enter the secrets again in Settings`, {
        path: file,
      });
    }
    const secrets = (parsed as Partial<SecretsFile> | null)?.secrets;
    if (typeof secrets !== "object" || secrets === null || Array.isArray(secrets))
      throw new AppFailure("SECRETS_UNAVAILABLE", `The secrets file ${file} has no "secrets" object. Delete it and enter the secrets again in Settings`, {
        path: file,
      });
    const out: SecretsFile["secrets"] = {};
    for (const name of SECRET_NAMES) {
      const value = (secrets as Record<string, unknown>)[name];
      if (typeof value === "string") out[name] = value;
    }
    return out;
  }

  async get(name: SecretName): Promise<string | null> {
    await this.queue.catch(() => undefined);
    const stored = (await this.read())[name];
    if (stored === undefined) return null;
    try {
      return await this.codec.decode(stored);
    } catch {
      throw new AppFailure(
        "SECRETS_UNAVAILABLE",
        `The saved ${name === "hfToken" ? "Hugging Face token" : "S3 secret key"} cannot be decrypted (was the system keychain reset?). Enter it again in Settings`,
        { path: this.info.location },
      );
    }
  }

  async has(name: SecretName): Promise<boolean> {
    await this.queue.catch(() => undefined);
    return (await this.read())[name] !== undefined;
  }

  set(name: SecretName, value: string | null): Promise<void> {
    const run = this.queue
      .catch(() => undefined)
      .then(async () => {
        const secrets = await this.read();
        if (value === null) delete secrets[name];
        else secrets[name] = await this.codec.encode(value);
        const file: SecretsFile = { version: 1, secrets };
        await writePrivateFile(this.info.location, `${JSON.stringify(file, null, 2)}\n`);
      });
    this.queue = run;
    return run;
  }
}

/** Browser mode and the CLI: `<user data>/secrets.json`, readable by the user alone. */
export function fileSecretStore(userDataDir: string, why?: string): FileSecretStore {
  const location = path.join(userDataDir, SECRETS_FILE);
  return new FileSecretStore({
    kind: "file",
    location,
    description: `Kept in ${location}, a file only you can read${why ? ` (${why})` : ""}.`,
  });
}
