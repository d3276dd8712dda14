/**
 * One WebSocket's calls: decode each frame, dispatch it, answer it. A frame that cannot be read as a call gets
 * an INVALID_ARGUMENT result when its call id can be read, else the socket is closed with a code and a reason;
 * nothing a page sends can throw out of here, and no answer carries a stack trace.
 */
import { WebSocket } from "ws";
import { decodeMessage, encodeFrame, FrameError, type WireMessage } from "../../shared/ipc/wire";
import type { AppError, Result } from "../../shared/result";

export interface CallDispatcher {
  call(ns: string, method: string, arg: unknown, session: string): Promise<Result<unknown>>;
  endSession(session: string): Promise<void>;
}

/** Close codes of RFC 6455 used here. */
export const CLOSE = { unsupportedData: 1003, invalidPayload: 1007, policy: 1008, tooBig: 1009, protocolError: 1002 } as const;

const PROTOCOL_REASONS: Record<number, string> = {
  [CLOSE.protocolError]: "WebSocket protocol error (a reserved bit set, a bad opcode or a bad close frame)",
  [CLOSE.invalidPayload]: "A text frame was not valid UTF-8",
  [CLOSE.tooBig]: "Frame larger than this server's limit",
};

/**
 * ws closes the connection itself on protocol errors (RSV1 set, frames over maxPayload) with a bare code; this
 * subclass adds the reason text, so the page can tell what happened.
 */
export class ExplainingWebSocket extends WebSocket {
  override close(code?: number, data?: string | Buffer): void {
    super.close(code, data ?? (code === undefined ? undefined : PROTOCOL_REASONS[code]));
  }
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Close reasons are limited to 123 bytes of UTF-8. */
export function closeWith(ws: WebSocket, code: number, reason: string): void {
  let text = reason;
  while (Buffer.byteLength(text) > 123) text = text.slice(0, -2);
  if (ws.readyState === WebSocket.OPEN) ws.close(code, text);
}

const STACK_LINE = /\n\s+at [^\n]*/;

/** Errors go to a page: never with a JS stack, whatever a service put in them. */
export function withoutStack(error: AppError): AppError {
  const { detail, ...rest } = error;
  const message = typeof rest.message === "string" ? rest.message.split(STACK_LINE)[0] : "Something went wrong";
  return typeof detail === "string" && !STACK_LINE.test(detail) ? { ...rest, message, detail } : { ...rest, message };
}

function isResult(r: unknown): r is Result<unknown> {
  return typeof r === "object" && r !== null && typeof (r as { ok?: unknown }).ok === "boolean";
}

function send(ws: WebSocket, message: WireMessage): void {
  if (ws.readyState !== WebSocket.OPEN) return;
  // The callback swallows a write error on a socket that is going away; the 'close' handler cleans up.
  ws.send(encodeFrame(message), () => undefined);
}

function reply(ws: WebSocket, id: number, result: unknown, what: string): void {
  let answer: Result<unknown> = isResult(result) ? result : { ok: false, error: { code: "INTERNAL", message: `${what} returned no result` } };
  if (!answer.ok) answer = { ok: false, error: withoutStack(answer.error) };
  try {
    send(ws, { t: "result", id, result: answer });
  } catch (e) {
    send(ws, {
      t: "result",
      id,
      result: { ok: false, error: { code: "INTERNAL", message: `The answer of ${what} could not be sent: ${messageOf(e).split("\n")[0]}` } },
    });
  }
}

/** Handles one binary frame from a page. Never rejects. */
export async function answerFrame(ws: WebSocket, frame: Buffer, session: string, dispatcher: () => CallDispatcher): Promise<void> {
  let msg: WireMessage;
  try {
    msg = decodeMessage(new Uint8Array(frame.buffer, frame.byteOffset, frame.byteLength));
  } catch (e) {
    const callId = e instanceof FrameError ? e.callId : null;
    const reason = e instanceof FrameError ? e.message : `Frame could not be decoded: ${messageOf(e)}`;
    if (callId !== null) reply(ws, callId, { ok: false, error: { code: "INVALID_ARGUMENT", message: reason } }, "frame");
    else closeWith(ws, CLOSE.invalidPayload, reason);
    return;
  }
  if (msg.t !== "call") {
    const reason = `The server takes calls only; got a "${msg.t}" message`;
    if (msg.t === "result") reply(ws, msg.id, { ok: false, error: { code: "INVALID_ARGUMENT", message: reason } }, "frame");
    else closeWith(ws, CLOSE.policy, reason);
    return;
  }
  const what = `${msg.ns.slice(0, 40)}.${msg.method.slice(0, 40)}`;
  let result: unknown;
  try {
    result = await dispatcher().call(msg.ns, msg.method, msg.arg, session);
  } catch (e) {
    result = { ok: false, error: { code: "INTERNAL", message: `${what} failed: ${messageOf(e)}` } };
  }
  reply(ws, msg.id, result, what);
}
