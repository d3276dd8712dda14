/** Seeded random HTTP requests and WebSocket frames for the server fuzz test (reproducible from the seed). */
import { allMethods } from "../../../shared/ipc/contract";
import { encodeFrame } from "../../../shared/ipc/wire";

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
export function prng(seed: number) {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  return {
    next,
    int,
    chance: (p: number) => next() < p,
    pick: <T>(items: readonly T[]): T => items[int(items.length)],
    bytes: (n: number) => Buffer.from(Array.from({ length: n }, () => int(256))),
  };
}
export type Rng = ReturnType<typeof prng>;

export interface FuzzContext {
  port: number;
  token: string;
  /** A valid session cookie (`name=value`), from a tokened page load. */
  cookie: string;
  /** The PBMC dataset, opened by the keeper page. */
  root: string;
  datasetId: string;
  /** A folder the fuzz may write into (removed afterwards). */
  scratch: string;
}

// ---------------------------------------------------------------- HTTP

const CRLF = "\r\n";

/**
 * A random request, and whether to half-close after it: requests that may be incomplete (the server would wait
 * for the rest) and upgrades (the WebSocket would stay open) end our side; complete ones ask `connection: close`,
 * since Node drops the answer to a client that half-closed before its (asynchronous) answer was ready.
 */
export function randomHttpRequest(rng: Rng, ctx: FuzzContext): { bytes: Buffer; halfClose: boolean } {
  const { port, token } = ctx;
  const method = rng.chance(0.7) ? "GET" : rng.pick(["HEAD", "POST", "PUT", "OPTIONS", "DELETE", "CONNECT", "G\u00c9T", "", "GET GET"]);
  const target = rng.pick([
    "/",
    "/ws",
    "/index.html",
    "/assets/index.js",
    "//[",
    "http://[::1",
    "http://[::1/ws",
    "/%",
    "/%E0%A4%A",
    "/../../../../etc/passwd",
    "/..%2f..%2f..%2fetc%2fpasswd",
    `/?token=${token}`,
    `/ws?token=${token}`,
    `/ws?token=${token}&session=${"s".repeat(rng.int(140))}`,
    `/ws?token=${token}&session=%zz`,
    "/?token=wrong",
    "/?token=",
    "/?token=%",
    "*",
    "",
    `/${"a".repeat(rng.int(20_000))}`,
    `/${rng.bytes(rng.int(40)).toString("latin1")}`,
  ]);
  const version = rng.chance(0.8) ? "HTTP/1.1" : rng.pick(["HTTP/1.0", "HTTP/2.0", "HTTP/9", "", "HTTP/1.1 extra"]);
  const headers: string[] = [];
  const add = (name: string, value: string) => headers.push(`${name}: ${value}`);
  if (rng.chance(0.9))
    add(
      "host",
      rng.pick([
        `127.0.0.1:${port}`,
        `127.0.0.1:${port}`,
        `localhost:${port}`,
        "evil.example",
        `evil.example:${port}`,
        "127.0.0.1:1",
        "",
        "[::1",
        `127.0.0.1:${port}, evil.example`,
        rng.bytes(8).toString("latin1"),
      ]),
    );
  if (rng.chance(0.1)) add("host", `127.0.0.1:${port}`);
  if (rng.chance(0.4))
    add(
      "cookie",
      rng.pick([
        "slafwb_token=%E0%A4%A",
        `slafwb_${port}=%E0%A4%A`,
        ctx.cookie,
        `slafwb_${port}=${token}`,
        `${ctx.cookie}; ${ctx.cookie}`,
        "=;;=",
        "a".repeat(9000),
        rng.bytes(30).toString("latin1"),
      ]),
    );
  if (rng.chance(0.3)) add("authorization", rng.pick([`Bearer ${token}`, "Bearer wrong", "Bearer ", "Basic Zm9vOmJhcg==", `bearer ${token}`]));
  const upgrade = rng.chance(0.35);
  if (upgrade) {
    add("connection", rng.pick(["Upgrade", "upgrade", "keep-alive, Upgrade", "close"]));
    add("upgrade", rng.pick(["websocket", "WebSocket", "h2c", ""]));
    if (rng.chance(0.85)) add("sec-websocket-version", rng.pick(["13", "8", "x"]));
    if (rng.chance(0.85)) add("sec-websocket-key", rng.pick(["dGhlIHNhbXBsZSBub25jZQ==", "short", ""]));
    if (rng.chance(0.3)) add("sec-websocket-extensions", rng.pick(["permessage-deflate", "permessage-deflate; client_max_window_bits=99", "x-unknown"]));
  }
  if (rng.chance(0.3)) add("origin", rng.pick([`http://127.0.0.1:${port}`, `http://localhost:${port}`, "http://evil.example", "null", ""]));
  let body = "";
  if (rng.chance(0.2)) {
    body = rng.bytes(rng.int(200)).toString("latin1");
    add("content-length", rng.pick([String(body.length), String(body.length + 50), "-1", "nope", "99999999999999999999"]));
  }
  if (rng.chance(0.1)) add("transfer-encoding", rng.pick(["chunked", "gzip, chunked", "x"]));
  if (rng.chance(0.1)) add(rng.pick(["x bad name", "x:colon", "", "x\u0000y"]), "v");
  if (rng.chance(0.05)) for (let i = 0; i < 300; i++) add(`x-h${i}`, "v".repeat(100));
  const eol = rng.chance(0.9) ? CRLF : rng.pick(["\n", "\r", ""]);
  const truncate = rng.chance(0.1);
  const complete = !upgrade && !truncate && eol === CRLF;
  if (complete) add("connection", "close");
  let text = `${method} ${target} ${version}${eol}${headers.map((h) => h + eol).join("")}${eol}${body}`;
  if (truncate) text = text.slice(0, rng.int(text.length + 1));
  if (rng.chance(0.05)) return { bytes: rng.bytes(rng.int(300)), halfClose: true };
  return { bytes: Buffer.from(text, "latin1"), halfClose: !complete };
}

