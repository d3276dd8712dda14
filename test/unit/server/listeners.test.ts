/** shared/ipc/listeners: one failing listener does not keep an event from the others. */
import { describe, expect, it } from "vitest";
import { createListeners } from "../../../shared/ipc/listeners";

describe("push-event listeners", () => {
  it("runs every listener, then throws the first error when no error handler is given", () => {
    const seen: string[] = [];
    const listeners = createListeners();
    listeners.on("notebook.changed", () => {
      throw new Error("first");
    });
    listeners.on("notebook.changed", (e) => seen.push(e.path));
    expect(() => listeners.emit("notebook.changed", { path: "/nb.slafnb.md", mtimeMs: 1 })).toThrow("first");
    expect(seen).toEqual(["/nb.slafnb.md"]);
  });

  it("hands errors to the handler, and unsubscribes", () => {
    const errors: [string, unknown][] = [];
    const listeners = createListeners((name, e) => errors.push([name, e]));
    const off = listeners.on("job", () => {
      throw new Error("bug");
    });
    listeners.emit("job", {});
    off();
    listeners.emit("job", {});
    expect(errors).toEqual([["job", new Error("bug")]]);
    expect(() => listeners.on("nope" as never, () => undefined)).toThrow(/Unknown event nope/);
  });
});
