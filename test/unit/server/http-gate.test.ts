/** Item 1 and 5 of issue 8: malformed requests answer 400 (never end the process); Host, token and session cookie. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, httpText, openWs, rawHttp, startTestServer, upgradeHeaders, type TestServer } from "./harness";

let t: TestServer;
let port: number;
let host: string;

beforeAll(async () => {
  t = await startTestServer();
  port = t.server.port;
  host = t.base;
});
afterAll(async () => {
  await t.stop();
});

/** The server still serves a tokened page: it did not die or wedge. */
async function stillServes(): Promise<void> {
  const res = await fetch(t.server.url);
  expect(res.status).toBe(200);
  await res.arrayBuffer();
}

describe("malformed requests (item 1)", () => {
  const badLines = ["GET //[ HTTP/1.1", "GET http://[::1 HTTP/1.1", "GET http://[::1/?token=x HTTP/1.1", "GET //[/ws HTTP/1.1"];

  it.each(badLines)("answers 400 to %s, with and without the token", async (line) => {
    for (const headers of [{ host }, { host, authorization: `Bearer ${t.server.token}` }] as Record<string, string>[]) {
      const res = await rawHttp(port, httpText(line, headers));
      expect(res.status, line).toBe(400);
      expect(res.text).not.toMatch(/\n\s+at /);
    }
    await stillServes();
  });

  it.each(badLines)("answers 400 to an upgrade of %s", async (line) => {
    const res = await rawHttp(port, httpText(line, upgradeHeaders(host, { authorization: `Bearer ${t.server.token}` })));
    expect(res.status, line).toBe(400);
    await stillServes();
  });

  it("answers 401 to a cookie that does not URL-decode, on requests and upgrades", async () => {
    for (const cookie of ["slafwb_token=%E0%A4%A", `slafwb_${port}=%E0%A4%A`, `slafwb_${port}=%`, `=; ;;=x; slafwb_${port}`]) {
      expect((await rawHttp(port, httpText("GET / HTTP/1.1", { host, cookie }))).status, cookie).toBe(401);
      expect((await rawHttp(port, httpText("GET /ws HTTP/1.1", upgradeHeaders(host, { cookie })))).status, cookie).toBe(401);
    }
    await stillServes();
  });

  it("answers 400 to bytes that are not HTTP and to a broken upgrade handshake", async () => {
    expect((await rawHttp(port, "\x00\x01\x02 garbage\r\n\r\n")).status).toBe(400);
    expect((await rawHttp(port, httpText("GET / HTTP/1.1", { host, "content-length": "nope" }))).status).toBe(400);
    const badKey = upgradeHeaders(host, { authorization: `Bearer ${t.server.token}`, "sec-websocket-key": "short" });
    expect((await rawHttp(port, httpText("GET /ws HTTP/1.1", badKey))).status).toBe(400);
    await stillServes();
  });

  it("survives a client that resets mid-upgrade", async () => {
    const net = await import("node:net");
    await new Promise<void>((resolve) => {
      const s = net.connect(port, "127.0.0.1", () => {
        s.write(httpText("GET /ws HTTP/1.1", upgradeHeaders(host, { authorization: `Bearer ${t.server.token}` })).slice(0, -2));
        s.resetAndDestroy();
        resolve();
      });
    });
    await stillServes();
  });
});

describe("Host header (item 5)", () => {
  const refused = ["evil.example", `evil.example:${port}`, "127.0.0.1", "127.0.0.1:1", "localhost", "[::1]", "127.0.0.1:80@evil.example"];

  it("refuses any Host but 127.0.0.1:<port> and localhost:<port> with 403, even with the token", async () => {
    for (const h of [...refused, `evil.example:${port}`]) {
      const res = await rawHttp(port, httpText(`GET /?token=${t.server.token} HTTP/1.1`, { host: h }));
      expect(res.status, h).toBe(403);
      expect(res.text).not.toContain("set-cookie");
      const up = await rawHttp(port, httpText(`GET /ws?token=${t.server.token} HTTP/1.1`, upgradeHeaders(h)));
      expect(up.status, h).toBe(403);
    }
    expect((await rawHttp(port, `GET /?token=${t.server.token} HTTP/1.0\r\n\r\n`)).status).toBe(403);
  });

  it("accepts both loopback names with the port", async () => {
    for (const h of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST:${port}`]) {
      const res = await rawHttp(port, httpText(`GET /?token=${t.server.token} HTTP/1.1`, { host: h, connection: "close" }), { halfClose: false });
      expect(res.status, h).toBe(200);
    }
  });
});

describe("token and session cookie (item 5)", () => {
  it("answers 401 without the token", async () => {
    for (const p of ["/", "/index.html", "/assets/index.js", "/?token=wrong"]) {
      const res = await fetch(`http://${host}${p}`);
      expect(res.status, p).toBe(401);
      expect(await res.text()).not.toContain("<title>");
    }
    await expect(openWs(`ws://${host}/ws`)).rejects.toThrow(/401/);
    await expect(openWs(`ws://${host}/ws?token=nope`)).rejects.toThrow(/401/);
  });

  it("exchanges the token for a per-port cookie holding a session value, never the token", async () => {
    const res = await fetch(t.server.url);
    expect(res.status).toBe(200);
    const setCookie = res.headers.get("set-cookie")!;
    expect(setCookie).toMatch(new RegExp(`^slafwb_${port}=[\\w-]{20,}; HttpOnly; SameSite=Strict; Path=/$`));
    expect(setCookie).not.toContain(t.server.token);
    const cookie = setCookie.split(";")[0];
    expect((await fetch(`http://${host}/`, { headers: { cookie } })).status).toBe(200);
    const wrongToken = await fetch(`http://${host}/?token=wrong`, { headers: { cookie } });
    expect([wrongToken.status, wrongToken.headers.get("set-cookie")]).toEqual([200, null]);
    const ws = await openWs(`ws://${host}/ws`, { cookie });
    expect(await call(ws, "app", "info", {})).toMatchObject({ ok: true });
    ws.close();
  });

  it("does not accept the token as the cookie value, nor the old cookie name", async () => {
    for (const cookie of [`slafwb_${port}=${t.server.token}`, `slafwb_token=${t.server.token}`, `slafwb_${port + 1}=${t.server.token}`]) {
      expect((await fetch(`http://${host}/`, { headers: { cookie } })).status, cookie).toBe(401);
      await expect(openWs(`ws://${host}/ws`, { cookie }), cookie).rejects.toThrow(/401/);
    }
  });

  it("takes Authorization: Bearer for tools, on requests and upgrades", async () => {
    const authorization = `Bearer ${t.server.token}`;
    const res = await fetch(`http://${host}/`, { headers: { authorization } });
    expect(res.status).toBe(200);
    expect(res.headers.get("set-cookie")).toBeNull();
    const ws = await openWs(`ws://${host}/ws`, { authorization });
    expect(await call(ws, "app", "info", {})).toMatchObject({ ok: true, value: { mode: "browser" } });
    ws.close();
  });

  it("refuses a WebSocket from another origin even with the token", async () => {
    for (const origin of ["http://evil.example", `http://127.0.0.1:${port + 1}`, "null"]) {
      await expect(openWs(t.wsUrl(), { origin }), origin).rejects.toThrow(/403/);
    }
    const ws = await openWs(t.wsUrl(), { origin: `http://localhost:${port}` });
    ws.close();
  });

  it("answers 405 to methods other than GET and HEAD", async () => {
    expect((await fetch(t.server.url, { method: "POST", body: "x" })).status).toBe(405);
  });
});
