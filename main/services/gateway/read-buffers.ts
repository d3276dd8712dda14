/**
 * Buffers that answers read from the disk cache are assembled in, used again once the answer has gone to the
 * socket. A warm scan moves the whole table through the gateway; a new buffer per read made every byte of it
 * external memory that V8 counts towards its next full collection (one every few tens of ms during a scan).
 * Buffers come in power-of-two sizes from 64 KiB; at most 32 MiB of them wait for reuse.
 */
const MIN_BYTES = 64 * 1024;
const MAX_POOLED_BYTES = 8 * 1024 * 1024;
const MAX_FREE_BYTES = 32 * 1024 * 1024;

const free = new Map<number, Buffer[]>();
let freeBytes = 0;

function sizeClass(bytes: number): number {
  let size = MIN_BYTES;
  while (size < bytes) size *= 2;
  return size;
}

/** A buffer of at least `bytes` (its contents are old bytes: write before reading). Give it back with `giveReadBuffer`. */
export function takeReadBuffer(bytes: number): Buffer {
  if (bytes > MAX_POOLED_BYTES) return Buffer.allocUnsafeSlow(bytes);
  const size = sizeClass(bytes);
  const kept = free.get(size)?.pop();
  if (kept) {
    freeBytes -= size;
    return kept;
  }
  return Buffer.allocUnsafeSlow(size);
}

/** Returns a buffer from `takeReadBuffer` once nothing reads it any more (an answer's `finish`: the socket has it). */
export function giveReadBuffer(buffer: Buffer): void {
  const size = buffer.length;
  if (size > MAX_POOLED_BYTES || size !== sizeClass(size) || freeBytes + size > MAX_FREE_BYTES) return;
  const list = free.get(size) ?? [];
  list.push(buffer);
  free.set(size, list);
  freeBytes += size;
}
