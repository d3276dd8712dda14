/** Builds `window.slafwb` from the contract's method list; nothing else crosses the bridge. */
import { contextBridge, ipcRenderer } from "electron";
import { EVENT_CHANNEL, EVENT_NAMES, METHODS, channelOf, type Namespace } from "../shared/ipc/contract";

type Listener = (payload: unknown) => void;
const listeners = new Map<string, Set<Listener>>();
ipcRenderer.on(EVENT_CHANNEL, (_event, name: string, payload: unknown) => {
  for (const fn of listeners.get(name) ?? []) fn(payload);
});

const bridge: Record<string, unknown> = {
  on(name: string, listener: Listener) {
    if (!(EVENT_NAMES as readonly string[]).includes(name)) throw new Error(`Unknown event ${name}`);
    const set = listeners.get(name) ?? new Set<Listener>();
    set.add(listener);
    listeners.set(name, set);
    return () => set.delete(listener);
  },
};
for (const ns of Object.keys(METHODS) as Namespace[]) {
  bridge[ns] = Object.fromEntries(METHODS[ns].map((m: string) => [m, (arg: unknown) => ipcRenderer.invoke(channelOf(ns, m), arg)]));
}

contextBridge.exposeInMainWorld("slafwb", bridge);
