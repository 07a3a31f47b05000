import { newOrderNo } from './order-number';

describe('newOrderNo', () => {
  it('is the Beijing time of the order followed by 10 random digits', () => {
    const at = Date.UTC(2026, 0, 1, 4, 5, 6);
    const numbers = Array.from({ length: 200 }, () => newOrderNo(at));
    for (const orderNo of numbers) expect(orderNo).toMatch(/^20260101120506\d{10}$/);
    expect(new Set(numbers).size).toBe(numbers.length);
  });
});
