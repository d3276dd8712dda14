import type { IpcMain, IpcMainInvokeEvent } from "electron";
import type { Api } from "../../shared/ipc/contract";
import { handlerTable } from "../services/dispatch";

/** Binds every method of the contract to ipcMain.handle, refusing calls from any frame but our own page. */
export function bindIpc(ipcMain: Pick<IpcMain, "handle" | "removeHandler">, api: Api, isTrusted: (event: IpcMainInvokeEvent) => boolean): () => void {
  const table = handlerTable(api);
  for (const [channel, handler] of table) {
    ipcMain.handle(channel, (event, arg: unknown) => {
      if (!isTrusted(event)) return { ok: false, error: { code: "INVALID_ARGUMENT", message: "IPC call from an untrusted frame was refused" } };
      return handler(arg);
    });
  }
  return () => {
    for (const channel of table.keys()) ipcMain.removeHandler(channel);
  };
}
