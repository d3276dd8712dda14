/** Settings for a CLI command: settings.json of the user data folder, plus `--allow-dir` folders for SQL file access. */
import path from "node:path";
import { allowedDirectories, loadSettings, type AppSettings } from "../services/settings";
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
