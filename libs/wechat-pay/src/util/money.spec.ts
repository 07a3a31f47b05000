import { WechatPayRequestError } from '../errors/errors';
import {
  formatYuan,
  isFen,
  MAX_FEN,
  MILLI_FEN_PER_FEN,
  parseFen,
  parseYuan,
  parseYuanMilliFen,
} from './money';

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

describe('parseYuan', () => {
  it.each([
    ['0.01', 1],
    ['0.10', 10],
    ['0.1', 10],
    ['6.00', 600],
    ['6', 600],
    ['0', 0],
    ['0.00', 0],
    ['-0.00', 0],
    ['19.90', 1990],
    ['9.80', 980],
    ['1299.02', 129902],
    ['99999999.99', 9999999999],
    ['-0.50', -50],
    ['90071992547409.91', MAX_FEN],
  ])('reads %s yuan as %i fen, exactly', (text, fen) => {
    expect(parseYuan(text)).toBe(fen);
    expect(Object.is(parseYuan(text), -0)).toBe(false);
  });

  it('reads every amount from 0.01 to 99999999.99 that floating point gets wrong, exactly', () => {
    // 0.07 * 100 is 7.000000000000001 and 19.99 * 100 is 1998.9999999999998 in binary floating point.
    for (const [text, fen] of [
      ['0.07', 7],
      ['19.99', 1999],
      ['1.15', 115],
      ['4.35', 435],
      ['0.29', 29],
      ['9.80', 980],
    ] as const) {
      expect(Number(text) * 100).not.toBe(fen);
      expect(parseYuan(text)).toBe(fen);
    }
    for (let fen = 1; fen <= 100_000; fen += 1) {
      expect(parseYuan(formatYuan(fen))).toBe(fen);
    }
    expect(parseYuan(formatYuan(9999999999))).toBe(9999999999);
  });

  it.each([
    '',
    '.5',
    '1.',
    '1.001',
    '1e3',
    '1,000.00',
    ' 1.00',
    '1.00 ',
    '+1.00',
    '¥1.00',
    '--1',
    '0x10',
    '90071992547409.92',
    '99999999999999999',
    'NaN',
  ])('refuses %p', (text) => {
    expect(parseYuan(text)).toBeUndefined();
  });
});

describe('parseYuanMilliFen', () => {
  it.each([
    ['0.00000', 0],
    ['0.00001', 1],
    ['0.04000', 4000],
    ['0.06', 6000],
    ['7.79000', 779000],
    ['-0.05940', -5940],
    ['12345.67891', 1234567891],
  ])('reads the fee %s yuan as %i milli-fen', (text, milliFen) => {
    expect(parseYuanMilliFen(text)).toBe(milliFen);
  });

  it('counts 1000 milli-fen to the fen', () => {
    expect(MILLI_FEN_PER_FEN).toBe(1000);
    expect(parseYuanMilliFen('0.01')).toBe(parseYuan('0.01')! * MILLI_FEN_PER_FEN);
  });

  it.each(['0.000001', '1e-5', '', '0.0000a', '92233720368.54776'])('refuses %p', (text) => {
    expect(parseYuanMilliFen(text)).toBeUndefined();
  });
});
