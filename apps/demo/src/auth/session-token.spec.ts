import { issueToken, sessionIdFromToken } from './session-token';

const SECRET = 'a-session-secret-for-tests';

describe('session tokens', () => {
  it('round-trips to the same session id', () => {
    const { token, sessionId } = issueToken(SECRET);
    expect(sessionIdFromToken(SECRET, token)).toBe(sessionId);
  });

  it('keeps only a hash of the token in the session id', () => {
    const { token, sessionId } = issueToken(SECRET);
    expect(sessionId).toMatch(/^[0-9a-f]{64}$/);
    expect(token).not.toContain(sessionId);
  });

  it('refuses tokens signed with another secret, altered tokens and junk', () => {
    const { token } = issueToken(SECRET);
    const [random, mac] = token.split('.');
    const altered = random.slice(0, -1) + (random.endsWith('A') ? 'B' : 'A');
    expect(sessionIdFromToken('another-secret-entirely', token)).toBeUndefined();
    expect(sessionIdFromToken(SECRET, `${altered}.${mac}`)).toBeUndefined();
    expect(sessionIdFromToken(SECRET, random)).toBeUndefined();
    expect(sessionIdFromToken(SECRET, '')).toBeUndefined();
  });
});
