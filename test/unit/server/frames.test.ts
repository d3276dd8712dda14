/** Item 2 of issue 8: with the token, every malformed frame gets an error result or a clean close; the server lives. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type WebSocket from "ws";
import { startBrowserServer } from "../../../main/server/http-server";
import { encodeFrame } from "../../../shared/ipc/wire";
import { call, closed, frameWithHead, nextResult, openWs, rawWsFrame, startTestServer, writeRaw, type TestServer } from "./harness";

const LIMIT = 256 * 1024;
let t: TestServer;

beforeAll(async () => {
  t = await startTestServer({ maxFrameBytes: LIMIT });
});
afterAll(async () => {
  await t.stop();
});

/** A fresh authorised socket answers a normal call: the server survived. */
async function stillAnswers(): Promise<void> {
  const ws = await openWs(t.wsUrl());
  expect(await call(ws, "app", "info", {})).toMatchObject({ ok: true, value: { mode: "browser" } });
  ws.close();
}

describe("frames that cannot carry a call id close the socket with a code and a reason", () => {
  const cases: [string, (ws: WebSocket) => void, number, RegExp][] = [
    ["JSON null", (ws) => ws.send(frameWithHead("null")), 1007, /null, not a message/],
    ["a JSON number", (ws) => ws.send(frameWithHead("42")), 1007, /a number, not a message/],
    ["a frame under 4 bytes", (ws) => ws.send(Buffer.from([1, 0])), 1007, /2 bytes/],
    ["an empty frame", (ws) => ws.send(Buffer.alloc(0)), 1007, /0 bytes/],
    ["bad JSON", (ws) => ws.send(frameWithHead('{"t":"call","id":1,')), 1007, /does not parse/],
    ["a JSON length past the frame", (ws) => ws.send(frameWithHead('{"t":"call"}', 1_000_000)), 1007, /larger than the/],
    ["JSON that is not UTF-8", (ws) => ws.send(Buffer.concat([frameWithHead("{}").subarray(0, 4), Buffer.from([0xc3, 0x28])])), 1007, /UTF-8/],
    ["a text frame", (ws) => ws.send('{"t":"call","id":1,"ns":"app","method":"info","arg":{}}'), 1003, /binary frames only/],
    ["an event message", (ws) => ws.send(encodeFrame({ t: "event", name: "job", payload: {} })), 1008, /calls only/],
    ["a frame over the size limit", (ws) => ws.send(Buffer.alloc(LIMIT + 1)), 1009, /larger than this server's limit/],
    [
      "a frame with RSV1 set",
      (ws) => writeRaw(ws, rawWsFrame(Buffer.from(encodeFrame({ t: "call", id: 1, ns: "app", method: "info", arg: {} })), { rsv1: true })),
      1002,
      /protocol error/,
    ],
    ["an unknown opcode", (ws) => writeRaw(ws, rawWsFrame(Buffer.from("x"), { opcode: 3 })), 1002, /protocol error/],
  ];

  it.each(cases)("%s", async (_name, send, code, reason) => {
    const ws = await openWs(t.wsUrl());
    const done = closed(ws);
    send(ws);
    const c = await done;
    expect(c.code).toBe(code);
    expect(c.reason).toMatch(reason);
    await stillAnswers();
  });
});

describe("frames with a readable call id get an INVALID_ARGUMENT result naming what is wrong", () => {
  const cases: [string, Buffer | Uint8Array, RegExp][] = [
    [
      "an attachment past the frame",
      frameWithHead('{"t":"call","id":7,"ns":"app","method":"info","arg":{"b":{"$bin":0,"n":10}}}', undefined, Buffer.alloc(3)),
      /attachment \[0, 10\) points past the 3 attachment bytes/,
    ],
    ["a negative attachment offset", frameWithHead('{"t":"call","id":7,"ns":"app","method":"info","arg":{"b":{"$bin":-1,"n":1}}}'), /is not \{"\$bin": offset/],
    [
      "an attachment with extra keys",
      frameWithHead('{"t":"call","id":7,"ns":"app","method":"info","arg":{"b":{"$bin":0,"n":0,"x":1}}}'),
      /is not \{"\$bin": offset/,
    ],
    ["no method", frameWithHead('{"t":"call","id":7,"ns":"app","arg":{}}'), /method must be a string/],
    ["a numeric ns", frameWithHead('{"t":"call","id":7,"ns":1,"method":"info"}'), /ns must be a string/],
    ["an unknown t", frameWithHead('{"t":"cal","id":7,"ns":"app","method":"info"}'), /t must be "call"/],
    ["a result message", encodeFrame({ t: "result", id: 7, result: { ok: true, value: 1 } }), /calls only/],
    [
      "nesting deeper than the limit",
      frameWithHead(`{"t":"call","id":7,"ns":"app","method":"info","arg":${"[".repeat(200)}${"]".repeat(200)}}`),
      /deeper than/,
    ],
    ["an unknown method", encodeFrame({ t: "call", id: 7, ns: "nope", method: "x", arg: {} }), /Unknown method nope\.x/],
    ["a prototype name as method", encodeFrame({ t: "call", id: 7, ns: "__proto__", method: "constructor", arg: {} }), /Unknown method/],
  ];

  it.each(cases)("%s", async (_name, frame, message) => {
    const ws = await openWs(t.wsUrl());
    const answer = nextResult(ws, 7);
    ws.send(frame);
    const r = await answer;
    expect(r).toMatchObject({ ok: false, error: { code: "INVALID_ARGUMENT" } });
    expect((r as { error: { message: string } }).error.message).toMatch(message);
    // The socket stays usable after a bad call.
    expect(await call(ws, "app", "info", {})).toMatchObject({ ok: true });
    ws.close();
  });

  it("a missing arg is an empty request", async () => {
    const ws = await openWs(t.wsUrl());
    const answer = nextResult(ws, 9);
    ws.send(frameWithHead('{"t":"call","id":9,"ns":"app","method":"info"}'));
    expect(await answer).toMatchObject({ ok: true, value: { mode: "browser" } });
    ws.close();
  });
});

describe("the server never sends a stack trace, and answers when the dispatcher itself fails", () => {
  it("turns a throwing dispatcher and an error carrying a stack into plain errors", async () => {
    const boom = new Error("boom");
    const server = await startBrowserServer({
      port: 0,
      token: "tok-0123456789abcdefghij",
      staticDir: t.dir,
      dispatcher: () => ({
        async call(ns) {
          if (ns === "throw") throw boom;
          if (ns === "nothing") return undefined as never;
          if (ns === "bigint") return { ok: true, value: 1n };
          return { ok: false, error: { code: "INTERNAL", message: `failed\n    at f (/x.js:1:2)`, detail: boom.stack } };
        },
        endSession: async () => undefined,
      }),
    });
    try {
      const ws = await openWs(`ws://127.0.0.1:${server.port}/ws?token=${server.token}`);
      const thrown = await call(ws, "throw", "x", {});
      expect(thrown).toEqual({ ok: false, error: { code: "INTERNAL", message: "throw.x failed: boom" } });
      expect(await call(ws, "nothing", "x", {})).toEqual({ ok: false, error: { code: "INTERNAL", message: "nothing.x returned no result" } });
      expect(await call(ws, "bigint", "x", {})).toMatchObject({
        ok: false,
        error: { code: "INTERNAL", message: expect.stringMatching(/^The answer of bigint\.x could not be sent/) },
      });
      const stacked = await call(ws, "stack", "x", {});
      expect(stacked).toEqual({ ok: false, error: { code: "INTERNAL", message: "failed" } });
      ws.close();
    } finally {
      await server.close();
    }
  });
});

describe("many bad frames at once", () => {
  it("answers every call of a burst mixing good and bad frames", async () => {
    const ws = await openWs(t.wsUrl());
    const answers = [];
    for (let id = 1000; id < 1300; id++) {
      answers.push(nextResult(ws, id));
      ws.send(id % 3 === 0 ? frameWithHead(`{"t":"call","id":${id},"ns":"app"}`) : encodeFrame({ t: "call", id, ns: "app", method: "info", arg: {} }));
    }
    const results = await Promise.all(answers);
    expect(results.filter((r) => "ok" in r && r.ok)).toHaveLength(200);
    expect(results.filter((r) => "ok" in r && !r.ok)).toHaveLength(100);
    ws.close();
  });
});
