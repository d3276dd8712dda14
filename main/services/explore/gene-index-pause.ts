/**
 * Holds a gene index build still (SIGSTOP, then SIGCONT) while the app reads a gene from the source table, so on
 * a small machine the read the user waits for gets the cores and the disk instead of sharing them with the build.
 * Nested reads hold it once. Where there are no such signals (Windows), the build just runs at low priority.
 */
const SIGNALS = process.platform !== "win32";

export class BuildPause {
  private pid: number | null = null;
  private holds = 0;

  /** The build process started (held at once if a read is under way). */
  attach(pid: number): void {
    this.pid = pid;
    if (this.holds > 0) this.send("SIGSTOP");
  }

  /** The build process ended. */
  detach(): void {
    this.pid = null;
  }

  /** Lets the build process run again whatever the reads (before stopping it, which it must be running to do). */
  release(): void {
    this.send("SIGCONT");
  }

  get held(): boolean {
    return this.holds > 0 && this.pid !== null;
  }

  async during<T>(read: () => Promise<T>): Promise<T> {
    if (this.holds++ === 0) this.send("SIGSTOP");
    try {
      return await read();
    } finally {
      if (--this.holds === 0) this.send("SIGCONT");
    }
  }

  private send(signal: "SIGSTOP" | "SIGCONT"): void {
    if (!SIGNALS || this.pid === null) return;
    try {
      process.kill(this.pid, signal);
    } catch {
      // Already gone: nothing to hold.
    }
  }
}
