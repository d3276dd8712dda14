/** The renderer's only door to main: the Electron preload bridge when present, else the browser-mode WebSocket. */
import type { Client } from "../../shared/ipc/contract";
import { createWsClient, type ConnectionState } from "./ws-client";

declare global {
  interface Window {
    slafwb?: Client;
  }
}

let state: ConnectionState = window.slafwb ? "open" : "connecting";
const stateListeners = new Set<(s: ConnectionState) => void>();

export const api: Client =
  window.slafwb ??
  createWsClient((s) => {
    state = s;
    for (const fn of stateListeners) fn(s);
  });

export const mode: "electron" | "browser" = window.slafwb ? "electron" : "browser";

export function onConnectionState(fn: (s: ConnectionState) => void): () => void {
  stateListeners.add(fn);
  fn(state);
  return () => stateListeners.delete(fn);
}

export type { ConnectionState };
