import { allMethods, channelOf, type Api, type Namespace } from "../../shared/ipc/contract";
import type { Result } from "../../shared/result";
import { toAppError } from "./errors";

export type Handler = (arg: unknown) => Promise<Result<unknown>>;

/**
 * One handler per method of the contract, keyed by channel. Both bindings (Electron IPC, browser WebSocket)
 * are built from this table, so a method cannot be bound in one and forgotten in the other.
 */
export function handlerTable(api: Api): Map<string, Handler> {
  const table = new Map<string, Handler>();
  for (const { ns, method } of allMethods()) {
    const target = api[ns as Namespace] as unknown as Record<string, (arg: unknown) => Promise<Result<unknown>>>;
    table.set(channelOf(ns, method), async (arg) => {
      try {
        return await target[method].call(target, arg ?? {});
      } catch (e) {
        return { ok: false, error: toAppError(e) };
      }
    });
  }
  return table;
}
