import type { EventName, Events } from "../../shared/ipc/contract";

/** Sends a push event to every connected renderer (Electron webContents or browser WebSocket clients). */
export type EmitEvent = <E extends EventName>(name: E, payload: Events[E]) => void;
