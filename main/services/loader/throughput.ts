/** Cells and tokens per second over the last few seconds of production (samples taken as batches are consumed). */

export const THROUGHPUT_WINDOW_MS = 3000;
/** Below this span a rate says more about timer noise than about the loader. */
const MIN_SPAN_MS = 100;

interface Sample {
  t: number;
  cells: number;
  tokens: number;
}

export class Throughput {
  private samples: Sample[] = [];

  /** Forget earlier samples (a new play period starts). */
  reset(): void {
    this.samples = [];
  }

  add(t: number, cells: number, tokens: number): void {
    this.samples.push({ t, cells, tokens });
    // Keep one sample at or before the window's start, as the base of the rate.
    const start = t - THROUGHPUT_WINDOW_MS;
    let drop = 0;
    while (drop + 1 < this.samples.length && this.samples[drop + 1].t <= start) drop++;
    if (drop > 0) this.samples.splice(0, drop);
  }

  /** Per second, between the window's first and last samples; nulls until the span is long enough. */
  rates(): { cellsPerSecond: number | null; tokensPerSecond: number | null } {
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    if (!first || last.t - first.t < MIN_SPAN_MS) return { cellsPerSecond: null, tokensPerSecond: null };
    const seconds = (last.t - first.t) / 1000;
    return { cellsPerSecond: (last.cells - first.cells) / seconds, tokensPerSecond: (last.tokens - first.tokens) / seconds };
  }
}
