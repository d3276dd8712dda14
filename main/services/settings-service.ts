/**
 * `settings.get` / `settings.set`: the Settings dialog's view of settings.json and the secret store. Secrets are
 * write-only: the page learns whether one is set and whether the environment provides it, never a value, and no
 * message here ever quotes one. A new HF token applies to the running gateway at once; the Hub endpoint and the
 * SQL folders apply at the next start (the gateway keeps one upstream per process; DuckDB's file access is locked
 * when it starts); S3 settings are read each time an s3:// dataset is opened.
 */
import type { SettingsApi, SettingsSaved, SettingsState, SettingsUpdate } from "../../shared/ipc/contract";
import { AppFailure, isAppFailure } from "../../shared/result";
import { guard } from "./errors";
import type { S3Access } from "./gateway/index";
import type { SecretName, SecretStore } from "./secrets/store";
import {
  allowedDirectories,
  checkAccessKeyId,
  checkEndpoint,
  checkRegion,
  loadSettings,
  saveSettings,
  settingsPath,
  type S3Settings,
  type SettingsChanges,
} from "./settings";
import { DEFAULT_HUB, environmentHfToken, environmentHubEndpoint } from "./sources/hub-endpoint";
import { environmentS3, NO_S3_ENVIRONMENT, type S3Environment } from "./sources/s3-environment";

/** What the environment provided at start; it wins over the settings, as huggingface_hub and the AWS SDKs do. */
export interface SettingsEnvironment {
  hubEndpoint: string | null;
  hfToken: string | null;
  /** AWS_* variables (s3-environment.ts); none when left out. */
  s3?: S3Environment;
}

export interface SettingsServiceOptions {
  userDataDir: string;
  secrets: SecretStore;
  /** What this running app was started with. */
  inUse: { hubEndpoint: string; allowedDirectories: string[] };
  environment?: SettingsEnvironment;
  /** Called with the token to use after it changed (the running gateway takes it). */
  onHfToken?: (token: string | null) => Promise<void> | void;
}

/**
 * The gateway's view of the S3 settings (`gw.pinS3(uri, access)`): the environment's credentials, region and
 * endpoint where set, else the saved ones; unset fields take the gateway's defaults.
 */
export function s3AccessOf(s3: S3Settings, secretAccessKey: string | null, env: S3Environment = NO_S3_ENVIRONMENT): S3Access {
  const access: S3Access = {};
  if (env.accessKeyId && env.secretAccessKey) {
    access.accessKeyId = env.accessKeyId;
    access.secretAccessKey = env.secretAccessKey;
    if (env.sessionToken) access.sessionToken = env.sessionToken;
  } else if (s3.accessKeyId && secretAccessKey) {
    access.accessKeyId = s3.accessKeyId;
    access.secretAccessKey = secretAccessKey;
  }
  const region = env.region ?? s3.region;
  const endpoint = env.endpoint ?? s3.endpoint;
  if (region) access.region = region;
  if (endpoint) access.endpoint = endpoint;
  if (s3.pathStyle !== null) access.pathStyle = s3.pathStyle;
  return access;
}

/** What of the S3 settings the environment overrides, for the saved-settings message. */
function s3EnvironmentNote(env: S3Environment | undefined): string {
  if (!env) return "";
  const names = [
    env.accessKeyId ? "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY" : null,
    env.region ? "the region" : null,
    env.endpoint ? "the endpoint" : null,
  ].filter((n) => n !== null);
  return names.length ? `; ${names.join(", ")} from the environment are used while set` : "";
}

function invalid(field: string, check: () => unknown): void {
  try {
    check();
  } catch (e) {
    throw new AppFailure("INVALID_ARGUMENT", `Settings not saved: ${(e as Error).message}`, { detail: `field: ${field}` });
  }
}

