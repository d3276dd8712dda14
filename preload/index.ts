/** Builds `window.slafwb` from the contract's method list; nothing else crosses the bridge. */
import { contextBridge, ipcRenderer } from "electron";
import { EVENT_CHANNEL, METHODS, channelOf, type Namespace } from "../shared/ipc/contract";
import { createListeners } from "../shared/ipc/listeners";

const listeners = createListeners();
ipcRenderer.on(EVENT_CHANNEL, (_event, name: string, payload: unknown) => listeners.emit(name, payload));

const bridge: Record<string, unknown> = { on: listeners.on };
for (const ns of Object.keys(METHODS) as Namespace[]) {
  bridge[ns] = Object.fromEntries(METHODS[ns].map((m: string) => [m, (arg: unknown) => ipcRenderer.invoke(channelOf(ns, m), arg)]));
}

contextBridge.exposeInMainWorld("slafwb", bridge);
