import { WechatPayRequestError } from '../errors/errors';

/**
 * The largest amount in fen the library accepts or reports: 2^53 - 1, the largest integer a JS
 * number holds exactly, and well inside a signed 64-bit database column (`bigint`). Store fen in
 * 64-bit columns: a 32-bit `integer` stops at 2^31 - 1 fen (about 21 million yuan), and a signed
 * notification above that would fail the insert on every retry.
 */
export const MAX_FEN = Number.MAX_SAFE_INTEGER;

/** Up to 16 decimal digits: MAX_FEN has 16, so anything longer is out of range whatever it says. */
const FEN_DIGITS = /^\d{1,16}$/;

/** True for an integer number of fen from 0 to MAX_FEN. */
export function isFen(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 && value <= MAX_FEN;
}

/**
 * Reads an amount of fen as WeChat writes it (decimal digits, nothing else) into a number from 0 to
 * MAX_FEN; undefined for anything else: a sign, a decimal point, an exponent, whitespace, or a
 * value past MAX_FEN. Never NaN, never a float.
 */
export function parseFen(text: string): number | undefined {
  if (!FEN_DIGITS.test(text)) return undefined;
  const value = Number(text);
  return value <= MAX_FEN ? value : undefined;
}

/** Integer fen as yuan with two decimals (1234 → "12.34"), cut from the digits: no arithmetic at all. */
export function formatYuan(fen: number): string {
  // Every safe integer is within ±MAX_FEN.
  if (!Number.isSafeInteger(fen)) {
    throw new WechatPayRequestError('fen', 'must be an integer number of fen');
  }
  const sign = fen < 0 ? '-' : '';
  const digits = String(Math.abs(fen)).padStart(3, '0');
  return `${sign}${digits.slice(0, -2)}.${digits.slice(-2)}`;
}
