import type { IpcMain, IpcMainInvokeEvent, WebContents } from "electron";
import type { Dispatcher } from "../services/dispatch";

/**
 * Binds every method of the contract to ipcMain.handle through the dispatcher, refusing calls from any frame
 * but our own page. Each page load of a webContents is one session: a reload or navigation of the main frame,
 * or the webContents going away, gives back what the previous page held.
 */
export function bindIpc(
  ipcMain: Pick<IpcMain, "handle" | "removeHandler">,
  dispatcher: Dispatcher,
  isTrusted: (event: IpcMainInvokeEvent) => boolean,
): () => void {
  const loads = new WeakMap<WebContents, number>();
  const tracked = new WeakSet<WebContents>();
  const sessionOf = (wc: WebContents) => `wc${wc.id}.${loads.get(wc) ?? 0}`;

  function track(wc: WebContents): void {
    if (tracked.has(wc)) return;
    tracked.add(wc);
    wc.on("did-start-navigation", (details) => {
      if (!details.isMainFrame || details.isSameDocument) return;
      const ending = sessionOf(wc);
      loads.set(wc, (loads.get(wc) ?? 0) + 1);
      void dispatcher.endSession(ending);
    });
    wc.once("destroyed", () => void dispatcher.endSession(sessionOf(wc)));
  }

  const channels = dispatcher.channels();
  for (const { ns, method, channel } of channels) {
    ipcMain.handle(channel, (event, arg: unknown) => {
      if (!isTrusted(event)) return { ok: false, error: { code: "INVALID_ARGUMENT", message: "IPC call from an untrusted frame was refused" } };
      track(event.sender);
      return dispatcher.call(ns, method, arg, sessionOf(event.sender));
    });
  }
  return () => {
    for (const { channel } of channels) ipcMain.removeHandler(channel);
  };
}
