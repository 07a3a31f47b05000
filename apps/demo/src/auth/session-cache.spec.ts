import { SessionCache } from './session-cache';

const session = (userId: number, expiresAt = 1_000_000) => ({
  userId,
  openid: `o-${userId}`,
  expiresAt,
});

describe('SessionCache', () => {
  it('answers from memory until the time to live has passed, then forgets the entry', () => {
    const cache = new SessionCache(1_000, 10);
    cache.set('a', session(1), 0);
    expect(cache.get('a', 999)).toEqual(session(1));
    expect(cache.get('a', 1_000)).toBeUndefined();
    expect(cache.get('a', 0)).toBeUndefined();
  });

  it('never keeps a session past its own expiry', () => {
    const cache = new SessionCache(60_000, 10);
    cache.set('a', session(1, 500), 0);
    expect(cache.get('a', 499)).toEqual(session(1, 500));
    expect(cache.get('a', 500)).toBeUndefined();
  });

  it('keeps at most the given number of entries, dropping the oldest first', () => {
    const cache = new SessionCache(60_000, 2);
    cache.set('a', session(1), 0);
    cache.set('b', session(2), 0);
    cache.set('a', session(1), 1);
    cache.set('c', session(3), 2);
    expect(cache.get('b', 3)).toBeUndefined();
    expect(cache.get('a', 3)).toEqual(session(1));
    expect(cache.get('c', 3)).toEqual(session(3));
  });
});
