/**
 * Synchronous decompression into buffers the caller owns (mtx-chunks.ts, inflate-worker.ts): one reused input
 * buffer, zlib's binding driven the way Node's own zlib streams drive it.
 */
import { closeSync, openSync, readSync } from "node:fs";
import { constants as zlibConstants, createGunzip } from "node:zlib";

export class ReadFailure extends Error {}

/** Node's zlib binding as its own streams drive it (zlib.js); not public, so checked before use. */
interface ZlibHandle {
  writeSync(flush: number, input: Buffer, inOff: number, inLen: number, out: Buffer, outOff: number, outLen: number): void;
  onerror: (message: string, errno: number) => void;
}

export const BLOCK = 4 << 20;

/**
 * A file's decompressed bytes (gzip or plain), read synchronously on the calling thread through one reused
 * input buffer into buffers the caller gives: zlib's streams would allocate a new buffer per block, and that
 * churn of external memory (gigabytes for a large matrix) costs more in garbage collection than inflating.
 */
export class Inflater {
  private readonly fd: number;
  private readonly input = Buffer.allocUnsafe(BLOCK);
  private at = 0;
  private left = 0;
  private eof = false;
  private done = false;
  private failure: string | null = null;
  private readonly gunzip: { _handle: ZlibHandle; _writeState: Uint32Array; close(): void } | null;
  /** Compressed (file) bytes read so far. */
  read = 0;

  constructor(readonly file: string) {
    this.fd = openSync(file, "r");
    const n = readSync(this.fd, this.input, 0, 2, 0);
    const gzip = n === 2 && this.input[0] === 0x1f && this.input[1] === 0x8b;
    this.gunzip = gzip ? (createGunzip() as unknown as { _handle: ZlibHandle; _writeState: Uint32Array; close(): void }) : null;
    if (this.gunzip) this.gunzip._handle.onerror = (message) => (this.failure = message);
  }

  private refill(): void {
    const n = readSync(this.fd, this.input, 0, BLOCK, null);
    this.read += n;
    this.at = 0;
    this.left = n;
    if (n === 0) this.eof = true;
  }

  /** Fills `out` from the start; returns the bytes written (fewer than its length only at the end, 0 after it). */
  fill(out: Buffer): number {
    if (!this.gunzip) {
      if (this.done) return 0;
      const n = readSync(this.fd, out, 0, out.length, null);
      this.read += n;
      if (n === 0) this.done = true;
      return n;
    }
    const { _handle: handle, _writeState: state } = this.gunzip;
    let filled = 0;
    while (filled < out.length && !this.done) {
      if (this.left === 0 && !this.eof) this.refill();
      handle.writeSync(this.eof ? zlibConstants.Z_FINISH : zlibConstants.Z_NO_FLUSH, this.input, this.at, this.left, out, filled, out.length - filled);
      if (this.failure) throw new ReadFailure(`${this.file} cannot be read: ${this.failure} (a gzip file cut short?)`);
      const outLeft = state[0];
      const inLeft = state[1];
      filled = out.length - outLeft;
      this.at += this.left - inLeft;
      this.left = inLeft;
      // At the end of the file, zlib has produced all it will once it leaves output room unused.
      if (this.eof && outLeft > 0) this.done = true;
    }
    return filled;
  }

  close(): void {
    this.gunzip?.close();
    closeSync(this.fd);
  }
}

/** Whether Node's zlib binding is as Inflater expects (it is not public API). */
export function syncZlibUsable(): boolean {
  const g = createGunzip() as unknown as { _handle?: Partial<ZlibHandle>; _writeState?: unknown; close(): void };
  const ok = typeof g._handle?.writeSync === "function" && g._writeState instanceof Uint32Array;
  g.close();
  return ok;
}
