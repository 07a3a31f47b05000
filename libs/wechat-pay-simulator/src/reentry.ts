/**
 * Fields that may differ when a merchant repeats a unifiedorder for the same out_trade_no:
 * a fresh nonce and signature are expected, the caller's IP may change, and the algorithm is our
 * choice (the order's pay parameters then follow the latest request's algorithm).
 */
export const REENTRY_IGNORED_FIELDS: ReadonlySet<string> = new Set([
  'nonce_str',
  'sign',
  'sign_type',
  'spbill_create_ip',
]);

/**
 * The parameters that define an order, as one comparable string: every non-empty field except the
 * ignored ones, sorted by name. An empty field counts as absent, as it does when signing.
 */
export function orderParametersKey(params: Readonly<Record<string, string>>): string {
  const kept = Object.keys(params)
    .filter((name) => !REENTRY_IGNORED_FIELDS.has(name) && params[name] !== '')
    .sort()
    .map((name) => [name, params[name]]);
  return JSON.stringify(kept);
}

/** True when a repeated unifiedorder describes the same order as the first one. */
export function sameOrderParameters(
  first: Readonly<Record<string, string>>,
  again: Readonly<Record<string, string>>,
): boolean {
  return orderParametersKey(first) === orderParametersKey(again);
}
