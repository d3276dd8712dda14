/** Sending a read's body to Lance: parts held in memory in one corked go, or a stream of blocks with backpressure. */
import type http from "node:http";

/**
 * Ends a response with a body held in parts (blocks as the upstream sent them): corked, so they leave in as few
 * socket writes as one joined buffer would. `sent` is called once the socket has all of them (not when the
 * client went away first: its parts may still be queued).
 */
export function endWithParts(res: http.ServerResponse, parts: readonly Buffer[], sent?: () => void): void {
  if (sent) res.once("finish", sent);
  res.cork();
  for (const p of parts) res.write(p);
  res.end();
}

/** Writes a chunk, waiting for the socket to drain; false when the client went away. */
function write(res: http.ServerResponse, chunk: Buffer): Promise<boolean> {
  if (res.destroyed) return Promise.resolve(false);
  if (res.write(chunk)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ok: boolean): void => {
      res.off("drain", onDrain);
      res.off("close", onClose);
      resolve(ok);
    };
    const onDrain = (): void => done(true);
    const onClose = (): void => done(false);
    res.on("drain", onDrain);
    res.on("close", onClose);
  });
}

/** Streams `chunks` as the body and ends the response; stops (without ending) when the client went away. */
export async function streamBody(res: http.ServerResponse, chunks: AsyncIterable<Buffer>, onChunk: (bytes: number) => void): Promise<void> {
  for await (const chunk of chunks) {
    onChunk(chunk.length);
    if (!(await write(res, chunk))) return;
  }
  res.end();
}
