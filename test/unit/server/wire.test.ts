/** shared/ipc/wire: decoding validates lengths, attachment bounds and message shape, with named errors. */
import { describe, expect, it } from "vitest";
import { decodeFrame, decodeMessage, encodeFrame, FrameError } from "../../../shared/ipc/wire";
import { frameWithHead } from "./harness";

function thrown(fn: () => unknown): FrameError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(FrameError);
    return e as FrameError;
  }
  throw new Error("expected a FrameError");
}

describe("wire frames", () => {
  it("round-trips messages with attachments, each a copy with its own buffer", () => {
    const arrow = new Uint8Array([1, 2, 3, 255]);
    const frame = encodeFrame({ t: "result", id: 3, result: { ok: true, value: { arrow, more: [new Uint8Array(0), new Uint8Array([7])] } } });
    const msg = decodeMessage(frame);
    expect(msg).toEqual({ t: "result", id: 3, result: { ok: true, value: { arrow, more: [new Uint8Array(0), new Uint8Array([7])] } } });
    const bytes = (msg as { result: { value: { arrow: Uint8Array } } }).result.value.arrow;
    expect(bytes.byteOffset).toBe(0);
    expect(bytes.buffer).not.toBe(frame.buffer);
  });

  it("carries NaN and ±Infinity as themselves (a t score of two constant sides is Infinity), and names a bad $num", () => {
    const value = { score: Infinity, low: -Infinity, fc: NaN, rows: [1, -0.5, Infinity], text: "Infinity" };
    expect(decodeFrame(encodeFrame(value))).toEqual(value);
    expect(thrown(() => decodeFrame(frameWithHead('{"x": {"$num": "1e999"}}'))).message).toMatch(/is not \{"\$num"/);
    expect(thrown(() => decodeFrame(frameWithHead('{"x": {"$num": "NaN", "y": 1}}'))).message).toMatch(/\$num/);
  });

  it("refuses to frame a value JSON cannot carry", () => {
    expect(thrown(() => encodeFrame(undefined)).message).toMatch(/Cannot frame an? undefined/);
  });

  it.each([
    [new Uint8Array([]), /0 bytes/],
    [new Uint8Array([4, 0, 0]), /3 bytes/],
    [frameWithHead("{}", 99), /JSON length 99 is larger than the 2 bytes/],
    [frameWithHead("{"), /does not parse/],
    [Uint8Array.from([2, 0, 0, 0, 0xff, 0xfe]), /not valid UTF-8/],
    [frameWithHead('{"a":{"$bin":0,"n":5}}', undefined, Buffer.alloc(4)), /\[0, 5\) points past the 4 attachment bytes/],
    [frameWithHead('{"a":{"$bin":1.5,"n":1}}', undefined, Buffer.alloc(4)), /is not \{"\$bin": offset, "n": length\}/],
    [frameWithHead('{"a":{"$bin":"0","n":1}}', undefined, Buffer.alloc(4)), /is not \{"\$bin"/],
    [frameWithHead(`${"[".repeat(100)}${"]".repeat(100)}`), /deeper than 64 levels/],
  ])("decodeFrame names what is wrong (%#)", (frame, message) => {
    const e = thrown(() => decodeFrame(frame));
    expect(e.message).toMatch(message);
    expect(e.appError.code).toBe("INVALID_ARGUMENT");
  });

  it("decodeMessage checks the shape and keeps the call id when it is readable", () => {
    expect(thrown(() => decodeMessage(frameWithHead("null"))).message).toMatch(/holds null, not a message object/);
    expect(thrown(() => decodeMessage(frameWithHead("[1]"))).message).toMatch(/an array/);
    expect(thrown(() => decodeMessage(frameWithHead('"x"'))).message).toMatch(/a string/);
    const noMethod = thrown(() => decodeMessage(frameWithHead('{"t":"call","id":12,"ns":"app"}')));
    expect([noMethod.message, noMethod.callId]).toEqual(["Malformed message: method must be a string", 12]);
    const badId = thrown(() => decodeMessage(frameWithHead('{"t":"call","id":-1,"ns":"app","method":"info"}')));
    expect([badId.message, badId.callId]).toEqual(["Malformed message: id must be a non-negative integer", null]);
    const attachment = thrown(() => decodeMessage(frameWithHead('{"t":"call","id":5,"ns":"a","method":"b","arg":{"$bin":9,"n":1}}')));
    expect(attachment.callId).toBe(5);
    expect(thrown(() => decodeMessage(frameWithHead('{"t":"result","id":1,"result":null}'))).message).toMatch(/result must be/);
    expect(thrown(() => decodeMessage(frameWithHead('{"t":"event","name":3}'))).message).toMatch(/name must be a string/);
    expect(decodeMessage(frameWithHead('{"t":"call","id":1,"ns":"app","method":"info"}'))).toEqual({ t: "call", id: 1, ns: "app", method: "info", arg: {} });
  });
});
