/** Integer fen as yuan with two decimals (1234 → "12.34"), cut from the digits: no arithmetic at all. */
export function formatYuan(fen: number): string {
  if (!Number.isSafeInteger(fen))
    throw new RangeError('an amount must be an integer number of fen');
  const sign = fen < 0 ? '-' : '';
  const digits = String(Math.abs(fen)).padStart(3, '0');
  return `${sign}${digits.slice(0, -2)}.${digits.slice(-2)}`;
}
