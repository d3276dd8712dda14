/**
 * settings.get / settings.set through the door (the dispatcher both bindings use): secrets are write-only and
 * never come back in any answer or error; non-secret settings land in settings.json, secrets in a 0600 file;
 * the answer says what applies now and what at the next start.
 */
import fs from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SettingsSaved, SettingsState } from "../../shared/ipc/contract";
import type { Result } from "../../shared/result";
import type { Services } from "../../main/services/index";
import { SECRETS_FILE } from "../../main/services/secrets/store";
import { settingsPath } from "../../main/services/settings";
import type { SettingsEnvironment } from "../../main/services/settings-service";
import { s3EnvironmentOf } from "../../main/services/sources/s3-environment";
import { failure, unwrap } from "./../fixtures/result";
import { testServices } from "../fixtures/services";
import { tempDir } from "../fixtures/slaf-fixture";

const TOKEN = "hf_SettingsServiceTestTokenNeverEchoed42";
const S3_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY";
const ENV_TOKEN = "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7";
const ENV_S3_SECRET = "EnvironmentSecretKeyNeverEchoed/K7MDENG";
let dir: string;
const opened: Services[] = [];
/** Every answer of every call made in this file, serialized: none may contain a secret. */
const answers: string[] = [];

beforeAll(async () => {
  dir = await tempDir("slafwb-settings-service-");
});
afterAll(async () => {
  for (const s of opened) await s.dispose();
  await fs.rm(dir, { recursive: true, force: true });
  const all = answers.join("\n");
  for (const secret of [TOKEN, S3_SECRET, ENV_TOKEN, ENV_S3_SECRET]) expect(all).not.toContain(secret);
});

async function services(environment: SettingsEnvironment = { hubEndpoint: null, hfToken: null }) {
  const user = await fs.mkdtemp(path.join(dir, "user-"));
  const s = testServices(user, { environment, sources: { hubEndpoint: "https://huggingface.co" } });
  opened.push(s);
  const call = async <T>(method: "get" | "set", arg: unknown): Promise<Result<T>> => {
    const r = (await s.dispatcher.call("settings", method, arg, "page-1")) as Result<T>;
    answers.push(JSON.stringify(r));
    return r;
  };
  return {
    user,
    get: () => call<SettingsState>("get", {}),
    set: (arg: unknown) => call<SettingsSaved>("set", arg),
  };
}

describe("settings.get", () => {
  it("answers the defaults, where secrets are kept, and that no secret is set", async () => {
    const app = await services();
    const state = unwrap(await app.get());
    expect(state.hubEndpoint).toEqual({ setting: null, environment: null, inUse: "https://huggingface.co", nextStart: "https://huggingface.co" });
    expect(state.hfToken).toEqual({ set: false, fromEnvironment: false });
    expect(state.s3).toEqual({
      accessKeyId: null,
      secretAccessKey: { set: false, fromEnvironment: false },
      region: null,
      endpoint: null,
      pathStyle: null,
      environment: { accessKeyId: null, region: null, endpoint: null },
    });
    expect(state.sql).toEqual({ allowedDirectories: [], inUse: [] });
    expect(state.secretStore).toMatchObject({ kind: "file", problem: null });
    expect(state.secretStore.description).toContain(path.join(app.user, SECRETS_FILE));
    expect(state.settingsFile).toBe(settingsPath(app.user));
  });
});

