/** Test helpers: collect pushed events. */
import type { EventName, Events } from "../../../shared/ipc/contract";
import type { EmitEvent } from "../../../main/services/events";

export interface Recorded {
  name: EventName;
  payload: Events[EventName];
}

export function recorder(): { emit: EmitEvent; events: Recorded[]; waitFor(pred: (e: Recorded) => boolean, ms?: number): Promise<Recorded> } {
  const events: Recorded[] = [];
  const waiters: { pred: (e: Recorded) => boolean; resolve: (e: Recorded) => void }[] = [];
  const emit: EmitEvent = (name, payload) => {
    const e = { name, payload } as Recorded;
    events.push(e);
    for (const w of waiters.splice(0)) {
      if (w.pred(e)) w.resolve(e);
      else waiters.push(w);
    }
  };
  return {
    emit,
    events,
    waitFor(pred, ms = 5000) {
      const found = events.find(pred);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no matching event within ${ms} ms; got ${JSON.stringify(events)}`)), ms);
        waiters.push({
          pred,
          resolve: (e) => {
            clearTimeout(timer);
            resolve(e);
          },
        });
      });
    },
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
