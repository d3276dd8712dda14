/**
 * The batches a preview keeps for stepping back: the newest ones, within a byte budget and a count, oldest
 * evicted first. The newest batch is always kept, whatever its size.
 */

export const HISTORY_BYTES = 64 * 1024 * 1024;
export const HISTORY_BATCHES = 500;

export interface Sized {
  bytes(): number;
}

export class BatchHistory<T extends Sized> {
  private readonly entries = new Map<number, T>();
  private total = 0;

  constructor(
    private readonly maxBytes = HISTORY_BYTES,
    private readonly maxBatches = HISTORY_BATCHES,
  ) {}

  /** Adds batch `index` (indexes arrive in increasing order). */
  add(index: number, entry: T): void {
    this.entries.set(index, entry);
    this.total += entry.bytes();
    this.trim();
  }

  get(index: number): T | undefined {
    return this.entries.get(index);
  }

  /** An entry grew (e.g. its Arrow view was built): re-count it and trim. */
  resized(before: number, after: number): void {
    this.total += after - before;
    this.trim();
  }

  range(): [number, number] | null {
    if (this.entries.size === 0) return null;
    const keys = this.entries.keys();
    const first = keys.next().value as number;
    let last = first;
    for (const k of keys) last = k;
    return [first, last];
  }

  bytes(): number {
    return this.total;
  }

  clear(): void {
    this.entries.clear();
    this.total = 0;
  }

  private trim(): void {
    while (this.entries.size > 1 && (this.total > this.maxBytes || this.entries.size > this.maxBatches)) {
      const oldest = this.entries.keys().next().value as number;
      this.total -= (this.entries.get(oldest) as T).bytes();
      this.entries.delete(oldest);
    }
  }
}
