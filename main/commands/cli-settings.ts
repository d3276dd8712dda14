/**
 * Settings for a CLI command: settings.json of the user data folder, plus `--allow-dir` folders for SQL file access,
 * and the Hub endpoint and token remote datasets are read with (the environment first, as in the app).
 */
import path from "node:path";
import { fileSecretStore } from "../services/secrets/store";
import { allowedDirectories, loadSettings, type AppSettings } from "../services/settings";
import { environmentHfToken, upstreamHubEndpoint } from "../services/sources/hub-endpoint";
import type { SourcesOptions } from "../services/sources/service";
import type { S3Access } from "../services/gateway/index";
import { s3AccessOf } from "../services/settings-service";
import { environmentS3 } from "../services/sources/s3-environment";
import { flagList, UsageError, type ParsedArgs } from "./args";
import { defaultUserDataDir } from "./user-data";

export async function cliSettings(args: ParsedArgs, userDataDir = defaultUserDataDir()): Promise<{ settings: AppSettings; userDataDir: string }> {
  const fromFlags = await allowedDirectories(
    flagList(args, "allow-dir", "a folder").map((d) => path.resolve(d)),
    "--allow-dir",
  );
  // A wrong flag is the user's typo right now: refuse it. A wrong settings.json entry only warns.
  if (fromFlags.warnings.length) throw new UsageError(fromFlags.warnings[0].replace(/; ignored$/, ""));
  const { settings, warnings } = await loadSettings(userDataDir);
  for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
  settings.sql.allowedDirectories = [...new Set([...settings.sql.allowedDirectories, ...fromFlags.directories])];
  return { settings, userDataDir };
}

/** Where a CLI command reads remote datasets from: HF_ENDPOINT or settings.json's Hub; HF_TOKEN or the saved token (read when first needed). */
export function cliSources(settings: AppSettings, userDataDir: string): Pick<SourcesOptions, "cacheDir" | "hubEndpoint" | "hfToken"> {
  const secrets = fileSecretStore(userDataDir);
  return {
    cacheDir: path.join(userDataDir, "cache"),
    hubEndpoint: upstreamHubEndpoint(settings.hub.endpoint),
    hfToken: async () => environmentHfToken() ?? (await secrets.get("hfToken")),
  };
}

/** What a CLI command opens s3:// datasets with (`gw.pinS3(uri, access)`): AWS_* from the environment, else the S3 settings and saved secret key. */
export async function cliS3Access(settings: AppSettings, userDataDir: string): Promise<S3Access> {
  return s3AccessOf(settings.s3, await fileSecretStore(userDataDir).get("s3SecretAccessKey"), environmentS3());
}
