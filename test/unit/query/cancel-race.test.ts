/** A cancel that lands before DuckDB has started the statement still stops it (an interrupt then is otherwise lost). */
import { DuckDBInstance } from "@duckdb/node-api";
import { describe, expect, it } from "vitest";
import { createTableAs } from "../../../main/services/query/execute";

const ENDLESS = "SELECT count(*) AS n FROM range(1000000000) a, range(1000000000) b WHERE a.range + b.range < 0";

describe("cancelling a query's SQL", () => {
  it.each([
    ["before the statement starts", (c: AbortController) => c.abort()],
    ["as it starts", (c: AbortController) => queueMicrotask(() => c.abort())],
    ["while it runs", (c: AbortController) => setTimeout(() => c.abort(), 200)],
  ])("stops an endless statement when cancelled %s", async (_when, cancel) => {
    const instance = await DuckDBInstance.create(":memory:");
    const conn = await instance.connect();
    try {
      const controller = new AbortController();
      controller.signal.addEventListener("abort", () => conn.interrupt());
      const running = createTableAs(conn, "t", ENDLESS, controller.signal);
      cancel(controller);
      await expect(running).rejects.toThrow(/INTERRUPT|Interrupted|Cancelled/i);
    } finally {
      conn.closeSync();
      instance.closeSync();
    }
  });
});
