import { EVENT_NAMES, type EventName, type Events } from "./contract";

/**
 * Push-event subscriptions, for both renderer-side bindings (Electron preload and the browser WebSocket client).
 * A listener that throws does not keep the event from the others; its error goes to `onListenerError`, or is
 * thrown once every listener has run.
 */
export function createListeners(onListenerError?: (name: string, error: unknown) => void) {
  const byName = new Map<string, Set<(payload: unknown) => void>>();
  return {
    on<E extends EventName>(name: E, listener: (payload: Events[E]) => void): () => void {
      if (!(EVENT_NAMES as readonly string[]).includes(name)) throw new Error(`Unknown event ${name}`);
      const set = byName.get(name) ?? new Set();
      set.add(listener as (payload: unknown) => void);
      byName.set(name, set);
      return () => set.delete(listener as (payload: unknown) => void);
    },
    emit(name: string, payload: unknown): void {
      const errors: unknown[] = [];
      for (const fn of [...(byName.get(name) ?? [])]) {
        try {
          fn(payload);
        } catch (e) {
          if (onListenerError) onListenerError(name, e);
          else errors.push(e);
        }
      }
      if (errors.length > 0) throw errors[0];
    },
  };
}
