import { CLOSE_RETRY_MS, firstCheckDelay, nextCheckAt } from './check-schedule';

const MIN = 60_000;

describe('nextCheckAt', () => {
  const order = { createdAt: 0, expiresAt: 30 * MIN };

  it("follows WeChat's query guidance after creation: 5 s, 30 s, 1, 3, 5, 10 min", () => {
    const offsets = [0, 1, 2, 3, 4, 5].map((attempts) => nextCheckAt(order, attempts, 0));
    expect(offsets).toEqual([5_000, 30_000, MIN, 3 * MIN, 5 * MIN, 10 * MIN]);
  });

  it('has checkout write the schedule’s first check', () => {
    expect(firstCheckDelay()).toBe(nextCheckAt(order, 0, 0) - order.createdAt);
  });

  it('checks just after expiry rather than waiting for a later slot', () => {
    const shortLived = { createdAt: 0, expiresAt: 20 * MIN };
    expect(nextCheckAt(shortLived, 6, 11 * MIN)).toBe(20 * MIN + 1_000);
  });

  it('backs off every 30 minutes after the published schedule, for orders that live long', () => {
    const long = { createdAt: 0, expiresAt: 24 * 60 * MIN };
    expect(nextCheckAt(long, 6, 0)).toBe(30 * MIN);
    expect(nextCheckAt(long, 7, 0)).toBe(60 * MIN);
    expect(nextCheckAt(long, 8, 0)).toBe(90 * MIN);
  });

  it('is never in the past, so an overdue order is not hammered in a loop', () => {
    expect(nextCheckAt(order, 0, 20 * MIN)).toBe(20 * MIN + 1_000);
    expect(nextCheckAt(order, 9, 40 * MIN)).toBeGreaterThan(40 * MIN);
  });

  it('checks an expired order again within a minute after a failed check, so its close is not put off', () => {
    const expired = { createdAt: 0, expiresAt: 6 * MIN };
    // Six checks so far: the creation schedule's next slot would be 30 minutes after creation.
    expect(nextCheckAt(expired, 6, 6 * MIN + 2_000)).toBe(6 * MIN + 2_000 + CLOSE_RETRY_MS);
    expect(nextCheckAt(expired, 12, 50 * MIN)).toBe(50 * MIN + CLOSE_RETRY_MS);
  });
});
