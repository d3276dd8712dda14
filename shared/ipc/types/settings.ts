import type { Result } from "../../result";
import type { Empty } from "./common";

/** A secret as the renderer sees it: whether there is one, never its value. */
export interface SecretState {
  /** A value is saved in the app's secret store. */
  set: boolean;
  /** The environment provides one (HF_TOKEN, AWS_SECRET_ACCESS_KEY), which is used instead of the saved one. */
  fromEnvironment: boolean;
}

export interface SettingsState {
  hubEndpoint: {
    /** The saved setting (null: none). */
    setting: string | null;
    /** HF_ENDPOINT from the environment at start; it wins over the setting. */
    environment: string | null;
    /** The upstream Hub this running app reads from. */
    inUse: string;
    /** What the next start will use (a changed endpoint applies at the next start). */
    nextStart: string;
  };
  hfToken: SecretState;
  s3: {
    accessKeyId: string | null;
    secretAccessKey: SecretState;
    region: string | null;
    endpoint: string | null;
    /** true: path-style, false: virtual-hosted, null: path-style for a custom endpoint, else virtual-hosted. */
    pathStyle: boolean | null;
    /**
     * AWS_ACCESS_KEY_ID (with AWS_SECRET_ACCESS_KEY), AWS_REGION / AWS_DEFAULT_REGION, AWS_ENDPOINT_URL_S3 /
     * AWS_ENDPOINT_URL from the environment at start: each one set wins over its setting.
     */
    environment: { accessKeyId: string | null; region: string | null; endpoint: string | null };
  };
  sql: {
    /** Folders SQL may read files from, as saved. */
    allowedDirectories: string[];
    /** The folders in effect now (the saved ones when the app started, plus --allow-dir). */
    inUse: string[];
  };
  secretStore: {
    kind: "safeStorage" | "file";
    /** Where and how secrets are kept, for the dialog. */
    description: string;
    /** Why saved secrets cannot be read right now (file readable by others, keychain changed...), or null. */
    problem: string | null;
  };
  /** The settings.json file, and warnings about entries in it that were left out. */
  settingsFile: string;
  warnings: string[];
}

/** A change of settings: a missing key keeps the setting; null clears it. Secrets are write-only. */
export interface SettingsUpdate {
  hubEndpoint?: string | null;
  hfToken?: string | null;
  s3?: {
    accessKeyId?: string | null;
    secretAccessKey?: string | null;
    region?: string | null;
    endpoint?: string | null;
    pathStyle?: boolean | null;
  };
  sql?: { allowedDirectories: string[] };
}

export interface SettingsSaved {
  settings: SettingsState;
  /** What changed and is in effect now, e.g. "Hugging Face token". */
  appliedNow: string[];
  /** What changed and takes effect at the next start of the app, with the reason when there is one. */
  atRestart: string[];
}

export interface SettingsApi {
  get(req: Empty): Promise<Result<SettingsState>>;
  set(req: SettingsUpdate): Promise<Result<SettingsSaved>>;
}
