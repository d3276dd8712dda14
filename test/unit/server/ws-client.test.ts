/**
 * The browser-mode client (renderer/api/ws-client.ts) with the `ws` package standing in for the browser's
 * WebSocket: against the real server, and against loopback servers that stay silent, send garbage or hang up.
 */
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import WebSocket, { WebSocketServer } from "ws";
import { callTimeoutMs, createWsClient, type ConnectionState, type WsClient } from "../../../renderer/api/ws-client";
import { JOB_WAIT_MAX_MS } from "../../../shared/ipc/schemas";
import { decodeMessage, encodeFrame } from "../../../shared/ipc/wire";
import { frameWithHead, startTestServer, type TestServer } from "./harness";

let t: TestServer;
const clients: WsClient[] = [];
const servers: WebSocketServer[] = [];

beforeAll(async () => {
  t = await startTestServer({ sessionGraceMs: 50 });
  vi.stubGlobal("WebSocket", WebSocket);
});
afterEach(async () => {
  vi.useRealTimers();
  for (const c of clients.splice(0)) c.close();
  for (const s of servers.splice(0)) await new Promise((resolve) => s.close(resolve));
});
afterAll(async () => {
  vi.unstubAllGlobals();
  await t.stop();
});

function client(host: string, search = "", options: Parameters<typeof createWsClient>[1] = {}): { api: WsClient; states: ConnectionState[] } {
  vi.stubGlobal("location", { protocol: "http:", host, search });
  const states: ConnectionState[] = [];
  const api = createWsClient((s) => states.push(s), options);
  clients.push(api);
  return { api, states };
}

/** A loopback WebSocket server whose every incoming call is handed to `onCall`. */
async function fakeServer(onCall: (ws: WebSocket, msg: { id: number; ns: string; method: string }) => void): Promise<string> {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  servers.push(wss);
  await new Promise((resolve) => wss.once("listening", resolve));
  wss.on("connection", (ws) => ws.on("message", (data: Buffer) => onCall(ws, decodeMessage(new Uint8Array(data)) as never)));
  return `127.0.0.1:${(wss.address() as AddressInfo).port}`;
}

describe("ws-client against the real server", () => {
  it("calls through the token and a per-page session, which ends after the page closes", async () => {
    const { api, states } = client(t.base, `?token=${t.server.token}`);
    expect(await api.app.info({})).toMatchObject({ ok: true, value: { mode: "browser" } });
    expect(states).toEqual(["connecting", "open"]);
    expect(api.session).toMatch(/^[0-9a-f]{36}$/);
    expect(t.server.sessions()).toContainEqual({ session: api.session, sockets: 1, ending: false });
    const opened = await api.datasets.open({ uri: t.root });
    expect(opened.ok).toBe(true);
    expect(await t.services.datasets.list({})).toMatchObject({ ok: true, value: [{ uri: t.root }] });
    api.close();
    await vi.waitFor(() => expect(t.server.sessions().map((s) => s.session)).not.toContain(api.session));
    await t.server.sessionsSettled();
    expect(await t.services.datasets.list({})).toEqual({ ok: true, value: [] });
  });

  it("two page loads get different sessions", async () => {
    const a = client(t.base, `?token=${t.server.token}`).api;
    const b = client(t.base, `?token=${t.server.token}`).api;
    expect(a.session).not.toBe(b.session);
  });
});

describe("ws-client timeouts and bad frames", () => {
  it("gives every call a timeout with a clear error, per method", async () => {
    expect(callTimeoutMs("query", "page")).toBe(60_000);
    expect(callTimeoutMs("jobs", "wait")).toBe(JOB_WAIT_MAX_MS + 60_000);
    for (const long of ["datasets.open", "datasets.openDemo", "convert.inspect", "query.export"]) {
      const [ns, method] = long.split(".");
      expect(callTimeoutMs(ns, method), long).toBeGreaterThan(60_000);
    }
    const host = await fakeServer(() => undefined);
    const { api, states } = client(host);
    await vi.waitFor(() => expect(states).toContain("open"));
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const page = api.query.page({ resultId: "r1", offset: 0, limit: 10 });
    const inspect = api.convert.inspect({ input: "/x.h5ad" });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(await page).toEqual({
      ok: false,
      error: { code: "SOURCE_UNREACHABLE", message: "SLAF Workbench did not answer query.page within 60 s", retryable: true },
    });
    await vi.advanceTimersByTimeAsync(15 * 60_000);
    expect(await inspect).toMatchObject({
      ok: false,
      error: { code: "SOURCE_UNREACHABLE", message: "SLAF Workbench did not answer convert.inspect within 15 min" },
    });
  });

  it("ignores frames it cannot read without throwing, and still takes the real answer", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
    const host = await fakeServer((ws, msg) => {
      ws.send(Buffer.from([1, 2]));
      ws.send(frameWithHead("null"));
      ws.send(frameWithHead('{"t":"result","id":"x"}'));
      ws.send(frameWithHead(`{"t":"result","id":${msg.id},"result":{"ok":true,"value":{"$bin":0,"n":99}}}`));
      ws.send("a text frame");
      ws.send(encodeFrame({ t: "event", name: "job", payload: { jobId: "j" } }));
      ws.send(encodeFrame({ t: "result", id: msg.id, result: { ok: true, value: "the answer" } }));
    });
    const { api } = client(host, "", { timeoutMs: () => 60_000 });
    const jobs: unknown[] = [];
    api.on("job", () => {
      throw new Error("a listener bug");
    });
    api.on("job", (e) => jobs.push(e));
    const error = vi.spyOn(console, "error").mockImplementation(() => undefined);
    expect(await api.app.info({})).toEqual({ ok: true, value: "the answer" });
    expect(warn.mock.calls.map((c) => String(c[0]))).toEqual([
      expect.stringMatching(/Frame is 2 bytes/),
      expect.stringMatching(/holds null/),
      expect.stringMatching(/id must be a non-negative integer/),
      expect.stringMatching(/points past the 0 attachment bytes/),
      expect.stringMatching(/text frame/),
    ]);
    expect(error).toHaveBeenCalledTimes(1);
    // The listener after the failing one still got the event.
    expect(jobs).toEqual([{ jobId: "j" }]);
  });

  it("fails pending calls with the server's close reason, then reconnects", async () => {
    const host = await fakeServer((ws) => ws.close(4000, "closing for the test"));
    const { api, states } = client(host);
    expect(await api.app.info({})).toEqual({
      ok: false,
      error: { code: "SOURCE_UNREACHABLE", message: "Lost the connection to the SLAF Workbench server: closing for the test", retryable: true },
    });
    await vi.waitFor(() => expect(states.filter((s) => s === "open")).toHaveLength(2));
  });

  it("answers at once when the server cannot be reached", async () => {
    const { api } = client("127.0.0.1:1");
    expect(await api.app.info({})).toMatchObject({ ok: false, error: { code: "SOURCE_UNREACHABLE", message: expect.stringMatching(/Cannot reach/) } });
  });
});
