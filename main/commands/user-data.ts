import os from "node:os";
import path from "node:path";

/** Where the app keeps its own files (demo, cache, notebooks): $SLAFWB_USER_DATA, else the XDG data folder. */
export function defaultUserDataDir(): string {
  if (process.env.SLAFWB_USER_DATA) return path.resolve(process.env.SLAFWB_USER_DATA);
  const base = process.env.XDG_DATA_HOME || path.join(os.homedir(), ".local", "share");
  return path.join(base, "slaf-workbench");
}
