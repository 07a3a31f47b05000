import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * A session token is `<random>.<HMAC(random)>`: the HMAC lets the server reject a forged token
 * without a database read, and the database keeps only a SHA-256 of the random part, so a leaked
 * table cannot be replayed. The token says nothing about the user (no openid inside).
 */
export function issueToken(secret: string): { token: string; sessionId: string } {
  const random = randomBytes(32).toString('base64url');
  return { token: `${random}.${mac(secret, random)}`, sessionId: sessionIdOf(random) };
}

/** The session id the token refers to, or undefined when the token is malformed or forged. */
export function sessionIdFromToken(secret: string, token: string): string | undefined {
  const parts = token.split('.');
  if (parts.length !== 2 || parts[0].length !== 43) return undefined;
  const [random, signature] = parts;
  const expected = Buffer.from(mac(secret, random));
  const received = Buffer.from(signature);
  return expected.length === received.length && timingSafeEqual(expected, received)
    ? sessionIdOf(random)
    : undefined;
}

function mac(secret: string, random: string): string {
  return createHmac('sha256', secret).update(random).digest('base64url');
}

function sessionIdOf(random: string): string {
  return createHash('sha256').update(random).digest('hex');
}
