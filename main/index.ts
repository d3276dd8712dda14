/** Electron composition root: paths → services → IPC binding → window. */
import { app, dialog, ipcMain, safeStorage, session } from "electron";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { EVENT_CHANNEL } from "../shared/ipc/contract";
import { APP_VERSION } from "./commands/version";
import { bindIpc } from "./electron/ipc";
import { installMenu } from "./electron/menu";
import { desktopSecretStore } from "./electron/secret-store";
import { registerScheme, serveRenderer } from "./electron/protocol";
import { createMainWindow, isTrustedSender } from "./electron/window";
import { createServices } from "./services/index";
import { convertWorkerPath } from "./services/resources";
import { loadSettings } from "./services/settings";
import { datasetArgument } from "./services/datasets/uri";

const here = path.dirname(fileURLToPath(import.meta.url));
// Bundled layout: dist/electron/main.mjs, dist/preload/index.cjs, dist/renderer/.
const distDir = path.resolve(here, "..");
const datasetArg = process.argv.slice(app.isPackaged ? 1 : 2).find((a) => !a.startsWith("-") && !a.endsWith(".mjs"));

registerScheme();
app.enableSandbox();

void app.whenReady().then(async () => {
  session.defaultSession.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));
  serveRenderer(path.join(distDir, "renderer"));
  const win = createMainWindow(path.join(distDir, "preload", "index.cjs"));
  const { settings, warnings } = await loadSettings(app.getPath("userData"));
  for (const w of warnings) console.warn(`[slaf-workbench] ${w}`);
  const services = createServices({
    settings,
    secretStore: await desktopSecretStore(safeStorage, app.getPath("userData")),
    info: {
      version: APP_VERSION,
      mode: "electron",
      initialDatasetUri: datasetArg ? datasetArgument(datasetArg) : null,
      openDemoAtStart: !datasetArg,
      userDataDir: app.getPath("userData"),
      platform: process.platform,
    },
    convertWorker: convertWorkerPath(),
    emit: (name, payload) => {
      if (!win.isDestroyed()) win.webContents.send(EVENT_CHANNEL, name, payload);
    },
    pickPath: async (req) => {
      if (req.kind === "save") {
        const r = await dialog.showSaveDialog(win, { title: req.title, defaultPath: req.defaultPath });
        return r.canceled ? null : (r.filePath ?? null);
      }
      const r = await dialog.showOpenDialog(win, {
        title: req.title,
        defaultPath: req.defaultPath,
        properties: req.kind === "directory" ? ["openDirectory"] : ["openFile"],
      });
      return r.canceled ? null : (r.filePaths[0] ?? null);
    },
  });
  void services.housekeeping().catch((e: unknown) => console.error("[slaf-workbench] start-up cleanup failed:", e));
  const unbind = bindIpc(ipcMain, services.dispatcher, (event) => isTrustedSender(win, event));
  installMenu(win);
  app.on("window-all-closed", () => {
    unbind();
    void services.dispose().finally(() => app.quit());
  });
});