export class SettingsService implements SettingsApi {
  private readonly environment: SettingsEnvironment;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: SettingsServiceOptions) {
    this.environment = options.environment ?? { hubEndpoint: environmentHubEndpoint(), hfToken: environmentHfToken(), s3: environmentS3() };
  }

  get() {
    return guard(() => this.state());
  }

  set(req: SettingsUpdate) {
    const run = this.queue.catch(() => undefined).then(() => this.apply(req));
    this.queue = run;
    return guard(() => run);
  }

  /** The HF token to use: HF_TOKEN from the environment, else the saved one. */
  async hfToken(): Promise<string | null> {
    return this.environment.hfToken ?? (await this.options.secrets.get("hfToken"));
  }

  /** For `gw.pinS3(uri, await settings.s3Access())`: read at each open of an s3:// dataset, so saved changes apply to the next one. */
  async s3Access(): Promise<S3Access> {
    const { settings } = await loadSettings(this.options.userDataDir);
    return s3AccessOf(settings.s3, await this.options.secrets.get("s3SecretAccessKey"), this.environment.s3);
  }

  private nextStartEndpoint(setting: string | null): string {
    return (this.environment.hubEndpoint ?? setting ?? DEFAULT_HUB).replace(/\/+$/, "");
  }

  private async state(): Promise<SettingsState> {
    const { userDataDir, secrets, inUse } = this.options;
    const s3Env = this.environment.s3 ?? NO_S3_ENVIRONMENT;
    const { settings, warnings } = await loadSettings(userDataDir);
    const saved: Record<SecretName, boolean> = { hfToken: false, s3SecretAccessKey: false };
    let problem: string | null = null;
    try {
      saved.hfToken = await secrets.has("hfToken");
      saved.s3SecretAccessKey = await secrets.has("s3SecretAccessKey");
    } catch (e) {
      if (!isAppFailure(e)) throw e;
      problem = e.appError.message;
    }
    return {
      hubEndpoint: {
        setting: settings.hub.endpoint,
        environment: this.environment.hubEndpoint,
        inUse: inUse.hubEndpoint,
        nextStart: this.nextStartEndpoint(settings.hub.endpoint),
      },
      hfToken: { set: saved.hfToken, fromEnvironment: this.environment.hfToken !== null },
      s3: {
        accessKeyId: settings.s3.accessKeyId,
        secretAccessKey: { set: saved.s3SecretAccessKey, fromEnvironment: s3Env.secretAccessKey !== null },
        region: settings.s3.region,
        endpoint: settings.s3.endpoint,
        pathStyle: settings.s3.pathStyle,
        environment: { accessKeyId: s3Env.accessKeyId, region: s3Env.region, endpoint: s3Env.endpoint },
      },
      sql: { allowedDirectories: settings.sql.allowedDirectories, inUse: inUse.allowedDirectories },
      secretStore: { kind: secrets.info.kind, description: secrets.info.description, problem },
      settingsFile: settingsPath(userDataDir),
      warnings,
    };
  }

  /** Checks every field first, so a wrong one saves nothing; then settings.json, then the secrets. */
  private async apply(req: SettingsUpdate): Promise<SettingsSaved> {
    const { userDataDir, secrets } = this.options;
    const changes: SettingsChanges = {};
    const normalize = <T>(value: T | null | undefined, field: string, check: (v: unknown, f: string) => T): T | null | undefined => {
      if (value === undefined || value === null) return value;
      let out: T | undefined;
      invalid(field, () => (out = check(value, field)));
      return out;
    };
    if (req.hubEndpoint !== undefined) changes.hub = { endpoint: normalize(req.hubEndpoint, "hubEndpoint", checkEndpoint) ?? null };
    if (req.s3) {
      changes.s3 = {
        accessKeyId: normalize(req.s3.accessKeyId, "s3.accessKeyId", checkAccessKeyId),
        region: normalize(req.s3.region, "s3.region", checkRegion),
        endpoint: normalize(req.s3.endpoint, "s3.endpoint", checkEndpoint),
        pathStyle: req.s3.pathStyle,
      };
    }
    if (req.sql) {
      const { directories, warnings } = await allowedDirectories(req.sql.allowedDirectories, "sql.allowedDirectories");
      if (warnings.length)
        invalid("sql.allowedDirectories", () => {
          throw new Error(warnings[0].replace(/; ignored$/, ""));
        });
      changes.sql = { allowedDirectories: directories };
    }

    const before = await this.state();
    const touchesSecrets = req.hfToken !== undefined || req.s3?.secretAccessKey !== undefined;
    if (touchesSecrets && before.secretStore.problem) throw new AppFailure("SECRETS_UNAVAILABLE", `Secrets not saved: ${before.secretStore.problem}`);
    if (changes.hub || changes.s3 || changes.sql) await saveSettings(userDataDir, changes);
    if (req.hfToken !== undefined) await secrets.set("hfToken", req.hfToken);
    if (req.s3?.secretAccessKey !== undefined) await secrets.set("s3SecretAccessKey", req.s3.secretAccessKey);
    const after = await this.state();

    const appliedNow: string[] = [];
    const atRestart: string[] = [];
    if (req.hfToken !== undefined && (req.hfToken !== null || before.hfToken.set)) {
      if (this.environment.hfToken !== null) atRestart.push("Hugging Face token (saved; HF_TOKEN from the environment is used while it is set)");
      else {
        await this.options.onHfToken?.(req.hfToken);
        appliedNow.push("Hugging Face token");
      }
    }
    if (after.hubEndpoint.setting !== before.hubEndpoint.setting) {
      if (this.environment.hubEndpoint !== null) atRestart.push("Hub endpoint (saved; HF_ENDPOINT from the environment is used while it is set)");
      else atRestart.push(`Hub endpoint ${after.hubEndpoint.nextStart} (this session keeps reading ${after.hubEndpoint.inUse})`);
    }
    const s3Changed =
      (["accessKeyId", "region", "endpoint", "pathStyle"] as const).some((k) => after.s3[k] !== before.s3[k]) ||
      (req.s3?.secretAccessKey !== undefined && (req.s3.secretAccessKey !== null || before.s3.secretAccessKey.set));
    if (s3Changed) appliedNow.push(`S3 settings (for s3:// datasets opened from now on${s3EnvironmentNote(this.environment.s3)})`);
    if (after.sql.allowedDirectories.join("\n") !== before.sql.allowedDirectories.join("\n"))
      atRestart.push("SQL folders (file access is fixed when the app starts)");
    return { settings: after, appliedNow, atRestart };
  }
}
