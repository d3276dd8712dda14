/**
 * The benchmarks' shaping proxy moves every byte intact and in order, both ways, over concurrent connections on a
 * shared link, passes half-closes and resets on, and survives an unreachable server. No timing is asserted.
 */
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import http from "node:http";
import net from "node:net";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Link, startShapingProxy, type ShapingProxy } from "../../fixtures/shaping-proxy";
import { startFakeHub, type FakeHub } from "../../fixtures/fake-hub";

const FAST = { rttMs: 2, connMbps: 2000 };
const open: { close(): unknown }[] = [];

afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

async function listen(onConnection: (s: net.Socket) => void): Promise<net.AddressInfo> {
  const server = net.createServer({ allowHalfOpen: true }, onConnection);
  const sockets = new Set<net.Socket>();
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  open.push({ close: () => (sockets.forEach((s) => s.destroy()), new Promise((resolve) => server.close(resolve))) });
  return server.address() as net.AddressInfo;
}

async function proxyTo(port: number, link: Link | null = null, profile = FAST): Promise<ShapingProxy> {
  const proxy = await startShapingProxy({ host: "127.0.0.1", port }, profile, link);
  open.push(proxy);
  return proxy;
}

/** Echo server: sends back what it reads and ends its side after the client ends its own. */
function echo(s: net.Socket): void {
  s.on("error", () => undefined);
  s.pipe(s);
}

/** Sends `payload` in writes of random sizes, half-closes, and collects everything read until the other side ends. */
function exchange(port: number, payload: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: "127.0.0.1", port, allowHalfOpen: true });
    const got: Buffer[] = [];
    socket.on("data", (c: Buffer) => got.push(c));
    socket.on("end", () => {
      socket.end();
      resolve(Buffer.concat(got));
    });
    socket.on("error", reject);
    let at = 0;
    const writeSome = (): void => {
      while (at < payload.length) {
        const n = 1 + Math.floor(Math.random() * 200_000);
        const ok = socket.write(payload.subarray(at, at + n));
        at += n;
        if (!ok) return void socket.once("drain", writeSome);
      }
      socket.end();
    };
    writeSome();
  });
}

