import { LeaseBudget, leaseFitsACall, leaseMargin, MIN_CALL_MS } from './lease-budget';

describe('LeaseBudget', () => {
  it('ends the pass a margin before the lease runs out', () => {
    expect(new LeaseBudget(1_000, 60_000, 6_000, 8_000).deadline).toBe(1_000 + 55_000);
    expect(leaseMargin(2_000)).toBe(400);
  });

  it('gives early calls the configured read timeout and later ones only what is left', () => {
    const budget = new LeaseBudget(0, 10_000, 1_000, 8_000);
    expect(budget.readTimeoutAt(0)).toBe(7_000);
    expect(budget.readTimeoutAt(5_000)).toBe(2_000);
    const roomy = new LeaseBudget(0, 60_000, 1_000, 8_000);
    expect(roomy.readTimeoutAt(0)).toBe(8_000);
  });

  it('starts no call when connect plus the shortest useful read would pass the deadline', () => {
    const budget = new LeaseBudget(0, 10_000, 1_000, 8_000);
    expect(budget.readTimeoutAt(8_000 - 1_000 - MIN_CALL_MS)).toBe(MIN_CALL_MS);
    expect(budget.readTimeoutAt(8_000 - 1_000 - MIN_CALL_MS + 1)).toBeUndefined();
  });

  it('tells whether a lease can hold a call at all', () => {
    expect(leaseFitsACall(60_000, 6_000)).toBe(true);
    expect(leaseFitsACall(5_000, 6_000)).toBe(false);
  });
});
