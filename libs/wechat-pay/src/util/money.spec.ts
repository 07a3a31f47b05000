import { formatYuan } from './money';

describe('formatYuan', () => {
  it.each([
    [0, '0.00'],
    [1, '0.01'],
    [10, '0.10'],
    [100, '1.00'],
    [1234, '12.34'],
    [100000001, '1000000.01'],
    [-1234, '-12.34'],
  ])('shows %i fen as %s yuan', (fen, yuan) => {
    expect(formatYuan(fen)).toBe(yuan);
  });

  it('refuses an amount that is not a whole number of fen', () => {
    expect(() => formatYuan(12.5)).toThrow(RangeError);
  });
});
