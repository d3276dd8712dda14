/**
 * The Settings dialog's store: what main says the settings are (secrets only as set / not set), a draft the dialog
 * edits, and saving only what changed. A typed secret lives in the draft until it is saved, then is dropped.
 */
import type { Client, SettingsSaved, SettingsState, SettingsUpdate } from "../../shared/ipc/contract";
import type { AppError } from "../../shared/result";

export type S3Addressing = "auto" | "path" | "virtual";

const ADDRESSING: Record<S3Addressing, boolean | null> = { auto: null, path: true, virtual: false };

function addressingOf(pathStyle: boolean | null): S3Addressing {
  return pathStyle === null ? "auto" : pathStyle ? "path" : "virtual";
}

export interface SettingsDraft {
  hubEndpoint: string;
  /** A new token typed in ("" keeps the saved one). */
  hfToken: string;
  clearHfToken: boolean;
  s3AccessKeyId: string;
  s3SecretAccessKey: string;
  clearS3SecretAccessKey: boolean;
  s3Region: string;
  s3Endpoint: string;
  /** "auto": path-style for a custom endpoint, virtual-hosted for AWS. */
  s3Addressing: S3Addressing;
  sqlFolders: string[];
}

export function draftOf(state: SettingsState): SettingsDraft {
  return {
    hubEndpoint: state.hubEndpoint.setting ?? "",
    hfToken: "",
    clearHfToken: false,
    s3AccessKeyId: state.s3.accessKeyId ?? "",
    s3SecretAccessKey: "",
    clearS3SecretAccessKey: false,
    s3Region: state.s3.region ?? "",
    s3Endpoint: state.s3.endpoint ?? "",
    s3Addressing: addressingOf(state.s3.pathStyle),
    sqlFolders: [...state.sql.allowedDirectories],
  };
}

/** The fields of `draft` that differ from `state`; empty text clears a setting. Pasted secrets lose surrounding spaces. */
export function updateFrom(state: SettingsState, draft: SettingsDraft): SettingsUpdate {
  const update: SettingsUpdate = {};
  const text = (value: string): string | null => value.trim() || null;
  const secret = (typed: string, clear: boolean): string | null | undefined => (typed.trim() ? typed.trim() : clear ? null : undefined);
  if (text(draft.hubEndpoint) !== state.hubEndpoint.setting) update.hubEndpoint = text(draft.hubEndpoint);
  const token = secret(draft.hfToken, draft.clearHfToken);
  if (token !== undefined) update.hfToken = token;
  const s3: NonNullable<SettingsUpdate["s3"]> = {};
  if (text(draft.s3AccessKeyId) !== state.s3.accessKeyId) s3.accessKeyId = text(draft.s3AccessKeyId);
  const key = secret(draft.s3SecretAccessKey, draft.clearS3SecretAccessKey);
  if (key !== undefined) s3.secretAccessKey = key;
  if (text(draft.s3Region) !== state.s3.region) s3.region = text(draft.s3Region);
  if (text(draft.s3Endpoint) !== state.s3.endpoint) s3.endpoint = text(draft.s3Endpoint);
  if (ADDRESSING[draft.s3Addressing] !== state.s3.pathStyle) s3.pathStyle = ADDRESSING[draft.s3Addressing];
  if (Object.keys(s3).length) update.s3 = s3;
  if (draft.sqlFolders.join("\n") !== state.sql.allowedDirectories.join("\n")) update.sql = { allowedDirectories: draft.sqlFolders };
  return update;
}

export class Settings {
  state = $state<SettingsState | null>(null);
  draft = $state<SettingsDraft | null>(null);
  error = $state<AppError | null>(null);
  busy = $state(false);
  /** What the last save changed: in effect now, or from the next start. */
  saved = $state<Omit<SettingsSaved, "settings"> | null>(null);

  constructor(private readonly client: Client) {}

  async load(): Promise<void> {
    this.saved = null;
    this.error = null;
    const r = await this.client.settings.get({});
    if (!r.ok) {
      this.error = r.error;
      return;
    }
    this.state = r.value;
    this.draft = draftOf(r.value);
  }

  get changes(): SettingsUpdate {
    return this.state && this.draft ? updateFrom(this.state, this.draft) : {};
  }

  get dirty(): boolean {
    return Object.keys(this.changes).length > 0;
  }

  /** Saves what changed; on success the draft starts again from what main saved (typed secrets are gone). */
  async save(): Promise<boolean> {
    const update = this.changes;
    if (!this.state || Object.keys(update).length === 0) return true;
    this.busy = true;
    this.error = null;
    try {
      const r = await this.client.settings.set(update);
      if (!r.ok) {
        this.error = r.error;
        return false;
      }
      this.state = r.value.settings;
      this.draft = draftOf(r.value.settings);
      this.saved = { appliedNow: r.value.appliedNow, atRestart: r.value.atRestart };
      return true;
    } finally {
      this.busy = false;
    }
  }

  /** Closing drops anything typed and not saved. */
  discard(): void {
    this.draft = this.state ? draftOf(this.state) : null;
    this.saved = null;
    this.error = null;
  }
}
