/**
 * Binary framing for the browser-mode WebSocket: JSON with every Uint8Array lifted out into attachments, so
 * Arrow IPC bytes cross unchanged. Frame: u32 JSON length | JSON (UTF-8) | attachments back to back.
 */
const BIN = "$bin";

// TextEncoder/TextDecoder exist in Node and every browser, but not in the ES lib this folder is limited to.
type TextCodecs = {
  TextEncoder: new () => { encode(s: string): Uint8Array };
  TextDecoder: new () => { decode(b: Uint8Array): string };
};
const codecs = globalThis as unknown as TextCodecs;

export function encodeFrame(value: unknown): Uint8Array<ArrayBuffer> {
  const blobs: Uint8Array[] = [];
  let offset = 0;
  const json = JSON.stringify(value, (_key, v: unknown) => {
    if (v instanceof Uint8Array) {
      blobs.push(v);
      offset += v.byteLength;
      return { [BIN]: offset - v.byteLength, n: v.byteLength };
    }
    return v;
  });
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

export function decodeFrame(frame: Uint8Array): unknown {
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const headLen = view.getUint32(0, true);
  const json = new codecs.TextDecoder().decode(frame.subarray(4, 4 + headLen));
  const base = 4 + headLen;
  return JSON.parse(json, (_key, v: unknown) => {
    if (typeof v === "object" && v !== null && BIN in v) {
      const { [BIN]: at, n } = v as { [BIN]: number; n: number };
      return frame.slice(base + at, base + at + n);
    }
    return v;
  });
}

export type WireMessage =
  | { t: "call"; id: number; ns: string; method: string; arg: unknown }
  | { t: "result"; id: number; result: unknown }
  | { t: "event"; name: string; payload: unknown };