// ---------------------------------------------------------------- frames

const METHODS = allMethods()
  .map(({ ns, method }) => ({ ns: ns as string, method }))
  // The demo conversion takes a minute of CPU; its door is covered by the schema tests.
  .filter((m) => !(m.ns === "datasets" && m.method === "openDemo"));

const KEYS = [
  "uri",
  "datasetId",
  "resultId",
  "jobId",
  "path",
  "sql",
  "offset",
  "limit",
  "table",
  "columns",
  "text",
  "expectedMtimeMs",
  "format",
  "input",
  "output",
  "force",
  "kind",
  "title",
  "name",
  "confirmed",
  "timeoutMs",
  "matrix",
  "overwrite",
  "__proto__",
  "constructor",
  "$bin",
  "n",
];

function strings(ctx: FuzzContext): string[] {
  return [
    "",
    "x",
    "a".repeat(5000),
    "\u0000",
    "😀",
    "../..",
    "SELECT 1",
    "SELECT * FROM cells LIMIT 3",
    "SELECT cell_type, COUNT(*) FROM cells GROUP BY 1",
    "SELEC",
    "DROP TABLE cells",
    "SELECT * FROM read_text('/etc/passwd')",
    "cells",
    "expression",
    "genes",
    "csv",
    "parquet",
    "directory",
    ctx.root,
    `${ctx.root}/config.json`,
    `${ctx.root}/notebook.slafnb.md`,
    ctx.scratch,
    `${ctx.scratch}/nb.slafnb.md`,
    `${ctx.scratch}/out.csv`,
    `${ctx.scratch}/missing/deeper/x.slafnb.md`,
    ctx.datasetId,
    "ds1",
    "r1",
    "job999999",
    "__proto__",
    "hf://datasets/owner/repo/data.slaf",
    "s3://bucket/prefix",
    "/nonexistent/path/x.slaf",
  ];
}

function randomValue(rng: Rng, ctx: FuzzContext, depth: number): unknown {
  const kind = rng.int(depth > 3 ? 4 : 7);
  switch (kind) {
    case 0:
      return rng.pick([null, true, false]);
    case 1:
      return rng.pick([0, 1, -1, 0.5, 5000, 1e308, -1e308, 2 ** 53, Number.MAX_SAFE_INTEGER, rng.int(1_000_000)]);
    case 2:
    case 3:
      return rng.pick(strings(ctx));
    case 4:
      return Array.from({ length: rng.int(5) }, () => randomValue(rng, ctx, depth + 1));
    case 5:
      return rng.chance(0.2) ? new Uint8Array(rng.bytes(rng.int(64))) : randomObject(rng, ctx, depth + 1);
    default:
      return randomObject(rng, ctx, depth + 1);
  }
}

