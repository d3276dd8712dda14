/** The secrets file of browser mode and the CLI: created 0600 from the start, replaced atomically, refused when others could read it. */
import fs from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isAppFailure } from "../../../shared/result";
import { readPrivateFile, writePrivateFile } from "../../../main/services/secrets/private-file";
import { fileSecretStore, SECRETS_FILE } from "../../../main/services/secrets/store";
import { tempDir } from "../../fixtures/slaf-fixture";

const TOKEN = "hf_FileStoreTestTokenNeverInAMessage0123";
let dir: string;

beforeAll(async () => {
  dir = await tempDir("slafwb-secrets-");
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

async function userDir(): Promise<string> {
  return fs.mkdtemp(path.join(dir, "user-"));
}

async function modeOf(file: string): Promise<number> {
  return (await fs.stat(file)).mode & 0o777;
}

/** The failure a promise rejects with (an AppFailure's error), or a test failure. */
async function refusal(work: Promise<unknown>) {
  const e = await work.then(
    () => null,
    (x: unknown) => x,
  );
  if (!isAppFailure(e)) throw new Error(`expected an AppFailure, got ${String(e)}`);
  return e.appError;
}

describe("private file", () => {
  it("is written 0600 even under umask 0, replaced atomically, and leaves no temp file", async () => {
    const user = await userDir();
    const file = path.join(user, "nested", "secret.json");
    const old = process.umask(0);
    try {
      await writePrivateFile(file, "one");
      expect(await modeOf(file)).toBe(0o600);
      await writePrivateFile(file, "two");
      expect(await modeOf(file)).toBe(0o600);
    } finally {
      process.umask(old);
    }
    expect(await readPrivateFile(file)).toBe("two");
    expect(await fs.readdir(path.dirname(file))).toEqual(["secret.json"]);
    expect(await modeOf(path.dirname(file))).toBe(0o700);
  });

  it("replaces a link planted at its place instead of writing through it", async () => {
    const user = await userDir();
    const elsewhere = path.join(user, "elsewhere.txt");
    await fs.writeFile(elsewhere, "keep");
    const file = path.join(user, SECRETS_FILE);
    await fs.symlink(elsewhere, file);
    await writePrivateFile(file, "new");
    expect(await fs.readFile(elsewhere, "utf8")).toBe("keep");
    expect((await fs.lstat(file)).isSymbolicLink()).toBe(false);
  });

  it("is missing: null", async () => {
    expect(await readPrivateFile(path.join(await userDir(), "none.json"))).toBeNull();
  });

  it("refuses a file others can read or change, naming the path and mode, never quoting the content", async () => {
    for (const mode of [0o644, 0o640, 0o604, 0o620]) {
      const file = path.join(await userDir(), SECRETS_FILE);
      await fs.writeFile(file, TOKEN, { mode });
      await fs.chmod(file, mode);
      const e = await refusal(readPrivateFile(file));
      expect(e.code).toBe("SECRETS_UNAVAILABLE");
      expect(e.message).toContain(file);
      expect(e.message).toContain(`mode 0${mode.toString(8)}`);
      expect(e.message).toMatch(/chmod 600/);
      expect(JSON.stringify(e)).not.toContain(TOKEN);
    }
  });

  it("refuses a file of another user, a link, a folder and a FIFO", async () => {
    const user = await userDir();
    const theirs = path.join(user, "theirs.json");
    await fs.writeFile(theirs, TOKEN, { mode: 0o600 });
    if (process.getuid?.() === 0) {
      await fs.chown(theirs, 65534, 65534);
      const e = await refusal(readPrivateFile(theirs));
      expect(e.message).toMatch(/belongs to another user \(uid 65534/);
    }
    const mine = path.join(user, "mine.json");
    await fs.writeFile(mine, TOKEN, { mode: 0o600 });
    const link = path.join(user, "link.json");
    await fs.symlink(mine, link);
    expect((await refusal(readPrivateFile(link))).message).toMatch(/is a symbolic link/);
    const folder = path.join(user, "folder.json");
    await fs.mkdir(folder, { mode: 0o700 });
    expect((await refusal(readPrivateFile(folder))).message).toMatch(/not a regular file/);
    const { execFileSync } = await import("node:child_process");
    const fifo = path.join(user, "fifo.json");
    execFileSync("mkfifo", ["-m", "600", fifo]);
    expect((await refusal(readPrivateFile(fifo))).message).toMatch(/not a regular file/);
  });
});

describe("file secret store", () => {
  it("keeps, reports and clears secrets in a 0600 secrets.json", async () => {
    const user = await userDir();
    const store = fileSecretStore(user);
    expect(store.info).toMatchObject({ kind: "file", location: path.join(user, SECRETS_FILE) });
    expect(await store.get("hfToken")).toBeNull();
    expect(await store.has("hfToken")).toBe(false);
    await store.set("hfToken", TOKEN);
    expect(await modeOf(store.info.location)).toBe(0o600);
    expect(await store.get("hfToken")).toBe(TOKEN);
    expect(await store.has("hfToken")).toBe(true);
    expect(await fileSecretStore(user).get("hfToken")).toBe(TOKEN);
    await store.set("hfToken", null);
    expect(await store.get("hfToken")).toBeNull();
    expect(await fs.readFile(store.info.location, "utf8")).not.toContain(TOKEN);
  });

  it("loses nothing when two secrets are saved at once", async () => {
    const store = fileSecretStore(await userDir());
    await Promise.all([store.set("hfToken", "a-token"), store.set("s3SecretAccessKey", "a-key")]);
    expect(await store.get("hfToken")).toBe("a-token");
    expect(await store.get("s3SecretAccessKey")).toBe("a-key");
  });

  it("a damaged file is a named error that does not quote it", async () => {
    const user = await userDir();
    const store = fileSecretStore(user);
    await fs.writeFile(store.info.location, `{"secrets": {"hfToken": "${TOKEN}"`, { mode: 0o600 });
    const e = await refusal(store.get("hfToken"));
    expect(e.code).toBe("SECRETS_UNAVAILABLE");
    expect(e.message).toMatch(/not valid JSON/);
    expect(JSON.stringify(e)).not.toContain(TOKEN);
    // Saving would drop what is in it: refused as well.
    expect((await refusal(store.set("s3SecretAccessKey", "x"))).code).toBe("SECRETS_UNAVAILABLE");
  });
});
