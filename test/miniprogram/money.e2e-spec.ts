import { join } from 'node:path';
import { MINIPROGRAM_ROOT } from './harness';

const { formatFen } = jest.requireActual<{ formatFen: (fen: unknown) => string }>(
  join(MINIPROGRAM_ROOT, 'utils/money.js'),
);

describe('formatFen (apps/miniprogram/utils/money.js)', () => {
  it.each([
    [1, '¥0.01'],
    [1990, '¥19.90'],
    [6800, '¥68.00'],
    [0, '¥0.00'],
    [10, '¥0.10'],
    [8990, '¥89.90'],
    [123456789, '¥1234567.89'],
    [-50, '-¥0.50'],
  ])('shows %i fen as %s', (fen, text) => {
    expect(formatFen(fen)).toBe(text);
  });

  it('keeps every digit of large amounts', () => {
    expect(formatFen(110)).toBe('¥1.10');
    expect(formatFen(2_000_000_000)).toBe('¥20000000.00');
    expect(formatFen(Number.MAX_SAFE_INTEGER)).toBe('¥90071992547409.91');
  });

  it.each([[19.9], ['1990'], [Number.NaN], [Number.MAX_SAFE_INTEGER + 1], [undefined]])(
    'refuses %p, which is not a whole number of fen',
    (value) => {
      expect(() => formatFen(value)).toThrow(TypeError);
    },
  );
});
