/**
 * The shared counter of a streamed scan (scan-stream.ts): the scan worker bumps it after each reply it posts and
 * when its thread ends, so the main thread, which cannot await while DuckDB waits for a chunk, can block on it.
 */

/** Int32 slots: replies posted, and 1 once the worker thread ended. */
export const STREAM_REPLIES = 0;
export const STREAM_WORKER_GONE = 1;
export const STREAM_COUNTER_BYTES = 8;

/** Adds one to a slot and wakes whoever waits on the counter (waiters always wait on STREAM_REPLIES). */
export function bump(counter: Int32Array, slot: number): void {
  Atomics.add(counter, slot, 1);
  Atomics.notify(counter, STREAM_REPLIES);
}
