/**
 * A userspace TCP proxy that makes a loopback server behave like one across a WAN (kernel netem is not available
 * on these machines; ../shared/notes/object-stores.md "latency emulation"): every byte is held back half the
 * round-trip time in each direction, each connection has its own bandwidth per direction, and all connections
 * of every proxy built on one `Link` share that link's bandwidth. A new connection's first bytes also wait one
 * RTT, as a TCP handshake does. TCP-level, so any client works (LanceDB's Rust HTTP client, Node's http).
 *
 * Per direction of a connection: one FIFO queue and one timer, so bytes stay in order; a chunk is due at
 * max(connection free, link free) + its transmission time + RTT/2; the reading side is paused while more than
 * 4 MiB are on their way. Not modelled: loss, slow start, TLS. Timers are good to ~1 ms.
 *
 *   const link = new Link(2000);                                   // Mbit/s shared by the proxies below
 *   const proxy = await startShapingProxy({ host: "127.0.0.1", port }, { rttMs: 40, connMbps: 400 }, link);
 *   fetch(`${proxy.url}/...`); proxy.stats; await proxy.close();
 */
import net from "node:net";

export interface ShapingProfile {
  /** Round-trip time added to the path: each direction delays its bytes by half of it. */
  rttMs: number;
  /** Bandwidth of each connection, per direction. */
  connMbps: number;
  /** Delay a new connection's first bytes by one more RTT, as a TCP handshake does. Default true. */
  handshake?: boolean;
}

export interface ProxyTarget {
  host: string;
  port: number;
}

export interface ProxyStats {
  connections: number;
  /** Bytes forwarded client → server, and server → client. */
  bytesUp: number;
  bytesDown: number;
}

export interface ShapingProxy {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  readonly stats: ProxyStats;
  close(): Promise<void>;
}

type Direction = "up" | "down";

/** A link shared by many connections (and proxies): one serializer per direction. */
export class Link {
  readonly freeAt: Record<Direction, number> = { up: 0, down: 0 };
  constructor(readonly mbps: number) {}
}

const HIGH_WATER = 4 * 1024 * 1024;
/** Timers fire on a millisecond clock: a chunk due within this much of now goes out now. */
const TIMER_SLACK_MS = 1;

function transmitMs(bytes: number, mbps: number): number {
  return (bytes * 8) / (mbps * 1000);
}

/** One direction of one connection: bytes read from `from` are written to `to` when they are due. */
class ShapedPipe {
  private readonly queue: { at: number; chunk: Buffer | null }[] = [];
  private timer: NodeJS.Timeout | null = null;
  private queuedBytes = 0;
  private lastAt = 0;
  private paused = false;

  constructor(
    private readonly from: net.Socket,
    private readonly to: net.Socket,
    private readonly dir: Direction,
    private readonly profile: ShapingProfile,
    private readonly link: Link | null,
    private connFreeAt: number,
    private readonly count: (bytes: number) => void,
  ) {
    from.on("data", (chunk: Buffer) => this.push(chunk));
    from.on("end", () => this.enqueue(Math.max(this.lastAt, performance.now() + profile.rttMs / 2), null));
    to.on("drain", () => this.resumeIfRoom());
  }

  private push(chunk: Buffer): void {
    const now = performance.now();
    this.connFreeAt = Math.max(now, this.connFreeAt) + transmitMs(chunk.length, this.profile.connMbps);
    let sent = this.connFreeAt;
    if (this.link) {
      this.link.freeAt[this.dir] = Math.max(now, this.link.freeAt[this.dir]) + transmitMs(chunk.length, this.link.mbps);
      sent = Math.max(sent, this.link.freeAt[this.dir]);
    }
    this.queuedBytes += chunk.length;
    this.enqueue(sent + this.profile.rttMs / 2, chunk);
    if (this.queuedBytes + this.to.writableLength > HIGH_WATER && !this.paused) {
      this.paused = true;
      this.from.pause();
    }
  }

  private enqueue(at: number, chunk: Buffer | null): void {
    // Due times only grow (both serializers only move forward), so the queue stays sorted and bytes in order.
    this.lastAt = Math.max(this.lastAt, at);
    this.queue.push({ at: this.lastAt, chunk });
    if (this.queue.length === 1) this.schedule();
  }

  private schedule(): void {
    if (this.timer || this.queue.length === 0) return;
    this.timer = setTimeout(() => this.flush(), Math.max(0, this.queue[0].at - performance.now()));
  }

  private flush(): void {
    this.timer = null;
    const now = performance.now() + TIMER_SLACK_MS;
    while (this.queue.length > 0 && this.queue[0].at <= now) {
      const { chunk } = this.queue.shift()!;
      if (this.to.destroyed) return this.stop();
      if (chunk === null) {
        this.to.end();
        continue;
      }
      this.queuedBytes -= chunk.length;
      this.count(chunk.length);
      this.to.write(chunk);
    }
    this.resumeIfRoom();
    this.schedule();
  }

  private resumeIfRoom(): void {
    if (this.paused && this.queuedBytes + this.to.writableLength <= HIGH_WATER) {
      this.paused = false;
      this.from.resume();
    }
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.queue.length = 0;
  }
}

export async function startShapingProxy(target: ProxyTarget | (() => ProxyTarget), profile: ShapingProfile, link: Link | null = null): Promise<ShapingProxy> {
  const sockets = new Set<net.Socket>();
  const pipes = new Set<ShapedPipe>();
  const stats: ProxyStats = { connections: 0, bytesUp: 0, bytesDown: 0 };
  const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (client) => {
    stats.connections++;
    const to = typeof target === "function" ? target() : target;
    const upstream = net.connect({ host: to.host, port: to.port, allowHalfOpen: true, noDelay: true });
    const now = performance.now();
    const up = new ShapedPipe(client, upstream, "up", profile, link, profile.handshake === false ? now : now + profile.rttMs, (n) => (stats.bytesUp += n));
    const down = new ShapedPipe(upstream, client, "down", profile, link, now, (n) => (stats.bytesDown += n));
    const pair = [client, upstream];
    // A reset or error on either side resets the other at once (bytes still queued are dropped, as on a real path).
    const abort = (): void => {
      up.stop();
      down.stop();
      for (const s of pair) s.destroy();
    };
    for (const s of pair) {
      sockets.add(s);
      pipes.add(up).add(down);
      s.on("error", abort);
      s.on("close", (hadError) => {
        sockets.delete(s);
        if (hadError) abort();
        if (client.destroyed && upstream.destroyed) {
          pipes.delete(up);
          pipes.delete(down);
        }
      });
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    stats,
    async close() {
      for (const p of pipes) p.stop();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
