/**
 * Binary framing for the browser-mode WebSocket: JSON with every Uint8Array lifted out into attachments, so
 * Arrow IPC bytes cross unchanged. Frame: u32 JSON length | JSON (UTF-8) | attachments back to back.
 * Numbers JSON cannot hold (NaN, ±Infinity) cross as {"$num": "NaN" | "Infinity" | "-Infinity"}, so both
 * bindings deliver the same values (Electron's structured clone keeps them too).
 * Decoding checks every length and attachment bound and throws a FrameError naming what is wrong.
 */
import { AppFailure } from "../result";

const BIN = "$bin";
/** JSON has no NaN or ±Infinity (a t score of two constant sides is ±Infinity): they cross as {"$num": "NaN"}. */
const NUM = "$num";
const NON_FINITE: Record<string, number> = { NaN: NaN, Infinity: Infinity, "-Infinity": -Infinity };
/** Deeper JSON than any request of the contract needs; bounds the walk that restores attachments. */
const MAX_DEPTH = 64;

// TextEncoder/TextDecoder exist in Node and every browser, but not in the ES lib this folder is limited to.
type TextCodecs = {
  TextEncoder: new () => { encode(s: string): Uint8Array };
  TextDecoder: new (label: string, options: { fatal: boolean }) => { decode(b: Uint8Array): string };
};
const codecs = globalThis as unknown as TextCodecs;

export type WireMessage =
  | { t: "call"; id: number; ns: string; method: string; arg: unknown }
  | { t: "result"; id: number; result: unknown }
  | { t: "event"; name: string; payload: unknown };

/** A frame that cannot be decoded; `callId` is set when the frame is readable enough to answer the call. */
export class FrameError extends AppFailure {
  constructor(
    message: string,
    readonly callId: number | null = null,
  ) {
    super("INVALID_ARGUMENT", message);
    this.name = "FrameError";
  }
}

export function encodeFrame(value: unknown): Uint8Array<ArrayBuffer> {
  const blobs: Uint8Array[] = [];
  let offset = 0;
  const json = JSON.stringify(value, (_key, v: unknown) => {
    // isView: only a real typed array (an object whose prototype is one would throw on byteLength).
    if (v instanceof Uint8Array && ArrayBuffer.isView(v)) {
      blobs.push(v);
      offset += v.byteLength;
      return { [BIN]: offset - v.byteLength, n: v.byteLength };
    }
    if (typeof v === "number" && !Number.isFinite(v)) return { [NUM]: String(v) };
    return v;
  });
  if (json === undefined) throw new FrameError(`Cannot frame a ${typeof value} value`);
  const head = new codecs.TextEncoder().encode(json);
  const total = 4 + head.byteLength + blobs.reduce((s, b) => s + b.byteLength, 0);
  const out = new Uint8Array(total);
  new DataView(out.buffer).setUint32(0, head.byteLength, true);
  out.set(head, 4);
  let at = 4 + head.byteLength;
  for (const b of blobs) {
    out.set(b, at);
    at += b.byteLength;
  }
  return out;
}

