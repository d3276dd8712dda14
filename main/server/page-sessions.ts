/**
 * Browser pages as sessions: each page load picks a random session id and sends it when it connects. When the
 * last socket of a session has been closed for `graceMs`, the session ends and main gives back what the page
 * held; a reconnect within the grace (a dropped connection, not a closed page) resumes it.
 */
import { randomBytes } from "node:crypto";

const SESSION_SHAPE = /^[A-Za-z0-9_-]{16,128}$/;

export function validSessionId(id: string): boolean {
  return SESSION_SHAPE.test(id);
}

/** For clients that send no session (tools): one session per connection. */
export function connectionSessionId(): string {
  return `conn-${randomBytes(12).toString("base64url")}`;
}

export interface SessionState {
  session: string;
  sockets: number;
  /** True while the last socket is gone and the grace period runs. */
  ending: boolean;
}

export class PageSessions {
  private readonly sessions = new Map<string, { sockets: Set<object>; timer: NodeJS.Timeout | null }>();
  private readonly ending = new Set<Promise<void>>();

  constructor(
    private readonly endSession: (session: string) => Promise<void>,
    private readonly graceMs: number,
  ) {}

  attach(session: string, socket: object): void {
    let s = this.sessions.get(session);
    if (!s) this.sessions.set(session, (s = { sockets: new Set(), timer: null }));
    if (s.timer) clearTimeout(s.timer);
    s.timer = null;
    s.sockets.add(socket);
  }

  detach(session: string, socket: object): void {
    const s = this.sessions.get(session);
    if (!s || !s.sockets.delete(socket) || s.sockets.size > 0) return;
    s.timer = setTimeout(() => {
      this.sessions.delete(session);
      this.finish(session);
    }, this.graceMs);
  }

  list(): SessionState[] {
    return [...this.sessions].map(([session, s]) => ({ session, sockets: s.sockets.size, ending: s.timer !== null }));
  }

  /** Resolves when every session that has started ending has finished giving back. */
  async settled(): Promise<void> {
    while (this.ending.size > 0) await Promise.all(this.ending);
  }

  /** Ends every session now (server shutdown). */
  async endAll(): Promise<void> {
    for (const [session, s] of this.sessions) {
      if (s.timer) clearTimeout(s.timer);
      this.finish(session);
    }
    this.sessions.clear();
    await this.settled();
  }

  private finish(session: string): void {
    const done = this.endSession(session)
      .catch((e: unknown) => console.error(`Ending page session ${session} failed: ${e instanceof Error ? e.message : String(e)}`))
      .finally(() => this.ending.delete(done));
    this.ending.add(done);
  }
}
