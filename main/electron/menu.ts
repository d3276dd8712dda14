import { Menu, type BrowserWindow, type MenuItemConstructorOptions } from "electron";
import { EVENT_CHANNEL, type AppCommand } from "../../shared/ipc/contract";

/** The desktop menu; each item pushes an `app.command` event that the renderer acts on. */
export function installMenu(win: BrowserWindow): void {
  const send = (command: AppCommand) => () => {
    if (!win.isDestroyed()) win.webContents.send(EVENT_CHANNEL, "app.command", { command });
  };
  const isMac = process.platform === "darwin";
  const template: MenuItemConstructorOptions[] = [
    ...(isMac ? [{ role: "appMenu" as const }] : []),
    {
      label: "File",
      submenu: [
        { label: "Open Dataset…", accelerator: "CmdOrCtrl+O", click: send("open-dataset") },
        { label: "Open Demo: PBMC 3k", click: send("open-demo") },
        { label: "Convert to SLAF…", accelerator: "CmdOrCtrl+Shift+C", click: send("convert") },
        { label: "Close Dataset", click: send("close-dataset") },
        { type: "separator" },
        { label: "New Notebook", accelerator: "CmdOrCtrl+N", click: send("new-notebook") },
        { label: "Open Notebook…", accelerator: "CmdOrCtrl+Shift+O", click: send("open-notebook") },
        { label: "Save Notebook", accelerator: "CmdOrCtrl+S", click: send("save-notebook") },
        { label: "Save Notebook As…", accelerator: "CmdOrCtrl+Shift+S", click: send("save-notebook-as") },
        { type: "separator" },
        isMac ? { role: "close" } : { role: "quit" },
      ],
    },
    { role: "editMenu" },
    { label: "Run", submenu: [{ label: "Run All Cells", accelerator: "CmdOrCtrl+Shift+Enter", click: send("run-all") }] },
    { role: "viewMenu" },
    { role: "windowMenu" },
  ];
  Menu.setApplicationMenu(Menu.buildFromTemplate(template));
}