describe("shaping proxy", () => {
  it("returns every byte intact and in order, both ways, above the 4 MiB pause threshold", async () => {
    const server = await listen(echo);
    // Slow enough that the sender gets more than 4 MiB ahead, so reading pauses and resumes.
    const proxy = await proxyTo(server.port, null, { rttMs: 2, connMbps: 300 });
    const payload = randomBytes(9 * 1024 * 1024 + 123);
    const back = await exchange(proxy.port, payload);
    expect(back.length).toBe(payload.length);
    expect(back.equals(payload)).toBe(true);
    expect(proxy.stats).toEqual({ connections: 1, bytesUp: payload.length, bytesDown: payload.length });
  });

  it("keeps concurrent connections on a shared link apart", async () => {
    const server = await listen(echo);
    const link = new Link(3000);
    const [a, b] = [await proxyTo(server.port, link), await proxyTo(server.port, link)];
    const payloads = Array.from({ length: 6 }, (_, i) => randomBytes(700_000 + i * 97_001));
    const backs = await Promise.all(payloads.map((p, i) => exchange((i % 2 ? a : b).port, p)));
    backs.forEach((back, i) => expect(createHash("sha256").update(back).digest("hex")).toBe(createHash("sha256").update(payloads[i]).digest("hex")));
    expect(a.stats.connections + b.stats.connections).toBe(6);
  });

  it("carries server-first bytes and the server's end before the client writes anything", async () => {
    const greeting = randomBytes(3 * 1024 * 1024);
    const server = await listen((s) => s.end(greeting));
    const proxy = await proxyTo(server.port);
    const got = await new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      const s = net.connect({ host: "127.0.0.1", port: proxy.port });
      s.on("data", (c: Buffer) => chunks.push(c));
      s.on("end", () => resolve(Buffer.concat(chunks)));
      s.on("error", reject);
    });
    expect(got.equals(greeting)).toBe(true);
  });

  it("serves HTTP keep-alive requests and ranged bodies through it", async () => {
    const body = randomBytes(1_500_000);
    const server = http.createServer((req, res) => {
      const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? "");
      const part = m ? body.subarray(Number(m[1]), Number(m[2]) + 1) : body;
      res.writeHead(m ? 206 : 200, { "content-length": String(part.length) });
      res.end(part);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    open.push({ close: () => (server.closeAllConnections(), new Promise((resolve) => server.close(resolve))) });
    const proxy = await proxyTo((server.address() as net.AddressInfo).port);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    open.push({ close: () => agent.destroy() });
    const get = (range: string | null): Promise<Buffer> =>
      new Promise((resolve, reject) => {
        const req = http.get(`${proxy.url}/file`, { agent, headers: range ? { range } : {} }, (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => resolve(Buffer.concat(chunks)));
          res.on("error", reject);
        });
        req.on("error", reject);
      });
    expect((await get(null)).equals(body)).toBe(true);
    expect((await get("bytes=1000-1999")).equals(body.subarray(1000, 2000))).toBe(true);
    expect((await get("bytes=1499000-1499999")).equals(body.subarray(1_499_000))).toBe(true);
    expect(proxy.stats.connections).toBe(1);
  });

  it("resets the client when the server resets, and closes it when the server cannot be reached", async () => {
    const server = await listen((s) => s.once("data", () => s.resetAndDestroy()));
    const proxy = await proxyTo(server.port);
    const closed = (port: number, send: boolean): Promise<void> =>
      new Promise((resolve) => {
        const s = net.connect({ host: "127.0.0.1", port });
        s.on("error", () => undefined);
        s.on("close", () => resolve());
        if (send) s.write("hello");
      });
    await closed(proxy.port, true);

    const gone = await listen(() => undefined);
    await open.pop()!.close();
    const dead = await proxyTo(gone.port);
    await closed(dead.port, false);
    // The proxy still works for others afterwards.
    const alive = await listen(echo);
    const fine = await proxyTo(alive.port);
    expect((await exchange(fine.port, Buffer.from("still here"))).toString()).toBe("still here");
  });

  it("drops its open connections on close", async () => {
    let proxy: ShapingProxy | null = null;
    const server = await listen((s) => s.once("data", () => void proxy?.close()));
    proxy = await startShapingProxy({ host: "127.0.0.1", port: server.port }, FAST);
    const port = proxy.port;
    await new Promise<void>((resolve) => {
      const s = net.connect({ host: "127.0.0.1", port });
      s.on("error", () => undefined);
      s.on("close", () => resolve());
      s.write("x");
    });
  });

  it("puts a fake Hub and its CDN behind two proxies: the 302 leads through the CDN's proxy (as in bench remote)", async () => {
    let hub: FakeHub | null = null;
    const port = (url: string) => ({ host: "127.0.0.1", port: Number(new URL(url).port) });
    const link = new Link(1000);
    const hubProxy = await startShapingProxy(() => port(hub!.url), FAST, link);
    const cdnProxy = await startShapingProxy(() => port(hub!.cdnUrl), FAST, link);
    open.push(hubProxy, cdnProxy);
    hub = await startFakeHub({ cdnOrigin: cdnProxy.url });
    open.push(hub);
    const bytes = randomBytes(300_000);
    await fs.writeFile(path.join(await hub.createRepo("acme/shaped"), "big.bin"), bytes);
    const sha = await hub.commit("acme/shaped");
    const res = await fetch(`${hubProxy.url}/datasets/acme/shaped/resolve/${sha}/big.bin`, { headers: { range: "bytes=1000-200999" } });
    expect(res.status).toBe(206);
    expect(Buffer.from(await res.arrayBuffer()).equals(bytes.subarray(1000, 201_000))).toBe(true);
    expect(hub.log.map((r) => [r.kind, r.status])).toEqual([
      ["resolve", 302],
      ["cdn", 206],
    ]);
    expect(cdnProxy.stats.bytesDown).toBeGreaterThan(200_000);
  });
});
