/** Desktop menu commands arrive as `app.command` events from main. */
import type { AppCommand, Client } from "../../shared/ipc/contract";

export function appCommands(client: Client): (handler: (command: AppCommand) => void) => () => void {
  return (handler) => client.on("app.command", (e) => handler(e.command));
}
