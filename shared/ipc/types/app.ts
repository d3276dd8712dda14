import type { Result } from "../../result";
import type { Empty } from "./common";

export interface AppInfo {
  version: string;
  mode: "electron" | "browser";
  /** Dataset given on the command line, opened at start. */
  initialDatasetUri: string | null;
  /** Open the bundled demo at start (desktop app and `npm start` without a dataset). */
  openDemoAtStart: boolean;
  userDataDir: string;
  platform: string;
}

/** Menu commands of the desktop app, pushed to the renderer (browser mode has the same actions as buttons). */
export const APP_COMMANDS = [
  "open-dataset",
  "open-demo",
  "convert",
  "close-dataset",
  "new-notebook",
  "open-notebook",
  "save-notebook",
  "save-notebook-as",
  "run-all",
] as const;
export type AppCommand = (typeof APP_COMMANDS)[number];

export interface AppApi {
  info(req: Empty): Promise<Result<AppInfo>>;
  /** Native file dialog in the desktop app; UNSUPPORTED_IN_MODE in browser mode (use the path field). */
  pickPath(req: { kind: "directory" | "file" | "save"; title: string; defaultPath?: string }): Promise<Result<string | null>>;
}
