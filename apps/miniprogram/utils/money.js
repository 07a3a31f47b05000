/**
 * Integer fen to "¥12.34". The yuan and fen parts are cut from the decimal digits of the integer,
 * so no binary fraction (0.1 + 0.2) can ever reach the screen. A value that is not a whole
 * number of fen (a yuan amount, a string) is refused at run time too: the shop's JSON is not
 * type-checked.
 * @param {number} fen
 * @returns {string}
 */
function formatFen(fen) {
  if (typeof fen !== 'number' || !Number.isSafeInteger(fen)) {
    throw new TypeError('an amount must be a whole number of fen, got ' + String(fen));
  }
  const sign = fen < 0 ? '-' : '';
  let digits = String(Math.abs(fen));
  while (digits.length < 3) digits = '0' + digits;
  return sign + '¥' + digits.slice(0, -2) + '.' + digits.slice(-2);
}

module.exports = { formatFen };
