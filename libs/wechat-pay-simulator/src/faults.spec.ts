import { FaultInjector, NO_FAULTS, validateFaults } from './faults';

describe('FaultInjector', () => {
  it('fires a "next N" fault exactly N times', () => {
    const faults = new FaultInjector(() => 0.99);
    faults.set({ dropNotifications: 2 });
    expect([
      faults.takeNotificationDrop(),
      faults.takeNotificationDrop(),
      faults.takeNotificationDrop(),
    ]).toEqual([true, true, false]);
  });

  it('fires a fractional fault when the random draw falls below the fraction', () => {
    const draws = [0.1, 0.9];
    const faults = new FaultInjector(() => draws.shift() ?? 1);
    faults.set({ systemErrorRate: 0.5 });
    expect(faults.takeSystemError('/pay/orderquery')).toBe(true);
    expect(faults.takeSystemError('/pay/orderquery')).toBe(false);
  });

  it('limits SYSTEMERROR and slow answers to the listed paths', () => {
    const faults = new FaultInjector();
    faults.set({
      systemErrorNext: 1,
      systemErrorPaths: ['/pay/closeorder'],
      slowResponseMs: 50,
      slowPaths: ['/pay/orderquery'],
    });
    expect(faults.takeSystemError('/pay/unifiedorder')).toBe(false);
    expect(faults.takeSystemError('/pay/closeorder')).toBe(true);
    expect(faults.slowResponseMs('/pay/orderquery')).toBe(50);
    expect(faults.slowResponseMs('/pay/unifiedorder')).toBe(0);
  });

  it('hands out scripted refund outcomes in order, then SUCCESS', () => {
    const faults = new FaultInjector();
    faults.set({ refundOutcomes: ['CHANGE', 'REFUNDCLOSE'] });
    expect([
      faults.takeRefundOutcome(),
      faults.takeRefundOutcome(),
      faults.takeRefundOutcome(),
    ]).toEqual(['CHANGE', 'REFUNDCLOSE', 'SUCCESS']);
    expect(() => faults.set({ refundOutcomes: ['FAILED'] })).toThrow(
      'refundOutcomes must be a list of SUCCESS, CHANGE, REFUNDCLOSE, PROCESSING',
    );
  });

  it('keeps refund notification faults apart from payment notification faults', () => {
    const faults = new FaultInjector(() => 0.99);
    faults.set({ dropRefundNotifications: 1 });
    expect(faults.takeNotificationDrop()).toBe(false);
    expect(faults.takeRefundNotificationDrop()).toBe(true);
    expect(faults.takeRefundNotificationDrop()).toBe(false);
  });

  it('merges updates and resets to no faults', () => {
    const faults = new FaultInjector();
    faults.set({ notificationCopies: 3 });
    expect(faults.set({ notificationDelayMs: 10 })).toMatchObject({
      notificationCopies: 3,
      notificationDelayMs: 10,
    });
    expect(faults.reset()).toEqual(NO_FAULTS);
  });

  it('names every bad field and keeps the faults unchanged', () => {
    const faults = new FaultInjector();
    expect(() =>
      faults.set({ dropNotificationRate: 2, copies: 3, slowPaths: ['/pay/refund'] }),
    ).toThrow(
      /dropNotificationRate must be a number from 0 to 1; copies is not a known fault; slowPaths must be a list/,
    );
    expect(faults.current()).toEqual(NO_FAULTS);
    expect(() => validateFaults([1])).toThrow('faults must be a JSON object');
  });
});
