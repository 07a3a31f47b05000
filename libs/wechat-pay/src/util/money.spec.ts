import { WechatPayRequestError } from '../errors/errors';
import { formatYuan, isFen, MAX_FEN, parseFen } from './money';

describe('MAX_FEN', () => {
  it('is the largest integer a JS number holds exactly, which a signed 64-bit column also holds', () => {
    expect(MAX_FEN).toBe(Number.MAX_SAFE_INTEGER);
    expect(BigInt(MAX_FEN) <= 2n ** 63n - 1n).toBe(true);
    expect(MAX_FEN + 1).toBe(MAX_FEN + 2);
  });
});

describe('parseFen', () => {
  it.each([
    ['0', 0],
    ['88', 88],
    ['2147483648', 2 ** 31],
    ['9007199254740991', MAX_FEN],
    ['007', 7],
  ])('reads %s as %i fen', (text, fen) => {
    expect(parseFen(text)).toBe(fen);
  });

  it.each([
    '',
    '-1',
    '+1',
    '1.5',
    '88.00',
    '1e3',
    ' 1',
    '1 ',
    '0x10',
    'NaN',
    '9007199254740992',
    '12345678901234567',
  ])('refuses %p', (text) => {
    expect(parseFen(text)).toBeUndefined();
  });
});

describe('isFen', () => {
  it('accepts integers from 0 to MAX_FEN and nothing else', () => {
    expect([0, 1, MAX_FEN].map(isFen)).toEqual([true, true, true]);
    expect([-1, 0.5, MAX_FEN + 1, Number.NaN, Infinity, '1', 1n].map(isFen)).toEqual([
      false,
      false,
      false,
      false,
      false,
      false,
      false,
    ]);
  });
});

describe('formatYuan', () => {
  it.each([
    [0, '0.00'],
    [1, '0.01'],
    [10, '0.10'],
    [100, '1.00'],
    [1234, '12.34'],
    [100000001, '1000000.01'],
    [-1234, '-12.34'],
    [MAX_FEN, '90071992547409.91'],
  ])('shows %i fen as %s yuan', (fen, yuan) => {
    expect(formatYuan(fen)).toBe(yuan);
  });

  it('refuses an amount that is not a whole number of fen with a request error', () => {
    expect(() => formatYuan(12.5)).toThrow(WechatPayRequestError);
    expect(() => formatYuan(MAX_FEN + 1)).toThrow(WechatPayRequestError);
  });
});
