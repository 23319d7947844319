import { randomBytes } from 'node:crypto';
import type { SessionInfo } from './types.js';

type Session = SessionInfo;

/**
 * Live sessions of one BMC. Expiry is checked lazily on use rather than with timers: 1,000 BMCs
 * with sessions must not mean 1,000 timers, and stop() has nothing to cancel.
 */
export class SessionStore {
  private readonly byId = new Map<string, Session>();
  private readonly byToken = new Map<string, Session>();

  constructor(
    private readonly limit: number,
    private readonly timeoutMs: number,
    private readonly now: () => number,
  ) {}

  private sweep(): void {
    const now = this.now();
    for (const session of this.byId.values()) {
      if (now - session.lastUsedAt >= this.timeoutMs) this.remove(session);
    }
  }

  private remove(session: Session): void {
    this.byId.delete(session.id);
    this.byToken.delete(session.token);
  }

  /** Null when the limit is reached. */
  create(username: string): SessionInfo | null {
    this.sweep();
    if (this.byId.size >= this.limit) return null;
    const now = this.now();
    const session: Session = { id: randomBytes(8).toString('hex'), token: randomBytes(16).toString('hex'), username, createdAt: now, lastUsedAt: now };
    this.byId.set(session.id, session);
    this.byToken.set(session.token, session);
    return { ...session };
  }

  /** The session a token names, refreshing its idle timer; undefined when unknown or expired. */
  authenticate(token: string): SessionInfo | undefined {
    const session = this.byToken.get(token);
    if (!session) return undefined;
    const now = this.now();
    if (now - session.lastUsedAt >= this.timeoutMs) {
      this.remove(session);
      return undefined;
    }
    session.lastUsedAt = now;
    return session;
  }

  get(id: string): SessionInfo | undefined {
    this.sweep();
    return this.byId.get(id);
  }

  delete(id: string): boolean {
    const session = this.byId.get(id);
    if (!session) return false;
    this.remove(session);
    return true;
  }

  live(): SessionInfo[] {
    this.sweep();
    return [...this.byId.values()].map(({ id, token, username, createdAt, lastUsedAt }) => ({ id, token, username, createdAt, lastUsedAt }));
  }

  clear(): void {
    this.byId.clear();
    this.byToken.clear();
  }
}