describe("settings.set", () => {
  it("keeps the token in the 0600 secrets file only, answers 'set', applies it now, and clears it", async () => {
    const app = await services();
    const saved = unwrap(await app.set({ hfToken: TOKEN }));
    expect(saved.settings.hfToken).toEqual({ set: true, fromEnvironment: false });
    expect(saved.appliedNow).toEqual(["Hugging Face token"]);
    expect(saved.atRestart).toEqual([]);
    const secrets = path.join(app.user, SECRETS_FILE);
    expect((await fs.stat(secrets)).mode & 0o777).toBe(0o600);
    expect(await fs.readFile(secrets, "utf8")).toContain(TOKEN);
    await expect(fs.stat(settingsPath(app.user))).rejects.toThrow(/ENOENT/);
    expect(unwrap(await app.get()).hfToken.set).toBe(true);

    const cleared = unwrap(await app.set({ hfToken: null }));
    expect(cleared.settings.hfToken.set).toBe(false);
    expect(cleared.appliedNow).toEqual(["Hugging Face token"]);
    expect(await fs.readFile(secrets, "utf8")).not.toContain(TOKEN);
    // Clearing what is not set changes nothing.
    expect(unwrap(await app.set({ hfToken: null })).appliedNow).toEqual([]);
  });

  it("writes the Hub endpoint, S3 store and SQL folders to settings.json, and says which apply at the next start", async () => {
    const app = await services();
    const tables = await fs.mkdtemp(path.join(dir, "tables-"));
    const saved = unwrap(
      await app.set({
        hubEndpoint: "https://hf-mirror.example.org/",
        s3: { accessKeyId: "AKIAEXAMPLE", secretAccessKey: S3_SECRET, region: "auto", endpoint: "https://minio.local:9000", pathStyle: true },
        sql: { allowedDirectories: [tables] },
      }),
    );
    expect(saved.settings.hubEndpoint).toMatchObject({
      setting: "https://hf-mirror.example.org",
      inUse: "https://huggingface.co",
      nextStart: "https://hf-mirror.example.org",
    });
    expect(saved.settings.s3).toEqual({
      accessKeyId: "AKIAEXAMPLE",
      secretAccessKey: { set: true, fromEnvironment: false },
      region: "auto",
      endpoint: "https://minio.local:9000",
      pathStyle: true,
      environment: { accessKeyId: null, region: null, endpoint: null },
    });
    expect(saved.settings.sql).toEqual({ allowedDirectories: [await fs.realpath(tables)], inUse: [] });
    expect(saved.appliedNow).toEqual(["S3 settings (for s3:// datasets opened from now on)"]);
    expect(saved.atRestart).toHaveLength(2);
    expect(saved.atRestart[0]).toBe("Hub endpoint https://hf-mirror.example.org (this session keeps reading https://huggingface.co)");
    expect(saved.atRestart[1]).toBe("SQL folders (file access is fixed when the app starts)");
    const json = await fs.readFile(settingsPath(app.user), "utf8");
    expect(JSON.parse(json)).toEqual({
      hub: { endpoint: "https://hf-mirror.example.org" },
      s3: { accessKeyId: "AKIAEXAMPLE", region: "auto", endpoint: "https://minio.local:9000", pathStyle: true },
      sql: { allowedDirectories: [await fs.realpath(tables)] },
    });
    expect(json).not.toContain(S3_SECRET);
  });

  it("refuses a wrong field with INVALID_ARGUMENT naming it, and saves nothing of that request", async () => {
    const app = await services();
    const cases: [unknown, RegExp][] = [
      [{ hubEndpoint: "not a url", hfToken: TOKEN }, /hubEndpoint is not a URL/],
      [{ hubEndpoint: "file:///etc", hfToken: TOKEN }, /hubEndpoint must start with https:\/\/ or http:\/\//],
      [{ s3: { region: "us east 1", secretAccessKey: S3_SECRET } }, /s3\.region must be a region name/],
      [{ s3: { endpoint: "https://key:pw@minio.local" } }, /s3\.endpoint must not contain a user name or password/],
      [{ sql: { allowedDirectories: [path.join(dir, "missing")] }, hfToken: TOKEN }, /sql\.allowedDirectories: .*missing is not an existing folder/],
      [{ sql: { allowedDirectories: ["relative"] } }, /"relative" is not an absolute folder path/],
      [{ hfToken: `${TOKEN} ` }, /hfToken contains spaces or control characters/],
      [{ hfToken: "" }, /hfToken is empty; send null to clear it/],
      [{ hfToken: 42 }, /hfToken must be a string \(the secret\) or null/],
      [{ s3: { secretAccessKey: `${S3_SECRET}\n` } }, /s3\.secretAccessKey contains spaces or control characters/],
      [{ hfToken: "x".repeat(5000) }, /hfToken is too long/],
      [{ token: TOKEN }, /unknown field "token"/],
    ];
    for (const [arg, message] of cases) {
      const e = failure(await app.set(arg));
      expect(e.code).toBe("INVALID_ARGUMENT");
      expect(e.message).toMatch(message);
    }
    await expect(fs.stat(settingsPath(app.user))).rejects.toThrow(/ENOENT/);
    await expect(fs.stat(path.join(app.user, SECRETS_FILE))).rejects.toThrow(/ENOENT/);
  });

  it("HF_TOKEN and HF_ENDPOINT from the environment win, and the dialog is told so", async () => {
    const app = await services({ hubEndpoint: "https://env-hub.example.org", hfToken: ENV_TOKEN });
    const state = unwrap(await app.get());
    expect(state.hfToken).toEqual({ set: false, fromEnvironment: true });
    expect(state.hubEndpoint).toMatchObject({ environment: "https://env-hub.example.org", nextStart: "https://env-hub.example.org" });
    const saved = unwrap(await app.set({ hfToken: TOKEN, hubEndpoint: "https://hub.example.org" }));
    expect(saved.settings.hfToken).toEqual({ set: true, fromEnvironment: true });
    expect(saved.settings.hubEndpoint.nextStart).toBe("https://env-hub.example.org");
    expect(saved.appliedNow).toEqual([]);
    expect(saved.atRestart).toEqual([
      "Hugging Face token (saved; HF_TOKEN from the environment is used while it is set)",
      "Hub endpoint (saved; HF_ENDPOINT from the environment is used while it is set)",
    ]);
  });

  it("a secrets file others can read is reported by get and refused by set, without quoting it", async () => {
    const app = await services();
    unwrap(await app.set({ hfToken: TOKEN }));
    const secrets = path.join(app.user, SECRETS_FILE);
    await fs.chmod(secrets, 0o644);
    const state = unwrap(await app.get());
    expect(state.hfToken.set).toBe(false);
    expect(state.secretStore.problem).toMatch(/can be read or changed by other users \(mode 0644\)/);
    const e = failure(await app.set({ s3: { secretAccessKey: S3_SECRET } }));
    expect(e.code).toBe("SECRETS_UNAVAILABLE");
    expect(e.message).toContain(secrets);
    // Non-secret settings can still be saved.
    unwrap(await app.set({ s3: { region: "us-east-1" } }));
  });

  it("nothing else in the app answers with a secret: info, sources.status", async () => {
    const app = await services();
    unwrap(await app.set({ hfToken: TOKEN, s3: { secretAccessKey: S3_SECRET } }));
    const s = opened.at(-1)!;
    for (const [ns, method] of [
      ["app", "info"],
      ["sources", "status"],
    ] as const)
      answers.push(JSON.stringify(await s.dispatcher.call(ns, method, {}, "page-1")));
    expect(answers.at(-1)).toContain('"ok":true');
  });
});

describe("s3Access", () => {
  it("gives the gateway the saved S3 settings and secret key, leaving unset ones to its defaults", async () => {
    const app = await services();
    const s = opened.at(-1)!;
    expect(await s.settings.s3Access()).toEqual({});
    unwrap(await app.set({ s3: { accessKeyId: "AKIAEXAMPLE", secretAccessKey: S3_SECRET, endpoint: "https://minio.local:9000" } }));
    expect(await s.settings.s3Access()).toEqual({ accessKeyId: "AKIAEXAMPLE", secretAccessKey: S3_SECRET, endpoint: "https://minio.local:9000" });
    unwrap(await app.set({ s3: { region: "eu-central-1", pathStyle: false } }));
    expect(await s.settings.s3Access()).toMatchObject({ region: "eu-central-1", pathStyle: false });
    // A key id without its secret (or the reverse) is no credential: anonymous, as the gateway does with no key.
    unwrap(await app.set({ s3: { secretAccessKey: null } }));
    expect(await s.settings.s3Access()).not.toHaveProperty("accessKeyId");
  });
});

describe("S3 settings from the environment", () => {
  it("reads AWS_* as the AWS CLI does: a key id only with its secret, the region and endpoint with their fallbacks", () => {
    expect(s3EnvironmentOf({})).toEqual({ accessKeyId: null, secretAccessKey: null, sessionToken: null, region: null, endpoint: null });
    expect(s3EnvironmentOf({ AWS_ACCESS_KEY_ID: "AKIAONLY", AWS_SESSION_TOKEN: "t" })).toMatchObject({ accessKeyId: null, sessionToken: null });
    expect(
      s3EnvironmentOf({
        AWS_ACCESS_KEY_ID: " AKIAENV ",
        AWS_SECRET_ACCESS_KEY: "s",
        AWS_SESSION_TOKEN: "t",
        AWS_DEFAULT_REGION: "eu-west-1",
        AWS_ENDPOINT_URL: "https://a",
      }),
    ).toEqual({ accessKeyId: "AKIAENV", secretAccessKey: "s", sessionToken: "t", region: "eu-west-1", endpoint: "https://a" });
    expect(
      s3EnvironmentOf({ AWS_REGION: "us-west-2", AWS_DEFAULT_REGION: "eu-west-1", AWS_ENDPOINT_URL_S3: "https://s3only", AWS_ENDPOINT_URL: "https://all" }),
    ).toMatchObject({ region: "us-west-2", endpoint: "https://s3only" });
  });

  it("win over the saved ones for the gateway, and the dialog is told which, never the secret", async () => {
    const s3 = s3EnvironmentOf({ AWS_ACCESS_KEY_ID: "AKIAENV", AWS_SECRET_ACCESS_KEY: ENV_S3_SECRET, AWS_ENDPOINT_URL: "https://env-s3.example.org" });
    const app = await services({ hubEndpoint: null, hfToken: null, s3 });
    const s = opened.at(-1)!;
    const saved = unwrap(
      await app.set({
        s3: { accessKeyId: "AKIASAVED", secretAccessKey: S3_SECRET, region: "eu-central-1", endpoint: "https://saved.example.org", pathStyle: true },
      }),
    );
    expect(saved.settings.s3).toMatchObject({
      accessKeyId: "AKIASAVED",
      secretAccessKey: { set: true, fromEnvironment: true },
      environment: { accessKeyId: "AKIAENV", region: null, endpoint: "https://env-s3.example.org" },
    });
    expect(saved.appliedNow).toEqual([
      "S3 settings (for s3:// datasets opened from now on; AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, the endpoint from the environment are used while set)",
    ]);
    // The environment's key pair and endpoint; the saved region and addressing, which it does not set.
    expect(await s.settings.s3Access()).toEqual({
      accessKeyId: "AKIAENV",
      secretAccessKey: ENV_S3_SECRET,
      region: "eu-central-1",
      endpoint: "https://env-s3.example.org",
      pathStyle: true,
    });
  });
});