/** The JSON of a frame, before attachments are restored (so a call id can still be read from a bad frame). */
function parseHead(frame: Uint8Array): { json: unknown; attachments: Uint8Array } {
  if (frame.byteLength < 4) throw new FrameError(`Frame is ${frame.byteLength} bytes; a frame starts with a 4-byte JSON length`);
  const headLen = new DataView(frame.buffer, frame.byteOffset, frame.byteLength).getUint32(0, true);
  if (headLen > frame.byteLength - 4) throw new FrameError(`Frame JSON length ${headLen} is larger than the ${frame.byteLength - 4} bytes after it`);
  let text: string;
  try {
    text = new codecs.TextDecoder("utf-8", { fatal: true }).decode(frame.subarray(4, 4 + headLen));
  } catch {
    throw new FrameError("Frame JSON is not valid UTF-8");
  }
  try {
    return { json: JSON.parse(text) as unknown, attachments: frame.subarray(4 + headLen) };
  } catch (e) {
    throw new FrameError(`Frame JSON does not parse: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function isCount(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

/** Replaces every `{$bin, n}` placeholder with a copy of its attachment bytes, checking the bounds. */
function restoreAttachments(value: unknown, attachments: Uint8Array, depth: number): unknown {
  if (typeof value !== "object" || value === null) return value;
  if (depth > MAX_DEPTH) throw new FrameError(`Frame JSON nests deeper than ${MAX_DEPTH} levels`);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = restoreAttachments(value[i], attachments, depth + 1);
    return value;
  }
  const record = value as Record<string, unknown>;
  if (BIN in record) {
    const { [BIN]: at, n } = record;
    if (!isCount(at) || !isCount(n) || Object.keys(record).length !== 2)
      throw new FrameError(`Frame attachment reference ${JSON.stringify(record).slice(0, 80)} is not {"${BIN}": offset, "n": length}`);
    if (at + n > attachments.byteLength) throw new FrameError(`Frame attachment [${at}, ${at + n}) points past the ${attachments.byteLength} attachment bytes`);
    return attachments.slice(at, at + n);
  }
  if (NUM in record) {
    const name = record[NUM];
    if (typeof name !== "string" || !Object.hasOwn(NON_FINITE, name) || Object.keys(record).length !== 1)
      throw new FrameError(`Frame number ${JSON.stringify(record).slice(0, 80)} is not {"${NUM}": "NaN" | "Infinity" | "-Infinity"}`);
    return NON_FINITE[name];
  }
  for (const key of Object.keys(record)) record[key] = restoreAttachments(record[key], attachments, depth + 1);
  return record;
}

/** Any framed value, attachments restored. Throws FrameError on a malformed frame. */
export function decodeFrame(frame: Uint8Array): unknown {
  const { json, attachments } = parseHead(frame);
  return restoreAttachments(json, attachments, 0);
}

function readableId(json: unknown): number | null {
  const id = (json as { id?: unknown } | null)?.id;
  return typeof json === "object" && json !== null && isCount(id) ? id : null;
}

/** The field of a message that has the wrong type, if any. */
function badField(m: Record<string, unknown>): string | null {
  switch (m.t) {
    case "call":
      if (!isCount(m.id)) return "id must be a non-negative integer";
      if (typeof m.ns !== "string") return "ns must be a string";
      if (typeof m.method !== "string") return "method must be a string";
      return null;
    case "result":
      if (!isCount(m.id)) return "id must be a non-negative integer";
      if (typeof m.result !== "object" || m.result === null || typeof (m.result as { ok?: unknown }).ok !== "boolean") return "result must be {ok: boolean, …}";
      return null;
    case "event":
      return typeof m.name === "string" ? null : "name must be a string";
    default:
      return `t must be "call", "result" or "event", got ${JSON.stringify(m.t) ?? "nothing"}`.slice(0, 120);
  }
}

/** A WireMessage (call, result or event) with its shape checked. Throws FrameError, with the call id when readable. */
export function decodeMessage(frame: Uint8Array): WireMessage {
  const { json, attachments } = parseHead(frame);
  const id = readableId(json);
  if (typeof json !== "object" || json === null || Array.isArray(json))
    throw new FrameError(`Frame holds ${json === null ? "null" : Array.isArray(json) ? "an array" : `a ${typeof json}`}, not a message object`);
  const bad = badField(json as Record<string, unknown>);
  if (bad) throw new FrameError(`Malformed message: ${bad}`, id);
  try {
    const message = restoreAttachments(json, attachments, 0) as WireMessage;
    if (message.t === "call" && message.arg === undefined) message.arg = {};
    return message;
  } catch (e) {
    throw e instanceof FrameError ? new FrameError(e.message, id) : e;
  }
}
