/**
 * One `slaf-workbench serve` per spec file, with its own temp folder (user data inside it), so no spec sees another's
 * notebooks, demo or settings and none has to restore files. Call `useAppServer()` at the top of a spec file.
 */
import fs from "node:fs/promises";
import path from "node:path";
import { test } from "@playwright/test";
import { tempDir } from "../fixtures/slaf-fixture";
import { startCliServer, type ServerHandle } from "./server";

export interface AppServer {
  /** The page's URL, token included. */
  readonly url: string;
  /** This spec file's temp folder: write exports, saved notebooks and conversions here. */
  readonly dir: string;
  /** SLAFWB_USER_DATA of this server (starter notebooks, the demo). */
  readonly userData: string;
}

export interface AppServerOptions {
  /**
   * More environment for the server (e.g. HF_ENDPOINT of a fake Hub). A function is called when the server starts,
   * after the spec's earlier beforeAll hooks, so it can name servers they started.
   */
  env?: Record<string, string> | (() => Record<string, string> | Promise<Record<string, string>>);
}

export function useAppServer(args: string[] = [], opts: AppServerOptions = {}): AppServer {
  let server: ServerHandle | null = null;
  let dir: string | null = null;
  test.beforeAll(async () => {
    dir = await tempDir("slafwb-e2e-spec-");
    const extra = typeof opts.env === "function" ? await opts.env() : (opts.env ?? {});
    server = await startCliServer(args, { ...extra, SLAFWB_USER_DATA: path.join(dir, "user-data") });
  });
  test.afterAll(async () => {
    await server?.stop();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
    server = null;
    dir = null;
  });
  const started = <T>(value: T | null | undefined): T => {
    if (value === null || value === undefined) throw new Error("The spec's server is not running: useAppServer() runs in beforeAll");
    return value;
  };
  return {
    get url() {
      return started(server).url;
    },
    get dir() {
      return started(dir);
    },
    get userData() {
      return path.join(started(dir), "user-data");
    },
  };
}
