import { bearerMatches } from './bearer-token';

describe('bearerMatches', () => {
  const token = 'admin-token-0123456789';

  it('accepts the token as a Bearer credential, whatever the scheme case', () => {
    expect(bearerMatches(`Bearer ${token}`, token)).toBe(true);
    expect(bearerMatches(`bearer ${token}`, token)).toBe(true);
  });

  it.each([
    ['no header', undefined],
    ['an empty header', ''],
    ['another token', 'Bearer admin-token-0123456780'],
    ['a prefix of the token', 'Bearer admin-token'],
    ['the token with more after it', `Bearer ${token}x`],
    ['another scheme', `Basic ${token}`],
    ['the bare token', token],
  ])('refuses %s', (_name, header) => {
    expect(bearerMatches(header, token)).toBe(false);
  });
});
