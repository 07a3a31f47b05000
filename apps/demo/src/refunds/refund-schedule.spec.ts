import { nextRefundCheckAt, REFUND_CHECK_GAPS_MS } from './refund-schedule';
import { newRefundNo } from './refund-no';

describe('the refund check schedule', () => {
  it('grows from 10 s to an hour and stays at an hour', () => {
    expect(nextRefundCheckAt(0, 1_000)).toBe(11_000);
    expect(nextRefundCheckAt(1, 0)).toBe(30_000);
    expect(nextRefundCheckAt(REFUND_CHECK_GAPS_MS.length - 1, 0)).toBe(3_600_000);
    expect(nextRefundCheckAt(1_000, 0)).toBe(3_600_000);
  });
});

describe('refund numbers', () => {
  it('are valid out_refund_no values, distinct, starting with the Beijing time', () => {
    const now = Date.UTC(2025, 0, 31, 16, 5, 0);
    const numbers = new Set(Array.from({ length: 1000 }, () => newRefundNo(now)));
    expect(numbers.size).toBe(1000);
    for (const refundNo of numbers) {
      expect(refundNo).toMatch(/^R20250201000500\d{10}$/);
      expect(refundNo).toMatch(/^[0-9A-Za-z_\-|*@]{1,64}$/);
    }
  });
});
