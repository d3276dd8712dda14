/** Desktop menu commands arrive as `app.command` events from main. */
import type { AppCommand } from "../../shared/ipc/contract";
import { api } from "../api/client";

export function onAppCommand(handler: (command: AppCommand) => void): () => void {
  return api.on("app.command", (e) => handler(e.command));
}
