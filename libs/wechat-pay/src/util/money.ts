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

/** Yuan as WeChat writes it in bills: an optional minus, digits, then at most `decimals` decimals. */
function decimalPattern(decimals: number): RegExp {
  return new RegExp(`^(-?)(\\d{1,16})(?:\\.(\\d{1,${decimals}}))?$`);
}
const YUAN = decimalPattern(2);
const YUAN_FEE = decimalPattern(5);

/**
 * Reads `text` as a decimal number of units of 10^-scale by moving the decimal point in the digit
 * string: no floating point is involved anywhere. Undefined past ±MAX_FEN or for anything that
 * is not a plain decimal.
 */
function scaled(text: string, pattern: RegExp, scale: number): number | undefined {
  const match = pattern.exec(text);
  if (match === null) return undefined;
  const [, minus, whole, fraction = ''] = match;
  const digits = (whole + fraction.padEnd(scale, '0')).replace(/^0+(?=\d)/, '');
  if (digits.length > 16) return undefined;
  const value = Number(digits);
  if (value > MAX_FEN) return undefined;
  // -0 would compare equal to 0 but print as "0" only by accident: normalise it.
  return minus === '-' && value !== 0 ? -value : value;
}

/**
 * Yuan text (bills write `6.00`, `0.01`, `-0.50`, sometimes `0`) as integer fen: `0.01` → 1,
 * `6.00` → 600, `99999999.99` → 9999999999. At most two decimals; a leading minus is kept (refund
 * rows may carry negative amounts). Undefined for anything else (`1e3`, `1,000.00`, ` 1.00`,
 * three decimals) and past ±MAX_FEN. Exact: the decimal point is moved in the text.
 */
export function parseYuan(text: string): number | undefined {
  return scaled(text, YUAN, 2);
}

/** Milli-fen per fen: the unit of bill fees, which WeChat writes in yuan with five decimals. */
export const MILLI_FEN_PER_FEN = 1000;

/**
 * A bill fee in yuan with up to five decimals (`0.04000`, `-0.00060`) as integer milli-fen
 * (1 fen = 1000 milli-fen, 1 yuan = 100000 milli-fen), so `0.00001` yuan is 1 and nothing is
 * rounded. Undefined for anything else and past ±MAX_FEN.
 */
export function parseYuanMilliFen(text: string): number | undefined {
  return scaled(text, YUAN_FEE, 5);
}
