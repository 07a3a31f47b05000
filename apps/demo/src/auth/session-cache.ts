/** A session as the guard needs it: whose it is, and until when it is valid. */
export interface CachedSession {
  userId: number;
  openid: string;
  expiresAt: number;
}

/**
 * Sessions recently read from the database, so that a client sending requests in a row costs one
 * read, not one per request. Sessions are written at login and never changed; only expired ones
 * are deleted, and an entry's own expiry is still checked on every use. A row removed by hand
 * stops working within `ttlMs`. At most `maxEntries` are kept (the oldest go first), so memory
 * stays bounded however many users are active.
 */
export class SessionCache {
  private readonly entries = new Map<string, { session: CachedSession; until: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
  ) {}

  get(sessionId: string, now: number): CachedSession | undefined {
    const entry = this.entries.get(sessionId);
    if (!entry) return undefined;
    if (entry.until <= now) {
      this.entries.delete(sessionId);
      return undefined;
    }
    return entry.session;
  }

  set(sessionId: string, session: CachedSession, now: number): void {
    this.entries.delete(sessionId);
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(sessionId, { session, until: Math.min(now + this.ttlMs, session.expiresAt) });
  }
}
