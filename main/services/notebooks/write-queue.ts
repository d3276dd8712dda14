/** Runs writes to the same path one after another, so two saves never interleave; remembers only paths with work queued. */
export class PerPathQueue {
  /** Per path, the tail of its queue; removed once the queue drains. */
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(file: string, body: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(file) ?? Promise.resolve();
    const run = previous.then(body, body);
    const tail = run.catch(() => undefined);
    this.tails.set(file, tail);
    void tail.then(() => {
      if (this.tails.get(file) === tail) this.tails.delete(file);
    });
    return run;
  }

  /** Resolves once the writes queued for `file` so far have finished. */
  idle(file: string): Promise<unknown> {
    return this.tails.get(file) ?? Promise.resolve();
  }

  get size(): number {
    return this.tails.size;
  }
}