function randomObject(rng: Rng, ctx: FuzzContext, depth: number): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (let i = rng.int(5); i > 0; i--)
    Object.defineProperty(o, rng.chance(0.9) ? rng.pick(KEYS) : rng.bytes(4).toString("hex"), {
      value: randomValue(rng, ctx, depth),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  return o;
}

function framed(json: string, headLen = Buffer.byteLength(json), tail = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt32LE(headLen >>> 0);
  return Buffer.concat([head, Buffer.from(json), tail]);
}

/** What to send on an open socket: a binary or text frame, or raw bytes under the WebSocket framing. */
export type FuzzFrame = { kind: "binary"; data: Buffer; id: number | null } | { kind: "text"; data: string } | { kind: "raw"; data: Buffer };

/** A plausible request for a method, from the same pools, with one field sometimes replaced by anything. */
function plausibleArg(rng: Rng, ctx: FuzzContext, ns: string, method: string): unknown {
  const s = () => rng.pick(strings(ctx));
  const ds = () => (rng.chance(0.8) ? ctx.datasetId : s());
  const n = () => rng.pick([0, 1, 10, 5000, 100_000, -1, 0.5]);
  const sql = () =>
    rng.pick([
      "SELECT 1 AS x",
      "SELECT cell_type, COUNT(*) AS n FROM cells GROUP BY 1",
      "SELECT * FROM genes LIMIT 5",
      "SELEC",
      "SELECT * FROM read_text('/etc/passwd')",
      "COPY cells TO '/tmp/x.csv'",
      s(),
    ]);
  const templates: Record<string, () => Record<string, unknown>> = {
    "app.info": () => ({}),
    "app.pickPath": () => ({ kind: rng.pick(["directory", "file", "save", "x"]), title: s() }),
    "datasets.open": () => ({ uri: rng.chance(0.5) ? ctx.root : s() }),
    "datasets.close": () => ({ datasetId: ds() }),
    "datasets.list": () => ({}),
    "datasets.readRows": () => ({
      datasetId: ds(),
      table: rng.pick(["cells", "genes", "expression", "nope", s()]),
      offset: n(),
      limit: n(),
      ...(rng.chance(0.3) ? { columns: [s(), "cell_id"] } : {}),
    }),
    "jobs.wait": () => ({ jobId: s(), timeoutMs: 0 }),
    "jobs.cancel": () => ({ jobId: s() }),
    "jobs.list": () => ({}),
    "query.start": () => ({ datasetId: ds(), sql: sql(), ...(rng.chance(0.3) ? { name: s(), confirmed: rng.chance(0.5) } : {}) }),
    "query.preview": () => ({ datasetId: ds(), sql: sql() }),
    "query.page": () => ({ resultId: s(), offset: n(), limit: n() }),
    "query.export": () => ({ resultId: s(), format: rng.pick(["csv", "parquet", "xlsx"]), path: s() }),
    "query.release": () => ({ resultId: s() }),
    "convert.inspect": () => ({ input: s() }),
    "convert.start": () => ({ input: s(), output: `${ctx.scratch}/out-${rng.int(1000)}.slaf`, force: rng.chance(0.5) }),
    "notebooks.read": () => ({ path: s() }),
    "notebooks.write": () => ({
      path: rng.chance(0.5) ? `${ctx.scratch}/nb-${rng.int(5)}.slafnb.md` : s(),
      text: rng.pick(["# hi\n", "", s()]),
      expectedMtimeMs: rng.pick([null, 0, 1.5]),
    }),
    "notebooks.watch": () => ({ path: rng.chance(0.5) ? `${ctx.scratch}/nb-${rng.int(5)}.slafnb.md` : s() }),
    "notebooks.unwatch": () => ({ path: rng.chance(0.5) ? `${ctx.scratch}/nb-${rng.int(5)}.slafnb.md` : s() }),
    "notebooks.starter": () => ({ datasetId: ds() }),
  };
  const arg = (templates[`${ns}.${method}`] ?? (() => ({})))();
  if (rng.chance(0.3)) {
    const keys = Object.keys(arg);
    const key = keys.length > 0 && rng.chance(0.8) ? rng.pick(keys) : rng.pick(KEYS);
    if (rng.chance(0.3)) delete arg[key];
    // defineProperty, not assignment: a "__proto__" key must be an own field in the JSON, not the object's prototype.
    else Object.defineProperty(arg, key, { value: randomValue(rng, ctx, 2), enumerable: true, writable: true, configurable: true });
  }
  return arg;
}

export function randomFrame(rng: Rng, ctx: FuzzContext, id: number): FuzzFrame {
  const roll = rng.int(100);
  if (roll < 20) {
    const m = rng.pick(METHODS);
    return { kind: "binary", id, data: Buffer.from(encodeFrame({ t: "call", id, ns: m.ns, method: m.method, arg: plausibleArg(rng, ctx, m.ns, m.method) })) };
  }
  if (roll < 40) {
    const m = rng.pick(METHODS);
    return {
      kind: "binary",
      id,
      data: Buffer.from(
        encodeFrame({ t: "call", id, ns: m.ns, method: m.method, arg: rng.chance(0.1) ? randomValue(rng, ctx, 0) : randomObject(rng, ctx, 0) }),
      ),
    };
  }
  if (roll < 50) {
    const ns = rng.chance(0.5) ? rng.pick(METHODS).ns : rng.pick(["", "__proto__", "constructor", "nope", "app.info", rng.bytes(3).toString("hex")]);
    const method = rng.chance(0.5) ? rng.pick(METHODS).method : rng.pick(["", "toString", "constructor", "hasOwnProperty", "x"]);
    return { kind: "binary", id, data: Buffer.from(encodeFrame({ t: "call", id, ns, method, arg: randomValue(rng, ctx, 0) })) };
  }
  if (roll < 60) {
    // A call message with one field broken or missing.
    const msg: Record<string, unknown> = { t: "call", id, ns: "app", method: "info", arg: {} };
    const key = rng.pick(["t", "ns", "method", "arg"]);
    if (rng.chance(0.5)) delete msg[key];
    else msg[key] = randomValue(rng, ctx, 2);
    return { kind: "binary", id, data: framed(JSON.stringify(msg)) };
  }
  if (roll < 68) {
    // Attachment references in and out of bounds.
    const at = rng.pick([0, 1, -1, 1.5, 2 ** 40, "0", null]);
    const n = rng.pick([0, 1, 64, -1, 2 ** 40, "1"]);
    const json = JSON.stringify({ t: "call", id, ns: "app", method: "info", arg: { b: { $bin: at, n } } });
    return { kind: "binary", id, data: framed(json, undefined, rng.bytes(rng.int(8))) };
  }
  if (roll < 76) return { kind: "binary", id: null, data: rng.bytes(rng.int(24)) };
  if (roll < 84) {
    const json = rng.chance(0.5) ? (JSON.stringify(randomValue(rng, ctx, 0)) ?? "null") : `{"t":"call","id":${id},${rng.bytes(6).toString("latin1")}`;
    const headLen = rng.chance(0.7) ? Buffer.byteLength(json) : rng.pick([0, 1, 2 ** 32 - 1, Buffer.byteLength(json) + 1]);
    return { kind: "binary", id: null, data: framed(json, headLen) };
  }
  if (roll < 90)
    return {
      kind: "text",
      data: rng.chance(0.5) ? JSON.stringify({ t: "call", id, ns: "app", method: "info", arg: {} }) : rng.bytes(rng.int(20)).toString("latin1"),
    };
  if (roll < 94) return { kind: "binary", id: null, data: framed(`{"t":"call","id":${id},"ns":"app","method":"info","arg":${"[".repeat(rng.int(2000))}`) };
  return { kind: "raw", data: randomWsFrameBytes(rng) };
}

/** A hand-made client frame with random flags, opcode and length (masked, as clients must). */
function randomWsFrameBytes(rng: Rng): Buffer {
  const payload = rng.bytes(rng.int(40));
  const first = rng.chance(0.5) ? rng.int(256) : 0x80 | (rng.chance(0.5) ? 0x40 : 0) | rng.pick([0, 1, 2, 3, 8, 9, 10, 11, 15]);
  const masked = rng.chance(0.9) ? 0x80 : 0;
  const lenByte = rng.pick([payload.length, 126, 127]);
  const ext = lenByte === 126 ? Buffer.from([rng.int(256), rng.int(256)]) : lenByte === 127 ? rng.bytes(8) : Buffer.alloc(0);
  return Buffer.concat([Buffer.from([first, masked | lenByte]), ext, masked ? rng.bytes(4) : Buffer.alloc(0), payload]);
}
