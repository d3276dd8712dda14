import fs from "node:fs/promises";
import path from "node:path";
import { createServices, type Services } from "../services/index";
import { convertWorkerPath, packageRoot } from "../services/resources";
import { startBrowserServer, type BrowserServer } from "../server/http-server";
import { newToken } from "../server/auth";
import { flagInt, flagString, parseArgs } from "./args";
import { cliSettings } from "./cli-settings";
import { datasetArgument } from "../services/datasets/uri";
import { defaultUserDataDir } from "./user-data";
import { APP_VERSION } from "./version";

export const SERVE_USAGE = "slaf-workbench serve [DATASET | --demo] [--port N] [--user-data DIR] [--allow-dir DIR]... [--offline]";

export interface RunningServer {
  server: BrowserServer;
  services: Services;
  stop(): Promise<void>;
}

export async function startServe(argv: string[]): Promise<RunningServer> {
  const args = parseArgs(argv, ["demo", "offline"]);
  const dataset = args.positionals[0] ? datasetArgument(args.positionals[0]) : null;
  const userDataDir = path.resolve(flagString(args, "user-data") ?? defaultUserDataDir());
  await fs.mkdir(userDataDir, { recursive: true });
  const { settings } = await cliSettings(args, userDataDir);
  let services: Services | null = null;
  const server = await startBrowserServer({
    port: flagInt(args, "port") ?? 0,
    token: process.env.SLAFWB_TOKEN || newToken(),
    staticDir: path.join(packageRoot(), "dist", "renderer"),
    dispatcher: () => (services as Services).dispatcher,
  });
  services = createServices({
    settings,
    sources: { offline: args.flags.get("offline") === true },
    info: {
      version: APP_VERSION,
      mode: "browser",
      initialDatasetUri: dataset,
      openDemoAtStart: !dataset && args.flags.has("demo"),
      userDataDir,
      platform: process.platform,
    },
    emit: (name, payload) => server.broadcast(name, payload),
    convertWorker: convertWorkerPath(),
  });
  await services
    .housekeeping()
    .catch((e: unknown) => process.stderr.write(`warning: start-up cleanup failed: ${e instanceof Error ? e.message : String(e)}\n`));
  return {
    server,
    services,
    async stop() {
      await server.close();
      await services?.dispose();
    },
  };
}

export async function serveCommand(argv: string[]): Promise<"running"> {
  const running = await startServe(argv);
  console.log(`SLAF Workbench (browser mode) is serving at ${running.server.url}`);
  const stop = () => {
    void running.stop().finally(() => process.exit(0));
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  return "running";
}
