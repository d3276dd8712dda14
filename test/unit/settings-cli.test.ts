/**
 * `slaf-workbench query` and `serve` read the same settings and secrets as the app: the Hub from settings.json, the
 * token from the private secrets file (HF_TOKEN wins over it), and refuse a secrets file others can read without
 * quoting it. `serve` runs in this file's own process (one gateway per process).
 */
import { spawn } from "node:child_process";
import fs from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServe } from "../../main/commands/serve";
import { fileSecretStore } from "../../main/services/secrets/store";
import { saveSettings } from "../../main/services/settings";
import { startFakeHub, type FakeHub } from "../fixtures/fake-hub";
import { unwrap } from "../fixtures/result";
import { PROJECT_ROOT } from "../fixtures/pbmc";
import { tempDir, writePbmcSlaf } from "../fixtures/slaf-fixture";

const TOKEN = "hf_CliReadsTheSavedToken0123456789abcd";
const URI = "hf://datasets/acme/private/pbmc.slaf";
const SQL = "SELECT count(*) AS n FROM cells";
let dir: string;
let user: string;
let hub: FakeHub;

beforeAll(async () => {
  dir = await tempDir("slafwb-settings-cli-");
  hub = await startFakeHub({ tokens: [TOKEN] });
  const repo = await hub.createRepo("acme/private", { private: true });
  await writePbmcSlaf(path.join(repo, "pbmc.slaf"), { cellsPerChunk: 100 });
  await hub.commit("acme/private");
  user = path.join(dir, "user");
  await saveSettings(user, { hub: { endpoint: hub.url } });
});
afterAll(async () => {
  await hub?.close();
  await fs.rm(dir, { recursive: true, force: true });
});

function query(env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const full: NodeJS.ProcessEnv = { ...process.env, SLAFWB_USER_DATA: user, ...env };
    delete full.HF_ENDPOINT;
    if (!env.HF_TOKEN) delete full.HF_TOKEN;
    delete full.HUGGING_FACE_HUB_TOKEN;
    const child = spawn(process.execPath, [path.join(PROJECT_ROOT, "dist", "main", "cli.mjs"), "query", URI, SQL, "--format", "csv"], {
      env: full,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("query with saved settings", () => {
  it("reads the Hub endpoint from settings.json and the token from the secrets file; HF_TOKEN wins", async () => {
    const anonymous = await query();
    expect(anonymous.code).not.toBe(0);
    expect(anonymous.stderr).toMatch(/^AUTH_REQUIRED: /m);
    expect(hub.log.length).toBeGreaterThan(0);

    await fileSecretStore(user).set("hfToken", TOKEN);
    hub.resetLog();
    const signedIn = await query();
    expect(signedIn.stderr).toBe("");
    expect(signedIn.stdout).toMatch(/^n\n\d+\n$/);
    expect(hub.log.filter((r) => r.kind !== "cdn").every((r) => r.authorized)).toBe(true);

    const fromEnvironment = await query({ HF_TOKEN: "hf_WrongTokenFromTheEnvironment0123" });
    expect(fromEnvironment.code).not.toBe(0);
    expect(fromEnvironment.stderr).toMatch(/^AUTH_INVALID: /m);
  });

  it("refuses a secrets file others can read, naming it, never printing the token", async () => {
    const file = fileSecretStore(user).info.location;
    await fs.chmod(file, 0o644);
    try {
      const refused = await query();
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toMatch(/^SECRETS_UNAVAILABLE: .*secrets\.json can be read or changed by other users \(mode 0644\)/m);
      expect(refused.stderr + refused.stdout).not.toContain(TOKEN);
    } finally {
      await fs.chmod(file, 0o600);
    }
  });
});

describe("serve with saved settings", () => {
  it("opens the private dataset from the Hub of settings.json with the saved token", async () => {
    hub.resetLog();
    const running = await startServe(["--user-data", user]);
    try {
      const state = unwrap(await running.services.api.settings.get({}));
      expect(state.hubEndpoint.inUse).toBe(hub.url);
      expect(state.hfToken.set).toBe(true);
      const opened = unwrap(await running.services.api.datasets.open({ uri: URI }));
      expect(opened.source).toBe("hf");
      expect(hub.log.filter((r) => r.kind !== "cdn").every((r) => r.authorized)).toBe(true);
    } finally {
      await running.stop();
    }
  });
});
